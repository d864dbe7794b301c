"""Self-contained model bundle: a directory that loads without MLflow.

Layout::

    bundle/
      booster.txt        LightGBM model text (best iteration only)
      builder.json       fitted FeatureBuilder state (feature list, catalog version…)
      calibration.json   conformal residuals per group (and their fitted tails' settings)
      bounds.json        sanity bounds learned from the history
      peers.json         peer statistics (aggregates only)
      fitted_keys.json   hashed identities of the customers trained and calibrated on
      config.json        ModelConfig
      metadata.json      format version, model version, seed, data hash, git sha, created
      metrics.json       holdout metrics (may be empty)
      checksums.json     sha256 of every file above
      REGISTRY_VERSION   (exported champions only) the registry version, outside the checksums

Loading verifies the checksums (a corrupted or edited file is refused), the bundle
format, the feature spec and the catalog version, and says what does not match. Writing
is :func:`training.bundle.save_bundle`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from features.build import FEATURE_SPEC_VERSION, FeatureBuilder
from features.catalog import load_catalog
from features.engineering import EngineeringConfig
from serving.model.bounds import LearnedBounds
from serving.model.calibration import ResidualCalibrator
from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel

BUNDLE_FORMAT = 2
"""2: learned sanity bounds, fitted customer keys, calibration tails."""
FILES = (
    "booster.txt",
    "builder.json",
    "calibration.json",
    "bounds.json",
    "peers.json",
    "fitted_keys.json",
    "config.json",
    "metadata.json",
    "metrics.json",
)
REGISTRY_VERSION_FILE = "REGISTRY_VERSION"


class BundleError(RuntimeError):
    """A model bundle is missing, corrupted or incompatible with this installation."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def builder_state(builder: FeatureBuilder) -> dict[str, Any]:
    """The fitted builder as a JSON document (``builder.json``)."""
    return {
        "include_shares": builder.include_shares,
        "engineering": builder.engineering_.model_dump(),
        "catalog_version": builder.catalog_version_,
        "feature_spec_version": builder.feature_spec_version_,
        "categories": builder.categories_,
        "industries": builder.industries_,
        "climate_zones": builder.climate_zones_,
        "feature_names": builder.feature_names_,
        "categorical_features": builder.categorical_features_,
        "industry_fallback_kw": builder.industry_fallback_kw_,
        "base_weights": builder.base_weights_.tolist(),
        "area_multiplier": builder.area_multiplier_,
        "min_industry_rows": builder.min_industry_rows,
        "global_fallback_kw": builder.global_fallback_kw_,
    }


def builder_from_state(state: dict[str, Any]) -> FeatureBuilder:
    """Inverse of :func:`builder_state`."""
    eng = EngineeringConfig(**state["engineering"])
    builder = FeatureBuilder(
        engineering=eng,
        include_shares=bool(state["include_shares"]),
        min_industry_rows=int(state["min_industry_rows"]),
    )
    builder.engineering_ = eng
    builder.catalog_version_ = state["catalog_version"]
    builder.feature_spec_version_ = int(state["feature_spec_version"])
    builder.categories_ = list(state["categories"])
    builder.industries_ = list(state["industries"])
    builder.climate_zones_ = list(state["climate_zones"])
    builder.feature_names_ = list(state["feature_names"])
    builder.categorical_features_ = list(state["categorical_features"])
    builder.industry_fallback_kw_ = {k: float(v) for k, v in state["industry_fallback_kw"].items()}
    builder.global_fallback_kw_ = float(state["global_fallback_kw"])
    builder.base_weights_ = np.asarray(state["base_weights"], dtype=float)
    builder.area_multiplier_ = float(state["area_multiplier"])
    return builder


