"""Find and load the model the service answers with.

Order: ``CAPACITY_MODEL_DIR`` (a bundle path) → the exported registry champion in
``<home>/champion`` (written by ``capacity promote`` / ``capacity ensure-model``, so the
service does not need to import MLflow) → the registry alias ``champion`` resolved
through MLflow and exported. Every failure says what was looked for.
"""

from __future__ import annotations

from pathlib import Path

from training.bundle import load_bundle, read_metadata
from training.model import CapacityModel
from training.settings import CHAMPION_ALIAS, Settings


class ModelNotFoundError(RuntimeError):
    """No model could be found where the settings point."""


def _version_label(bundle: Path, settings: Settings) -> str:
    marker = bundle / "REGISTRY_VERSION"
    if marker.is_file():
        return f"{settings.registered_model}:v{marker.read_text(encoding='utf-8').strip()}"
    meta = read_metadata(bundle)
    return str(meta.get("model_version", "unknown"))


def locate_bundle(settings: Settings) -> Path:
    """The bundle directory to serve (see module docstring for the order)."""
    if settings.model_dir is not None:
        if not settings.model_dir.is_dir():
            raise ModelNotFoundError(
                f"CAPACITY_MODEL_DIR points at {settings.model_dir}, which is not a directory"
            )
        return settings.model_dir
    if (settings.champion_dir / "metadata.json").is_file():
        return settings.champion_dir
    from training.registry import export_champion

    exported = export_champion(settings)
    if exported is None:
        raise ModelNotFoundError(
            f"no model: CAPACITY_MODEL_DIR is not set, {settings.champion_dir} holds no bundle, and "
            f"registered model '{settings.registered_model}' has no alias '{CHAMPION_ALIAS}' at "
            f"{settings.resolved_tracking_uri()}; run `make model` (capacity ensure-model)"
        )
    return exported


def load_model(settings: Settings) -> tuple[CapacityModel, str, Path]:
    """Load the model to serve: (model, version label, bundle path)."""
    bundle = locate_bundle(settings)
    model, _, _ = load_bundle(bundle)
    return model, _version_label(bundle, settings), bundle
