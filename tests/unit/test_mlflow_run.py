"""What a data scientist sees in MLflow, and `capacity compare` on two registered versions.

One registry per module (two small versions trained on one fixture history): the run is
named, described and timed over the training; its data sets, tags and experiment kind are
set; the champion's run carries the champion tag (moved on promotion); the registered
pyfunc model answers a DataFrame of applications exactly as the service's Recommender
does; the comparison uses only customers neither version trained on.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from serving.core import Recommender
from serving.model.bundle import load_bundle
from serving.model.config import ModelConfig
from serving.settings import Settings
from training.cli.app import app
from training.mlflow_model import answer_frame, applications_from_frame, frame_from_applications
from training.pilot.simulate import applications_from_frames
from training.registry.compare import compare_models, compare_versions
from training.registry.store import (
    CHAMPION_RUN_TAG,
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    champion_version,
    client,
    download_version,
    promote,
)
from training.synth.history import SynthConfig, generate_history, write_history
from training.train import TrainConfig, TrainResult, train_from_files

SMALL = ModelConfig(max_rounds=200, num_threads=1)


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, Path, list[TrainResult]]]:
    root = tmp_path_factory.mktemp("mlflow-run")
    history = root / "utility-a"
    write_history(generate_history(SynthConfig(n=1500, seed=21)), history)
    settings = Settings(home=root / "home")
    results = [
        train_from_files(
            history / "customers.csv",
            history / "equipment.csv",
            root / f"bundle-{seed}",
            TrainConfig(seed=seed, model=SMALL, make_plots=False),
            settings,
        )
        for seed in (1, 2)
    ]
    yield settings, history, results


@pytest.mark.slow
def test_run_is_named_described_timed_and_has_its_data(
    registry: tuple[Settings, Path, list[TrainResult]],
) -> None:
    settings, history, results = registry
    first = results[0]
    assert first.run is not None
    mc = client(settings)
    run = mc.get_run(first.run.run_id)
    assert re.fullmatch(r"train \d{4}-\d{2}-\d{2} history=utility-a n=\d+", run.info.run_name)
    assert run.info.run_name.endswith(f"n={first.n_train + first.n_holdout}")
    tags = run.data.tags
    assert "utility-a" in tags["mlflow.note.content"]
    assert tags["seed"] == "1" and tags["data_hash"] and tags["git_sha"]
    assert json.loads(tags["config"])["seed"] == 1
    # The run spans the training it records (not the milliseconds of logging it).
    assert run.info.end_time - run.info.start_time >= 1000 * first.metrics["train_seconds"] * 0.9
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {
        "utility-a-customers-train",
        "utility-a-equipment-train",
        "utility-a-customers-holdout",
        "utility-a-equipment-holdout",
    }
    train_ds = inputs["utility-a-customers-train"]
    assert train_ds.tags[0].value == "training" and train_ds.dataset.digest
    assert str(history / "customers.csv") in train_ds.dataset.source
    schema = json.loads(train_ds.dataset.schema)["mlflow_colspec"]
    assert "peak_demand_kw" in {c["name"] for c in schema}
    exp = mc.get_experiment(run.info.experiment_id)
    assert exp.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    # The version's model has a real signature (not "Schema Inputs (0)").
    mv = mc.get_model_version(settings.registered_model, first.run.version)
    assert mv.source.endswith("/model")


@pytest.mark.slow
def test_champion_run_tag_moves_on_promotion(
    registry: tuple[Settings, Path, list[TrainResult]],
) -> None:
    settings, _, results = registry
    v1, v2 = (r.run.version for r in results if r.run is not None)
    mc = client(settings)

    def tagged(version: str) -> str | None:
        run_id = mc.get_model_version(settings.registered_model, version).run_id
        return mc.get_run(run_id).data.tags.get(CHAMPION_RUN_TAG)

    if champion_version(settings) == v1:  # another test made v1 champion already
        assert promote(settings, v2, force=True, reason="test: tag v2").promoted
    assert promote(settings, v1, force=True, reason="test: tag v1").promoted
    assert (tagged(v1), tagged(v2)) == ("true", None)
    assert promote(settings, v2, force=True, reason="test: move the tag").promoted
    assert (tagged(v1), tagged(v2)) == (None, "true")


@pytest.mark.slow
def test_pyfunc_champion_scores_like_the_service(
    registry: tuple[Settings, Path, list[TrainResult]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mlflow

    settings, _, results = registry
    _make_champion(settings, results[1].run.version)  # type: ignore[union-attr]
    from features.validation import validate_frames

    fresh = generate_history(SynthConfig(n=60, seed=99, dirty_row_rate=0.0))
    valid = validate_frames(fresh.customers, fresh.equipment, require_label=False)
    apps, _, _ = applications_from_frames(valid.customers, valid.equipment)
    frame = frame_from_applications(apps)
    # Through the environment, restored after the test (mlflow.set_tracking_uri would leak
    # MLFLOW_TRACKING_URI into every later test of the session).
    monkeypatch.setenv("MLFLOW_TRACKING_URI", settings.resolved_tracking_uri())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mlflow.pyfunc.load_model(f"models:/{settings.registered_model}@champion")
        got = model.predict(frame)
    version = results[1].run.version  # type: ignore[union-attr]
    bundle = download_version(settings, version, "bundle", tmp_path / "b")
    cm, _, _ = load_bundle(bundle)
    rec = Recommender(cm, f"{settings.registered_model}:v{version}")
    want = answer_frame(rec, frame)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    scored = rec.score_applications(applications_from_frame(frame))
    assert got["customer_id"].tolist() == frame["customer_id"].tolist()  # kept, not app-<i>
    assert (got["status"] == "ok").all()
    same = [c for c in scored.columns if c != "customer_id"]
    pd.testing.assert_frame_equal(got[same], scored[same])
    full = rec.recommend_many(apps)
    assert got["recommended_kva"].tolist() == [r.recommended_kva for r in full]
    assert set(got["model_version"]) == {f"{settings.registered_model}:v{version}"}


@pytest.mark.slow
def test_pyfunc_keeps_ids_takes_integer_counts_and_flags_a_bad_row(
    registry: tuple[Settings, Path, list[TrainResult]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    settings, _, results = registry
    _make_champion(settings, results[1].run.version)  # type: ignore[union-attr]
    lines = [{"name": "xyzzy frobnicator", "rated_kw": 10, "quantity": 1}]
    frame = pd.DataFrame(
        {
            "customer_id": ["C-1", "C-2", "C-3"],
            "industry": ["machinery", "machinery", "machinery"],
            "floor_area_m2": [1200, 800, 500],  # int64: MLflow would not cast it to double
            "employees": [40, 12, 5],
            "shifts": [2, 1, 1],
            "equipment": [
                json.dumps([{"category": "other_motor", "rated_kw": 55, "quantity": 2}]),
                json.dumps(lines),  # matches no category: flagged on its own row
                json.dumps([{"category": "other_motor", "rated_kw": -5, "quantity": 1}]),
            ],
        }
    )
    # Through the environment, restored after the test (mlflow.set_tracking_uri would leak
    # MLFLOW_TRACKING_URI into every later test of the session).
    monkeypatch.setenv("MLFLOW_TRACKING_URI", settings.resolved_tracking_uri())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mlflow.pyfunc.load_model(f"models:/{settings.registered_model}@champion")
        got = model.predict(frame)
    assert got["customer_id"].tolist() == ["C-1", "C-2", "C-3"]
    assert got["status"].tolist() == ["ok", "rejected", "rejected"]
    assert "xyzzy frobnicator" in got.loc[1, "reason"]
    assert "rated_kw" in got.loc[2, "reason"]
    assert got.loc[0, "recommended_kva"] > 0 and pd.isna(got.loc[1, "recommended_kva"])
    # Named as the API's batch rows are.
    assert {"status", "reason", "incomplete_list", "recommended_kva", "p_appropriate"} <= set(
        got.columns
    )


@pytest.mark.slow
def test_compare_uses_only_customers_neither_saw(
    registry: tuple[Settings, Path, list[TrainResult]],
) -> None:
    settings, _, results = registry
    v1, v2 = (r.run.version for r in results if r.run is not None)
    c = compare_versions(settings, v2, v1, seed=0)
    # Different seeds give different holdouts: part of v2's holdout trained v1.
    assert 0 < c.n < results[1].n_holdout and c.n_seen_excluded > 0
    acc = c.overall.loc["accuracy"]
    assert acc["low"] <= acc["difference"] <= acc["high"]
    assert c.per_industry["n"].sum() == c.n
    # A model against itself: no difference at all, on every figure.
    same, _, _ = load_bundle(results[0].bundle_dir)
    hold = results[0].evaluation.rows
    assert len(hold) > 0
    data = _holdout(settings, v1)
    self_c = compare_models(same, same, data)
    assert np.allclose(self_c.overall["difference"], 0.0)


def _make_champion(settings: Settings, version: str) -> None:
    if champion_version(settings) != version:
        assert promote(settings, version, force=True, reason="test").promoted


def _holdout(settings: Settings, version: str):  # type: ignore[no-untyped-def]
    import tempfile

    from training.data import read_holdout

    with tempfile.TemporaryDirectory() as tmp:
        return read_holdout(download_version(settings, version, "holdout", Path(tmp)))


@pytest.mark.slow
def test_compare_cli_prints_a_table_and_logs_to_the_candidates_run(
    registry: tuple[Settings, Path, list[TrainResult]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, _, results = registry
    monkeypatch.setenv("CAPACITY_HOME", str(settings.home))
    v1, v2 = (r.run.version for r in results if r.run is not None)
    out = tmp_path / "cmp"
    res = CliRunner().invoke(
        app, ["compare", "--candidate", v2, "--baseline", v1, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "accuracy" in res.output and "95% interval" in res.output
    assert max(len(line) for line in res.output.splitlines()) <= 120
    html = (out / "compare.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    mc = client(settings)
    run = mc.get_run(mc.get_model_version(settings.registered_model, v2).run_id)
    assert f"vs_v{v1}.accuracy.difference" in run.data.metrics
    arts = [a.path for a in mc.list_artifacts(run.info.run_id, f"compare/vs_v{v1}")]
    assert any(p.endswith("compare.html") for p in arts)


@pytest.mark.slow
def test_monitor_cli_reads_the_champions_profile_and_exits_1_on_drift(
    registry: tuple[Settings, Path, list[TrainResult]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from serving.logbook import LogbookSettings
    from training.monitor.report import history_path, read_history
    from training.monitor.simulate import log_month, month

    settings, _, results = registry
    monkeypatch.setenv("CAPACITY_HOME", str(settings.home))
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log_month(LogbookSettings(url=url), results[0].bundle_dir, n=150, seed=331,
              month_start=month(2026, 11), industries=("ev_charging", "cold_storage"))  # fmt: skip
    args = ["monitor", "--since", "2026-11-01", "--until", "2026-12-01", "--log-db-url", url,
            "--out", str(tmp_path / "monitor.html")]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1, res.output
    assert "ALERT input drift of industry" in res.output
    assert max(len(line) for line in res.output.splitlines()) <= 120
    latest = json.loads((settings.home / "monitor" / "latest.json").read_text(encoding="utf-8"))
    assert latest["alerts"] and latest["n_applications"] == 150
    # The reference is the profile the champion's training run logged, not a fallback.
    assert latest["reference_source"].startswith("training split of history utility-a")
    # A what-if run against the other version leaves latest.json (what /metrics serves) and
    # the drift history alone; the champion's next run is marked as continuing its alert.
    other = next(
        r.run.version for r in results if r.run and r.run.version != champion_version(settings)
    )
    before = (settings.home / "monitor" / "latest.json").read_bytes()
    rows = len(read_history(history_path(settings)))
    what_if = CliRunner().invoke(app, [*args, "--version", other])
    assert "what-if run" in " ".join(what_if.output.split())
    assert (settings.home / "monitor" / "latest.json").read_bytes() == before
    assert len(read_history(history_path(settings))) == rows
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "STILL input drift of industry" in again.output
    assert len(read_history(history_path(settings))) == rows + 1
    bad = CliRunner().invoke(app, ["monitor", "--since", "yesterday", "--log-db-url", url])
    assert bad.exit_code == 2 and "expected ISO 8601" in bad.output
