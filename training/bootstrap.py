"""The default model for a fresh machine: synthesise, train, promote through the gate, export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from serving.settings import Settings

# How the default model's promotion is recorded, and later recognised as the default.
DEFAULT_MODEL_REASON = "default model built by ensure-model"
DEFAULT_MODEL_BY = "make serve"


def ensure_default_model(
    settings: Settings,
    *,
    n: int = 25000,
    seed: int = 1,
    log: Callable[[str], Any] = print,
) -> tuple[Path, str]:
    """Make sure a champion exists and is exported for serving; returns (bundle, message).

    With a registered champion this only exports it (when the export is missing, stale
    or fails verification). Without one it trains the default model on a synthetic
    history (``n`` customers, 20 % held out), registers it and promotes it through the
    same gate as any other candidate. A champion this command built that no longer fits
    the installation (:class:`serving.model.bundle.IncompatibleBundle`: an upgrade changed
    the catalog, the feature spec or the bundle format) is rebuilt the same way, so
    ``make serve`` works after a pull; a champion a utility promoted is never replaced
    here, its refusal is raised with the instruction to retrain.

    The export is verified as the service verifies it
    (:func:`serving.model.verify.verify_bundle`, LightGBM in a child process), so a
    corrupted export cannot abort this command either.

    Raises
    ------
    BundleError
        When the champion cannot be exported (its download fails verification). A
        champion export that fails verification is never left in place: the link is
        removed (the bundle is kept aside as ``<home>/exports/.rejected-…``), so
        ``make serve`` stops here and a service started anyway says there is no model.
    """
    from serving.model.bundle import BundleError
    from training.registry.store import champion_version

    current = champion_version(settings)
    target = settings.champion_dir
    if current is None:
        return _build_default(settings, n, seed, log)
    if _export_is_current(target, current):
        return target, f"champion is version {current}"
    try:
        _export(settings)
    except BundleError as exc:
        # After an upgrade (a new catalog, feature spec or bundle format) the demo model this
        # command built is retrained, as on a fresh machine; a model a utility trained and
        # promoted is theirs to retrain, so its refusal stands.
        why = _incompatibility(exc)
        if why is None or not _is_default_model(settings, current):
            raise
        log(f"the default model (version {current}) was built for another installation: {why}")
        path, message = _build_default(settings, n, seed, log)
        return path, f"{message}, replacing default version {current}"
    return target, f"champion is version {current}"


def _incompatibility(exc: BaseException) -> str | None:
    """The incompatibility behind ``exc`` (its chain of causes), None when it is not one."""
    from serving.model.bundle import IncompatibleBundle

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, IncompatibleBundle):
            return str(seen)
        seen = seen.__cause__
    return None


def _is_default_model(settings: Settings, version: str) -> bool:
    """Whether registry ``version`` was promoted by this command (not by a utility)."""
    from training.registry.store import client

    tags = client(settings).get_model_version(settings.registered_model, version).tags
    return tags.get("promoted_by") == DEFAULT_MODEL_BY and str(
        tags.get("promotion_reason", "")
    ).startswith(DEFAULT_MODEL_REASON)


def _build_default(
    settings: Settings, n: int, seed: int, log: Callable[[str], Any]
) -> tuple[Path, str]:
    """Synthesise, train, promote through the gate and export the default model."""
    from training.registry.store import promote
    from training.synth.history import (
        DEMO_EXISTING_SHARE,
        SynthConfig,
        generate_history,
        write_history,
    )
    from training.train import TrainConfig, train_from_files

    data_dir = settings.home / "synthetic-default"
    log(f"no champion registered: synthesising {n} customers (seed {seed}) in {data_dir}")
    write_history(
        generate_history(SynthConfig(n=n, seed=seed, existing_share=DEMO_EXISTING_SHARE)),
        data_dir,
    )
    meter = data_dir / "meter_readings.csv"
    log("training the default model")
    result = train_from_files(
        data_dir / "customers.csv",
        data_dir / "equipment.csv",
        settings.home / "bundles" / "default",
        TrainConfig(seed=seed),
        settings,
        progress=lambda stage: log(f"  {stage}"),
        oracle=data_dir / "oracle.csv",
        meter_readings=meter if meter.is_file() else None,
    )
    assert result.run is not None
    decision = promote(
        settings, result.run.version, reason=DEFAULT_MODEL_REASON, by=DEFAULT_MODEL_BY
    )
    if not decision.promoted:
        raise RuntimeError(f"the default model was not promoted: {decision.reason}")
    _export(settings)
    return settings.champion_dir, (
        f"trained and promoted version {result.run.version} "
        f"(holdout sizing accuracy {decision.candidate_accuracy:.3f})"
    )


def _export_is_current(champion: Path, version: str) -> bool:
    """Whether ``champion`` holds registry version ``version`` and passes verification."""
    return _registry_version(champion) == version and _verification_error(champion) is None


def _registry_version(champion: Path) -> str | None:
    from serving.model.bundle import BundleError, registry_version

    try:
        return registry_version(champion)
    except (BundleError, OSError):
        return None


def _verification_error(bundle: Path) -> str | None:
    """Why ``bundle`` fails :func:`serving.model.verify.verify_bundle` (None: it passes)."""
    from serving.model.bundle import BundleError
    from serving.model.verify import verify_bundle

    try:
        verify_bundle(bundle)
    except (BundleError, OSError, ValueError) as exc:
        return str(exc)
    return None


def _export(settings: Settings) -> None:
    """Export the champion; on failure never leave a champion that fails verification.

    Raises
    ------
    BundleError
        When the export fails verification.
    """
    from serving.model.bundle import BundleError
    from training.registry.store import export_champion

    link = settings.champion_dir
    try:
        exported = export_champion(settings)
    except BundleError as exc:
        message = str(exc)
        if (link.exists() or link.is_symlink()) and _verification_error(link) is not None:
            aside = _reject(settings, link)
            message += f"; the previous export failed verification too and was moved to {aside}"
        raise BundleError(message) from exc
    if exported is None:  # the champion alias was removed meanwhile: nothing to export
        return


def _reject(settings: Settings, link: Path) -> Path:
    """Take a champion that fails verification out of service; where it was moved."""
    import os
    import uuid

    exports = settings.home.resolve() / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    real = Path(os.path.realpath(link))
    aside = exports / f".rejected-{real.name}-{uuid.uuid4().hex[:8]}"
    if link.is_symlink():
        link.unlink()
        if real.is_dir():
            os.replace(real, aside)
        else:
            return real
    else:
        os.replace(link, aside)
    return aside