def read_metadata(bundle_dir: Path | str) -> dict[str, Any]:
    """The bundle's metadata without loading the model."""
    path = Path(bundle_dir) / "metadata.json"
    if not path.is_file():
        raise BundleError(f"not a model bundle: {path} is missing")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def load_bundle(bundle_dir: Path | str) -> tuple[CapacityModel, dict[str, Any], dict[str, Any]]:
    """Load and verify a bundle: returns (model, metadata, metrics).

    Raises
    ------
    BundleError
        When a file is missing or corrupted, or the bundle does not match this
        installation (bundle format, feature spec or catalog version).
    """
    root = Path(bundle_dir)
    if not root.is_dir():
        raise BundleError(f"model bundle directory not found: {root}")
    missing = [n for n in (*FILES, "checksums.json") if not (root / n).is_file()]
    if missing:
        raise BundleError(f"model bundle {root} is incomplete: missing {', '.join(missing)}")
    try:
        checksums = json.loads((root / "checksums.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"model bundle {root}: checksums.json is not valid JSON ({exc})") from exc
    for name in FILES:
        actual = sha256_file(root / name)
        if checksums.get(name) != actual:
            raise BundleError(
                f"model bundle {root}: {name} is corrupted or was edited "
                f"(sha256 {actual[:12]}…, expected {str(checksums.get(name))[:12]}…)"
            )
    docs = {
        n: json.loads((root / n).read_text(encoding="utf-8")) for n in FILES if n.endswith(".json")
    }
    meta = docs["metadata.json"]
    if meta.get("bundle_format") != BUNDLE_FORMAT:
        raise BundleError(
            f"model bundle {root} has format {meta.get('bundle_format')}, this installation "
            f"reads format {BUNDLE_FORMAT}: retrain or install the matching version"
        )
    if meta.get("feature_spec_version") != FEATURE_SPEC_VERSION:
        raise BundleError(
            f"model bundle {root} was built with feature spec {meta.get('feature_spec_version')}, "
            f"this installation builds spec {FEATURE_SPEC_VERSION}: retrain the model"
        )
    catalog_version = load_catalog().version
    if meta.get("catalog_version") != catalog_version:
        raise BundleError(
            f"model bundle {root} was built with catalog {meta.get('catalog_version')}, this "
            f"installation has catalog {catalog_version}: retrain the model"
        )
    builder = builder_from_state(docs["builder.json"])
    config = ModelConfig(**docs["config.json"])
    try:
        booster = lgb.Booster(model_str=(root / "booster.txt").read_text(encoding="utf-8"))
    except (lgb.basic.LightGBMError, UnicodeDecodeError) as exc:
        raise BundleError(
            f"model bundle {root}: booster.txt is not a LightGBM model ({exc})"
        ) from exc
    if booster.feature_name() != builder.feature_names_:
        raise BundleError(
            f"model bundle {root}: the booster's features do not match builder.json's feature list"
        )
    try:
        calibrator = ResidualCalibrator.from_dict(docs["calibration.json"])
        bounds = LearnedBounds.from_dict(docs["bounds.json"]) if docs["bounds.json"] else None
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"model bundle {root}: {exc}") from exc
    model = CapacityModel(
        builder=builder,
        booster=booster,
        calibrator=calibrator,
        config=config,
        peers=docs["peers.json"],
        best_iteration=int(meta.get("best_iteration", booster.current_iteration())),
        bounds=bounds,
        fitted_keys=frozenset(str(k) for k in docs["fitted_keys.json"]),
    )
    return model, meta, docs["metrics.json"]


def registry_version(bundle_dir: Path | str) -> str | None:
    """The registry version an exported champion carries, validated (None if not exported).

    Raises
    ------
    BundleError
        When the marker exists but is not a plain version number.
    """
    marker = Path(bundle_dir) / REGISTRY_VERSION_FILE
    if not marker.is_file():
        return None
    text = marker.read_text(encoding="utf-8", errors="replace").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise BundleError(
            f"model bundle {bundle_dir}: {REGISTRY_VERSION_FILE} holds {text[:40]!r}, expected "
            "a registry version number"
        )
    return text


def version_label(bundle_dir: Path | str, registered_model: str) -> str:
    """The version an answer names.

    ``<registered model>:v<N>`` for an exported champion, else the bundle's own
    ``model_version`` (``local-…`` for a bundle never registered).
    """
    version = registry_version(bundle_dir)
    if version is not None:
        return f"{registered_model}:v{version}"
    return str(read_metadata(bundle_dir).get("model_version", "unknown"))


def switch_champion(target: Path | str, champion: Path | str) -> Path:
    """Point the symlink ``champion`` at the bundle directory ``target``, atomically.

    A temporary symlink beside ``champion`` is renamed over it (``os.replace``), so a
    reader resolving ``champion`` sees either the old bundle or the new one, never a
    missing or half-written one. An old real directory at ``champion`` (exports before
    the symlink layout) is moved aside first and removed after the switch. Pass the
    link's own path (``Settings.champion_dir``), not a resolved one.
    The link is relative when ``target`` lives beside it, so the home can be moved.
    Returns the link path.
    """
    import os
    import shutil
    import uuid

    link = Path(champion)
    link = Path(os.path.abspath(link.parent)) / link.name
    real = Path(target).resolve()
    if not real.is_dir():
        raise BundleError(f"cannot switch {link} to {real}: not a directory")
    link.parent.mkdir(parents=True, exist_ok=True)
    stale: Path | None = None
    if link.is_dir() and not link.is_symlink():
        stale = link.with_name(f".{link.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(link, stale)
    tmp = link.with_name(f".{link.name}.tmp-{uuid.uuid4().hex[:8]}")
    os.symlink(os.path.relpath(real, link.parent.resolve()), tmp, target_is_directory=True)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if stale is not None and not link.exists():
            os.replace(stale, link)
        raise
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)
    return link
