"""Retrain on history plus recorded outcomes, then promote only through the gate.

:func:`retrain` closes the loop: the pilot's recorded outcomes (optionally) join the
utility's history in the contract's format (:mod:`training.pilot.outcomes_export`), a candidate
is trained on the merged history (:func:`training.train.train_from_files`: validated, held
out, logged to MLflow and registered as a new version), and the candidate is put through
the promotion gate (:func:`training.registry.store.promote`), which re-scores the current
champion on the candidate's holdout. A refused candidate stays registered but does not
serve; the decision says why.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from serving.logbook import LogbookSettings
from serving.settings import Settings
from training.pilot.outcomes_export import OutcomeExport
from training.registry.gate import GATE_MIN_ACCURACY
from training.registry.store import PromotionDecision
from training.train import TrainConfig, TrainResult

__all__ = ["RetrainResult", "outcome_figures", "retrain"]


def _interval(response: dict[str, object]) -> tuple[float, float] | None:
    """The logged 90 % peak interval of an answer (full, compact or summary row)."""
    for low, high in (("peak_low90_kw", "peak_high90_kw"), ("peak_low_kw", "peak_high_kw")):
        lo, hi = response.get(low), response.get(high)
        if isinstance(lo, int | float) and isinstance(hi, int | float):
            return float(lo), float(hi)
    return None


def outcome_figures(joined: object, exported: OutcomeExport, appended: int) -> dict[str, str]:
    """The outcome counts a retrain used and what the outcomes say about the served answers.

    Counts (recommendations with an outcome, used, skipped), the realised accuracy of the
    recommended capacities on the contract's definition and the coverage of the logged
    90 % peak intervals by the metered peaks; as registry tags for the model card.
    """
    import json

    import numpy as np

    from features.contract import DEFAULT_SIZING, sizing_outcome

    frame = joined  # pandas.DataFrame of training.pilot.log_frame.joined_frame
    out = {
        "outcomes_recorded": str(exported.n_outcomes),
        "outcomes_used": str(appended),
        "outcomes_skipped": str(len(exported.skipped)),
        "outcomes_unmatched_lines": str(exported.unmatched_lines),
    }
    if len(frame):  # type: ignore[arg-type]
        peak = frame["metered_peak_kw"].to_numpy(float)  # type: ignore[index]
        kva = frame["recommended_kva"].to_numpy(float)  # type: ignore[index]
        ok = sizing_outcome(peak, kva, DEFAULT_SIZING) == "appropriate"
        out["outcomes_realised_accuracy"] = f"{float(np.mean(ok)):.4f}"
        out["outcomes_judged"] = str(len(ok))
        covered = []
        for text, p in zip(frame["response_json"], peak, strict=True):  # type: ignore[index]
            try:
                iv = _interval(json.loads(text))
            except (TypeError, ValueError):
                iv = None
            if iv is not None:
                covered.append(iv[0] <= p <= iv[1])
        if covered:
            out["outcomes_interval_coverage90"] = f"{float(np.mean(covered)):.4f}"
            out["outcomes_with_interval"] = str(len(covered))
    return out


@dataclass(frozen=True)
class RetrainResult:
    """What :func:`retrain` did.

    Attributes
    ----------
    train
        The training run (metrics, bundle, MLflow run and registered version).
    decision
        The promotion gate's decision on the new version.
    exported
        The outcomes exported from the log (None without ``include_outcomes``).
    appended
        Outcome customers appended to the history (0 without ``include_outcomes``).
    customers, equipment
        The files the candidate was trained on (the merged files when outcomes were
        appended; they are removed afterwards unless ``work_dir`` was given).
    champion_dir
        Where the new champion was exported for serving, when promoted.
    """

    train: TrainResult
    decision: PromotionDecision
    exported: OutcomeExport | None
    appended: int
    customers: Path
    equipment: Path
    champion_dir: Path | None

    @property
    def promoted(self) -> bool:
        """Whether the candidate became the champion."""
        return self.decision.promoted


def retrain(
    customers: Path | str,
    equipment: Path | str,
    *,
    include_outcomes: bool = False,
    oracle: Path | str | None = None,
    config: TrainConfig | None = None,
    settings: Settings | None = None,
    log_settings: LogbookSettings | None = None,
    out_dir: Path | None = None,
    work_dir: Path | None = None,
    reason: str | None = None,
    by: str | None = None,
    min_accuracy: float = GATE_MIN_ACCURACY,
    progress: Callable[[str], None] | None = None,
    meter_readings: Path | str | None = None,
) -> RetrainResult:
    """Train a candidate on the history (plus recorded outcomes) and put it through the gate.

    Parameters
    ----------
    customers, equipment
        The utility's history in the contract's format (CSV or Parquet).
    include_outcomes
        Append the logged recommendations that have an outcome, as contract rows
        (``customer_id = 'rec-<id>'``, label = metered peak). The merged history has no
        oracle: the oracle baseline exists for synthetic rows only, and a partial one
        would be misleading.
    oracle
        An explicit oracle file (``customer_id, oracle_peak_kw``) for the oracle baseline
        of a synthetic history; nothing is picked up implicitly. Refused together with
        ``include_outcomes`` (the outcome rows have no oracle).
    config
        Seed, holdout share and model configuration; MLflow logging is forced on (the
        gate reads the candidate from the registry).
    settings
        Registry and tracking locations; from the environment when None.
    log_settings
        The recommendation log to export outcomes from; from the environment when None.
    out_dir
        Bundle directory; default ``<home>/bundles/retrain-<UTC time>``.
    work_dir
        Where to write the merged history and keep it; default a temporary folder that is
        removed afterwards (the run logs the data hash).
    reason, by
        Recorded with a promotion.
    min_accuracy
        The gate's floor (see :func:`training.registry.store.promote`).
    progress
        Optional callable receiving stage names.
    meter_readings
        The history's ``meter_readings.csv`` of existing customers (optional).

    Returns
    -------
    RetrainResult
        The training run and the gate's decision (``decision.reason`` says why a
        candidate was refused).

    Raises
    ------
    ValueError
        ``oracle`` together with ``include_outcomes``, or a malformed oracle file.
    """
    from serving.logbook import Logbook
    from training.pilot.outcomes_export import export_outcomes, merge_history, merged_meter_path
    from training.registry.store import export_champion, promote
    from training.train import train_from_files

    if oracle is not None and include_outcomes:
        raise ValueError(
            "an oracle file cannot be used with include_outcomes: the appended outcome "
            "customers have no oracle, and a partial oracle baseline would be misleading"
        )
    note = progress or (lambda stage: None)
    settings = settings if settings is not None else Settings()
    config = (config or TrainConfig()).model_copy(update={"log_to_mlflow": True})
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    bundle_dir = out_dir if out_dir is not None else settings.home / "bundles" / f"retrain-{stamp}"
    tmp = None
    if work_dir is None:
        tmp = tempfile.mkdtemp(prefix="capacity-retrain-")
        work = Path(tmp)
    else:
        work = Path(work_dir)
    try:
        exported: OutcomeExport | None = None
        appended = 0
        train_customers, train_equipment = Path(customers), Path(equipment)
        train_meter = None if meter_readings is None else Path(meter_readings)
        if include_outcomes:
            note("exporting recorded outcomes")
            with Logbook.open(log_settings) as logbook:
                exported = export_outcomes(logbook)
            train_customers, train_equipment, appended = merge_history(
                customers, equipment, exported, work / "history", meter_readings
            )
            merged_meter = merged_meter_path(work / "history")
            train_meter = merged_meter if merged_meter.is_file() else None
        figures: dict[str, str] = {}
        if include_outcomes and exported is not None:
            from training.pilot.log_frame import joined_frame

            with Logbook.open(log_settings) as logbook:
                figures = outcome_figures(joined_frame(logbook), exported, appended)
        result = train_from_files(
            train_customers,
            train_equipment,
            bundle_dir,
            config,
            settings,
            progress=note,
            oracle=None if oracle is None else Path(oracle),
            meter_readings=train_meter,
        )
        assert result.run is not None  # log_to_mlflow is forced on
        if figures:
            from training.registry.store import client

            mc = client(settings)
            for key, value in figures.items():
                mc.set_model_version_tag(settings.registered_model, result.run.version, key, value)
        note("promotion gate")
        why = reason or (
            f"retrained on {result.n_train} customers"
            + (
                f" incl. {appended} of {figures.get('outcomes_recorded', appended)} recorded "
                "outcomes"
                if include_outcomes
                else ""
            )
        )
        decision = promote(
            settings,
            result.run.version,
            reason=why,
            by=by,
            min_accuracy=min_accuracy,
        )
        champion_dir = export_champion(settings) if decision.promoted else None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return RetrainResult(
        train=result,
        decision=decision,
        exported=exported,
        appended=appended,
        customers=train_customers,
        equipment=train_equipment,
        champion_dir=champion_dir,
    )
