"""Model bundle: round trip, and every way a bundle can be broken is refused with a reason."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import (
    FEATURE_SPEC_VERSION,
    FeatureBuilder,
    HistoryFrames,
    frames_from_applications,
)
from features.schemas import Application, EquipmentItem
from serving.model.bundle import FILES, BundleError, load_bundle, read_metadata
from serving.model.predictor import CapacityModel
from training.data import LabelledHistory


@pytest.fixture
def bundle_copy(bundle_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session bundle that a test may break."""
    return Path(shutil.copytree(bundle_dir, tmp_path / "bundle"))


def _rewrite_json(bundle: Path, name: str, key: str, value: object, *, fix_checksum: bool) -> None:
    path = bundle / name
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc[key] = value
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    if fix_checksum:  # as if the bundle had been written that way
        sums = json.loads((bundle / "checksums.json").read_text(encoding="utf-8"))
        sums[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        (bundle / "checksums.json").write_text(json.dumps(sums), encoding="utf-8")


def test_round_trip_gives_identical_predictions(
    bundle_dir: Path, trained_model: CapacityModel, labelled_history: LabelledHistory
) -> None:
    loaded, meta, metrics = load_bundle(bundle_dir)
    frames = labelled_history.frames
    a, b = trained_model.predict(frames), loaded.predict(frames)
    np.testing.assert_array_equal(a.mu, b.mu)
    np.testing.assert_array_equal(a.low80, b.low80)
    np.testing.assert_array_equal(a.high90, b.high90)
    np.testing.assert_array_equal(a.recommended_kva, b.recommended_kva)
    np.testing.assert_array_equal(a.probs.p_appropriate, b.probs.p_appropriate)
    np.testing.assert_array_equal(
        trained_model.contributions(a.features[:50]), loaded.contributions(b.features[:50])
    )
    assert loaded.builder.feature_names_ == trained_model.builder.feature_names_
    assert loaded.builder.industry_fallback_kw_ == trained_model.builder.industry_fallback_kw_
    assert loaded.config == trained_model.config
    assert loaded.peers == json.loads(json.dumps(trained_model.peers))
    assert loaded.best_iteration == trained_model.best_iteration
    assert meta["model_version"] == "test-1"
    assert meta["feature_spec_version"] == FEATURE_SPEC_VERSION
    assert metrics == {"model_accuracy": 0.0}
    assert read_metadata(bundle_dir) == meta


def test_bundle_has_every_file_and_checksum(bundle_dir: Path) -> None:
    sums = json.loads((bundle_dir / "checksums.json").read_text(encoding="utf-8"))
    assert set(sums) == set(FILES)
    for name in FILES:
        assert sums[name] == hashlib.sha256((bundle_dir / name).read_bytes()).hexdigest()


def test_one_changed_byte_in_the_booster_is_refused(bundle_copy: Path) -> None:
    path = bundle_copy / "booster.txt"
    data = bytearray(path.read_bytes())
    # Change one digit somewhere in the middle (still a parseable model, wrong numbers).
    pos = next(i for i in range(len(data) // 2, len(data)) if chr(data[i]).isdigit())
    data[pos] = ord("7") if data[pos] != ord("7") else ord("3")
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"booster\.txt") as info:
        load_bundle(bundle_copy)
    assert "corrupted" in str(info.value)


@pytest.mark.parametrize("name", ["peers.json", "booster.txt", "checksums.json"])
def test_missing_file_is_refused_and_listed(bundle_copy: Path, name: str) -> None:
    (bundle_copy / name).unlink()
    with pytest.raises(BundleError, match="missing") as info:
        load_bundle(bundle_copy)
    assert name in str(info.value)


def test_two_missing_files_are_both_listed(bundle_copy: Path) -> None:
    (bundle_copy / "config.json").unlink()
    (bundle_copy / "calibration.json").unlink()
    with pytest.raises(BundleError) as info:
        load_bundle(bundle_copy)
    assert "config.json" in str(info.value) and "calibration.json" in str(info.value)


def test_edited_catalog_version_is_refused(bundle_copy: Path) -> None:
    _rewrite_json(
        bundle_copy, "metadata.json", "catalog_version", "0123456789ab", fix_checksum=True
    )
    with pytest.raises(BundleError, match="catalog") as info:
        load_bundle(bundle_copy)
    assert "0123456789ab" in str(info.value)


def test_edited_metadata_without_checksum_is_refused_as_edited(bundle_copy: Path) -> None:
    _rewrite_json(
        bundle_copy, "metadata.json", "catalog_version", "0123456789ab", fix_checksum=False
    )
    with pytest.raises(BundleError, match=r"metadata\.json is corrupted or was edited"):
        load_bundle(bundle_copy)


def test_feature_spec_mismatch_is_refused(bundle_copy: Path) -> None:
    _rewrite_json(
        bundle_copy,
        "metadata.json",
        "feature_spec_version",
        FEATURE_SPEC_VERSION + 1,
        fix_checksum=True,
    )
    with pytest.raises(BundleError, match="feature spec"):
        load_bundle(bundle_copy)


def test_bundle_format_mismatch_is_refused(bundle_copy: Path) -> None:
    _rewrite_json(bundle_copy, "metadata.json", "bundle_format", 99, fix_checksum=True)
    with pytest.raises(BundleError, match="format 99"):
        load_bundle(bundle_copy)


def test_feature_list_mismatch_is_refused(bundle_copy: Path) -> None:
    names = json.loads((bundle_copy / "builder.json").read_text(encoding="utf-8"))["feature_names"]
    _rewrite_json(bundle_copy, "builder.json", "feature_names", names[::-1], fix_checksum=True)
    with pytest.raises(BundleError, match="features do not match"):
        load_bundle(bundle_copy)


def test_invalid_checksums_file_is_refused(bundle_copy: Path) -> None:
    (bundle_copy / "checksums.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match=r"checksums\.json is not valid JSON"):
        load_bundle(bundle_copy)


def test_nonexistent_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not found"):
        load_bundle(tmp_path / "no-such-bundle")
    with pytest.raises(BundleError, match="missing"):
        read_metadata(tmp_path / "no-such-bundle")


def test_a_file_instead_of_a_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bundle"
    path.write_text("not a bundle", encoding="utf-8")
    with pytest.raises(BundleError):
        load_bundle(path)


def test_check_bundle_files_returns_the_verified_documents(bundle_dir: Path) -> None:
    from serving.model.bundle import check_bundle_files

    checked = check_bundle_files(bundle_dir)
    assert checked.booster_text == (bundle_dir / "booster.txt").read_text(encoding="utf-8")
    assert set(checked.docs) == {n for n in FILES if n.endswith(".json")}
    assert checked.builder.feature_names_


def test_invalid_json_with_a_matching_checksum_names_the_file(bundle_copy: Path) -> None:
    (bundle_copy / "peers.json").write_text("{oops", encoding="utf-8")
    sums = json.loads((bundle_copy / "checksums.json").read_text(encoding="utf-8"))
    sums["peers.json"] = hashlib.sha256((bundle_copy / "peers.json").read_bytes()).hexdigest()
    (bundle_copy / "checksums.json").write_text(json.dumps(sums), encoding="utf-8")
    with pytest.raises(BundleError, match=r"peers\.json is not valid JSON"):
        load_bundle(bundle_copy)


def test_a_directory_in_place_of_a_file_is_named(bundle_copy: Path) -> None:
    (bundle_copy / "bounds.json").unlink()
    (bundle_copy / "bounds.json").mkdir()
    with pytest.raises(BundleError, match=r"not a regular file: bounds\.json"):
        load_bundle(bundle_copy)


@pytest.mark.parametrize("text", ["v3", "-1", "1e9", "12345678901", "<b>x</b>", "９"])
def test_registry_version_must_be_a_plain_number(bundle_copy: Path, text: str) -> None:
    from serving.model.bundle import registry_version, version_label

    (bundle_copy / "REGISTRY_VERSION").write_text(text, encoding="utf-8")
    with pytest.raises(
        BundleError, match="REGISTRY_VERSION holds .* expected a registry version number"
    ) as info:
        version_label(bundle_copy, "m")
    # never echoed (the bundle's own path may contain anything, e.g. pytest-1xx)
    assert text not in str(info.value).replace(str(bundle_copy), "<bundle>")
    (bundle_copy / "REGISTRY_VERSION").write_text(" 42\n", encoding="utf-8")
    assert registry_version(bundle_copy) == "42"
    assert version_label(bundle_copy, "m") == "m:v42"


# -- the builder serialises itself (FeatureBuilder.to_state / from_state) ------------------

BUILDER_JSON_KEYS = {
    "include_shares",
    "engineering",
    "catalog_version",
    "feature_spec_version",
    "categories",
    "industries",
    "climate_zones",
    "feature_names",
    "categorical_features",
    "industry_fallback_kw",
    "base_weights",
    "coincidence",
    "coincidence_weights",
    "hierarchical",
    "climate_cooling",
    "zone_cooling_multipliers",
    "area_multiplier",
    "area_multipliers",
    "min_industry_rows",
    "global_fallback_kw",
    "meter",
}
"""The keys of builder.json as bundles on disk have them (written before to_state existed)."""


def test_builder_state_keeps_the_builder_json_format(
    bundle_dir: Path, trained_model: CapacityModel
) -> None:
    state = trained_model.builder.to_state()
    assert set(state) == BUILDER_JSON_KEYS
    on_disk = json.loads((bundle_dir / "builder.json").read_text(encoding="utf-8"))
    assert json.loads(json.dumps(state)) == on_disk
    again = FeatureBuilder.from_state(on_disk)
    assert again.to_state() == state
    frames = trained_model.builder.transform(_sample_frames())
    pd.testing.assert_frame_equal(again.transform(_sample_frames()), frames)


def test_a_bundle_written_before_per_industry_area_multipliers_still_loads(
    bundle_copy: Path, labelled_history: LabelledHistory
) -> None:
    path = bundle_copy / "builder.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    pooled = doc["area_multiplier"]
    del doc["area_multipliers"]  # as written by bundles before the per-industry ones
    doc.pop("meter", None)  # and before the metered path for existing customers
    for key in (  # and issue 23's
        "coincidence",
        "coincidence_weights",
        "hierarchical",
        "climate_cooling",
        "zone_cooling_multipliers",
    ):
        doc.pop(key, None)
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    sums = json.loads((bundle_copy / "checksums.json").read_text(encoding="utf-8"))
    sums["builder.json"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (bundle_copy / "checksums.json").write_text(json.dumps(sums), encoding="utf-8")

    loaded, _, _ = load_bundle(bundle_copy)
    assert loaded.builder.area_multipliers_ == {}
    assert loaded.builder.meter_state() is None
    industries = np.asarray(labelled_history.frames.customers["industry"].astype(str))[:5]
    np.testing.assert_array_equal(loaded.builder.row_area_multipliers(industries), pooled)
    assert set(loaded.builder.to_state()) == BUILDER_JSON_KEYS


def _sample_frames() -> HistoryFrames:
    return frames_from_applications(
        [
            Application(industry="office", floor_area_m2=2000.0),
            Application(
                industry="machinery",
                floor_area_m2=3000.0,
                equipment=[EquipmentItem(category="machine_tool", rated_kw=15.0, quantity=4)],
            ),
        ]
    )
