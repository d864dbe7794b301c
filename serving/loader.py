"""Find and load the model the service answers with.

Order: ``CAPACITY_MODEL_DIR`` (a bundle path) → the exported registry champion in
``<home>/champion`` (written by ``capacity promote`` / ``capacity ensure-model``). The
service never imports MLflow: exporting the champion is the training side's job. Every
failure says what was looked for and what to run.
"""

from __future__ import annotations

from pathlib import Path

from serving.model.bundle import load_bundle, version_label
from serving.model.predictor import CapacityModel
from serving.model.verify import verify_bundle
from serving.settings import Settings


class ModelNotFoundError(RuntimeError):
    """No model could be found where the settings point."""


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
    raise ModelNotFoundError(
        f"no model: CAPACITY_MODEL_DIR is not set and {settings.champion_dir} holds no exported "
        "champion; run `make model` (capacity ensure-model) or `capacity promote` to export one"
    )


def load_model(settings: Settings, *, verify: bool = True) -> tuple[CapacityModel, str, Path]:
    """Load the model to serve: (model, version label, bundle path).

    With ``verify`` (the default) the bundle is first checked by
    :func:`serving.model.verify.verify_bundle` (LightGBM parses the booster in a child
    process), so a booster that would abort LightGBM natively is a ``BundleError``.
    """
    bundle = locate_bundle(settings)
    if verify:
        verify_bundle(bundle)
    model, _, _ = load_bundle(bundle)
    return model, version_label(bundle, settings.registered_model), bundle
