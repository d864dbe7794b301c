"""The default model for a fresh machine: synthesise, train, promote through the gate, export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from serving.settings import Settings


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
    same gate as any other candidate.
    """
    from training.registry import champion_version, export_champion, promote

    current = champion_version(settings)
    target = settings.champion_dir
    if current is not None:
        if not _export_is_current(target, current):
            export_champion(settings)
        return target, f"champion is version {current}"

    from training.synth import SynthConfig, generate_history, write_history
    from training.train import TrainConfig, train_from_files

    data_dir = settings.home / "synthetic-default"
    log(f"no champion registered: synthesising {n} customers (seed {seed}) in {data_dir}")
    write_history(generate_history(SynthConfig(n=n, seed=seed)), data_dir)
    log("training the default model")
    result = train_from_files(
        data_dir / "customers.csv",
        data_dir / "equipment.csv",
        settings.home / "bundles" / "default",
        TrainConfig(seed=seed),
        settings,
        progress=lambda stage: log(f"  {stage}"),
    )
    assert result.run is not None
    decision = promote(
        settings, result.run.version, reason="default model built by ensure-model", by="make serve"
    )
    if not decision.promoted:
        raise RuntimeError(f"the default model was not promoted: {decision.reason}")
    export_champion(settings)
    return target, (
        f"trained and promoted version {result.run.version} "
        f"(holdout sizing accuracy {decision.candidate_accuracy:.3f})"
    )


def _export_is_current(champion: Path, version: str) -> bool:
    """Whether ``champion`` holds registry version ``version`` and passes verification."""
    from serving.model.bundle import BundleError, load_bundle, registry_version

    try:
        if registry_version(champion) != version:
            return False
        load_bundle(champion)
    except (BundleError, OSError, ValueError):
        return False
    return True
