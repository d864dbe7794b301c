"""``capacity train --engine dask``: partitioned history → Dask fit → holdout report → bundle.

The counterpart of :func:`training.train.train_from_files` for histories too large for one
process; the fitting itself is :func:`training.dask_engine.engine.train_dask`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from features.atomic import write_csv, write_text
from serving.settings import Settings
from training.bundle import save_bundle
from training.dask_engine.engine import (
    DaskTrainResult,
    dask_client,
    history_hash,
    rejected_rows,
    train_dask,
    write_partition_reports,
)
from training.evaluate import EvaluationResult, evaluate_model, save_plots
from training.publish import publish_training_run
from training.registry.store import RunRecord, git_sha
from training.train import TrainConfig


def partitioned_history_name(customers: str) -> str:
    """A short name for a partitioned history: its folder (``…/<name>/customers``).

    As :func:`training.train.history_name` names a CSV history by its folder.
    """
    parts = [p for p in str(customers).rstrip("/").replace("\\", "/").split("/") if p]
    if len(parts) >= 2 and parts[-1].lower() in {"customers", "customers.parquet"}:
        return parts[-2]
    return parts[-1] if parts else "history"


@dataclass
class PartitionedTrainResult:
    """What ``capacity train --engine dask`` produced."""

    fit: DaskTrainResult
    evaluation: EvaluationResult
    bundle_dir: Path
    metrics: dict[str, float]
    run: RunRecord | None
    seconds: float
    rejects: dict[str, int]
    rejects_summary: Path


def train_partitioned(
    customers: str,
    equipment: str,
    out_dir: Path,
    config: TrainConfig,
    settings: Settings,
    scheduler: str | None = None,
    n_workers: int = 2,
    progress: Callable[[str], None] | None = None,
    client: Any = None,
    meter_readings: str | None = None,
) -> PartitionedTrainResult:
    """Train on a partitioned history with Dask, report on the holdout, write the bundle.

    Parameters
    ----------
    customers, equipment
        Folders (or fsspec URLs) of Parquet partitions paired by file name
        (:mod:`training.dask_engine.partitions`).
    scheduler
        Address of a running ``distributed`` scheduler; None starts a ``LocalCluster`` of
        ``n_workers`` processes.
    client
        An existing ``distributed.Client`` to use instead (tests).
    meter_readings
        Folder (or URL) of the existing customers' readings partitions, paired with the
        customers partitions by file name (None: a new-connections history).

    Raises
    ------
    ContractError, ValueError, OSError
        As :func:`training.train.train_from_files`.
    """
    note = progress or (lambda stage: None)
    t0 = time.perf_counter()
    started_ms = int(time.time() * 1000)
    out_dir = Path(out_dir)
    reports_dir = out_dir.parent / f"{out_dir.name}-reports"
    if client is None:
        with dask_client(scheduler, n_workers=n_workers) as own:
            fit = train_dask(
                own, customers, equipment, config.model, config.seed,
                config.holdout_fraction, note, meter_readings=meter_readings,
            )  # fmt: skip
    else:
        fit = train_dask(
            client, customers, equipment, config.model, config.seed,
            config.holdout_fraction, note, meter_readings=meter_readings,
        )  # fmt: skip
    summary = write_partition_reports(fit.reports, reports_dir / "rejects")
    note("evaluating on the holdout")
    hold = fit.holdout
    evaluation = evaluate_model(fit.model, hold.frames, hold.peak_kw, hold.status_quo_kva, None)
    seconds = time.perf_counter() - t0
    metrics = evaluation.metrics()
    metrics.update(
        {
            "train_seconds": seconds,
            "n_train": float(fit.n_train),
            "n_holdout": float(fit.n_holdout),
            "n_holdout_evaluated": float(fit.n_holdout_evaluated),
            "best_iteration": float(fit.model.best_iteration),
            "n_partitions": float(len(fit.reports)),
        }
    )
    data_hash = history_hash(customers, equipment, meter_readings)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    metadata: dict[str, Any] = {
        "model_version": f"local-{created}",
        "created": created,
        "seed": config.seed,
        "data_hash": data_hash,
        "git_sha": git_sha(),
        "n_train": fit.n_train,
        "n_holdout": fit.n_holdout,
        "engine": "dask",
        "train_config": config.model_dump(mode="json"),
    }
    bundle_dir = save_bundle(fit.model, out_dir, metadata, metrics)
    plot_paths: list[Path] = []
    if config.make_plots:
        note("plots")
        plot_paths = save_plots(evaluation, fit.model, reports_dir / "plots")
    write_csv(evaluation.per_industry, reports_dir / "per_industry.csv")
    write_csv(evaluation.overall, reports_dir / "overall.csv")
    write_text(reports_dir / "stage_seconds.json", json.dumps(fit.seconds, indent=1), "utf-8")
    run = None
    if config.log_to_mlflow:
        run = publish_training_run(
            settings,
            engine="dask",
            model=fit.model,
            config=config,
            evaluation=evaluation,
            metrics=metrics,
            bundle_dir=bundle_dir,
            hold=hold,
            train=None,  # the partitions never sit in one process
            customers=str(customers),
            equipment=str(equipment),
            history=partitioned_history_name(customers),
            data_hash=data_hash,
            created=created,
            n_train=fit.n_train,
            started_ms=started_ms,
            ended_ms=int(time.time() * 1000),
            plot_paths=plot_paths,
            extra_artifacts=[
                reports_dir / "per_industry.csv",
                reports_dir / "overall.csv",
                summary,
            ],
            note=note,
        )
        write_text(bundle_dir / "REGISTRY_VERSION", run.version, encoding="utf-8")
    write_text(reports_dir / "metrics.json", json.dumps(metrics, indent=1), encoding="utf-8")
    return PartitionedTrainResult(
        fit=fit,
        evaluation=evaluation,
        bundle_dir=bundle_dir,
        metrics=metrics,
        run=run,
        seconds=seconds,
        rejects=rejected_rows(fit.reports),
        rejects_summary=summary,
    )
