"""Writing model bundles (reading and verifying them is :mod:`serving.model.bundle`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb

from features.atomic import write_text
from features.build import FEATURE_SPEC_VERSION
from serving.model.bundle import BUNDLE_FORMAT, FILES, sha256_file
from serving.model.predictor import CapacityModel


def save_bundle(
    model: CapacityModel,
    out_dir: Path | str,
    metadata: dict[str, Any],
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` as a bundle directory and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "bundle_format": BUNDLE_FORMAT,
        "feature_spec_version": FEATURE_SPEC_VERSION,
        "catalog_version": model.builder.catalog_version_,
        "best_iteration": model.best_iteration,
        "lightgbm_version": lgb.__version__,
        "n_fitted_keys": len(model.fitted_keys),
        **metadata,
    }
    write_text(out / "booster.txt", model.booster.model_to_string(), encoding="utf-8")
    docs = {
        "builder.json": model.builder.to_state(),
        "calibration.json": model.calibrator.to_dict(),
        "bounds.json": model.bounds.to_dict() if model.bounds is not None else {},
        "peers.json": model.peers,
        "fitted_keys.json": sorted(model.fitted_keys),
        "config.json": model.config.model_dump(mode="json"),
        "metadata.json": meta,
        "metrics.json": metrics or {},
    }
    for name, doc in docs.items():
        indent = None if name == "fitted_keys.json" else 1
        write_text(out / name, json.dumps(doc, ensure_ascii=False, indent=indent, default=float))
    checksums = {name: sha256_file(out / name) for name in FILES}
    write_text(out / "checksums.json", json.dumps(checksums, indent=1), encoding="utf-8")
    return out
