"""Training pipeline: contract files → validated history → model → holdout evaluation → bundle → MLflow."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from features.atomic import write_csv, write_text
from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel
from serving.settings import Settings
from training.bundle import save_bundle
from training.data import file_hash, holdout_split, load_labelled
from training.evaluate import EvaluationResult, evaluate_model, save_plots
from training.model import fit_model
from training.publish import publish_training_run
from training.registry.store import RunRecord, git_sha


class TrainConfig(BaseModel):
    """A training run: seed, holdout share and the model configuration."""

    model_config = ConfigDict(frozen=True)

    seed: int = 42
    holdout_fraction: float = Field(0.2, gt=0, lt=0.9)
    model: ModelConfig = Field(default_factory=ModelConfig)
    log_to_mlflow: bool = True
    make_plots: bool = True


@dataclass
class TrainResult:
    """What a training run produced."""

    model: CapacityModel
    evaluation: EvaluationResult
    bundle_dir: Path
    metrics: dict[str, float]
    run: RunRecord | None
    seconds: float
    n_train: int
    n_holdout: int
    rejects: dict[str, int]
    n_dropped_incomplete: int = 0
    """Customers rejected because some of their equipment lines were rejected."""
    area_only: bool = False
    """The validated history has no equipment lines at all: the model is area-only."""
    notes: tuple[str, ...] = ()
    """Plain-language warnings for the summary (area-only history, dropped customers, oracle)."""


AREA_ONLY_NOTE = (
    "the history has no equipment lines at all: the model is area-only (it recommends from "
    "industry and scale alone, never from an equipment list)"
)


def history_name(customers: Path) -> str:
    """A short name for the history: the folder of ``customers.csv``, else the file's stem."""
    path = Path(customers).resolve()
    return path.parent.name if path.stem.lower() == "customers" else path.stem


def train_from_files(
    customers: Path,
    equipment: Path,
    out_dir: Path,
    config: TrainConfig,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
    oracle: Path | None = None,
    meter_readings: Path | None = None,
) -> TrainResult:
    """Train on any contract history, hold out a test split, report on it and register.

    Parameters
    ----------
    customers, equipment
        Contract files (CSV or Parquet). Rows failing the contract are rejected and
        reported in ``out_dir/rejects``; they never reach the model.
    out_dir
        Where the model bundle is written (plots and the rejects report beside it).
    config
        Seed, holdout share and model configuration.
    settings
        Tracking URI and registry names.
    progress
        Optional callable receiving stage names.
    oracle
        An explicit oracle file (``customer_id, oracle_peak_kw``) for the oracle baseline;
        none is picked up implicitly.
    meter_readings
        The existing customers' ``meter_readings.csv`` (optional; the contract's third file).

    Raises
    ------
    ValueError
        Too few valid customers, or a malformed oracle file.
    """
    note = progress or (lambda stage: None)
    t0 = time.perf_counter()
    started_ms = int(time.time() * 1000)
    note("loading and validating")
    data, validated = load_labelled(
        customers, equipment, oracle=oracle, meter_readings=meter_readings
    )
    out_dir = Path(out_dir)
    reports_dir = out_dir.parent / f"{out_dir.name}-reports"
    validated.write_report(reports_dir / "rejects")
    if len(data) < 250:
        dropped = validated.incomplete_customers()
        because = (
            f" ({dropped} rejected because some of their equipment lines were rejected)"
            if dropped
            else ""
        )
        raise ValueError(
            f"only {len(data)} valid labelled customers after validation{because}; training "
            f"needs at least 250 (see {reports_dir / 'rejects'})"
        )
    train_idx, hold_idx = holdout_split(len(data), config.holdout_fraction, config.seed)
    train, hold = data.subset(train_idx), data.subset(hold_idx)
    model = fit_model(train.frames, train.peak_kw, config.model, config.seed, note)
    note("evaluating on the holdout")
    evaluation = evaluate_model(
        model, hold.frames, hold.peak_kw, hold.status_quo_kva, hold.oracle_kw
    )
    metrics = evaluation.metrics()
    seconds = time.perf_counter() - t0
    metrics["train_seconds"] = seconds
    metrics["n_train"] = float(len(train))
    metrics["best_iteration"] = float(model.best_iteration)
    n_dropped = validated.incomplete_customers()
    area_only = len(data.frames.equipment) == 0 and data.meter_readings is None
    metrics["n_dropped_incomplete"] = float(n_dropped)
    metrics["area_only_history"] = 1.0 if area_only else 0.0
    notes: list[str] = []
    if area_only:
        notes.append(AREA_ONLY_NOTE)
    if data.oracle is not None and data.oracle.not_in_history:
        notes.append(data.oracle.describe())
    if n_dropped:
        notes.append(
            f"{n_dropped} customers left out: some of their equipment lines were rejected, so "
            f"their equipment lists would be incomplete (see {reports_dir / 'rejects'})"
        )
    data_hash = file_hash(customers, equipment, *([meter_readings] if meter_readings else []))
    created = datetime.now(UTC).isoformat(timespec="seconds")
    metadata: dict[str, Any] = {
        "model_version": f"local-{created}",
        "created": created,
        "seed": config.seed,
        "data_hash": data_hash,
        "git_sha": git_sha(),
        "n_train": len(train),
        "n_holdout": len(hold),
        "train_config": config.model_dump(mode="json"),
    }
    bundle_dir = save_bundle(model, out_dir, metadata, metrics)
    files = ("customers", "equipment") + (
        ("meter_readings",) if "meter_readings" in validated.rows_read else ()
    )
    rejects = {f: validated.rejected_rows(f) for f in files}
    plot_paths: list[Path] = []
    if config.make_plots:
        note("plots")
        plot_paths = save_plots(evaluation, model, reports_dir / "plots")
    write_csv(evaluation.per_industry, reports_dir / "per_industry.csv")
    write_csv(evaluation.overall, reports_dir / "overall.csv")
    per_type_csv = reports_dir / "per_application_type.csv"
    if evaluation.per_application_type is not None:
        write_csv(evaluation.per_application_type, per_type_csv)
    run = None
    if config.log_to_mlflow:
        history = history_name(Path(customers))
        run = publish_training_run(
            settings,
            engine="local",
            model=model,
            config=config,
            evaluation=evaluation,
            metrics=metrics,
            bundle_dir=bundle_dir,
            hold=hold,
            train=train,
            customers=str(Path(customers).resolve()),
            equipment=str(Path(equipment).resolve()),
            history=history,
            data_hash=data_hash,
            created=created,
            n_train=len(train),
            started_ms=started_ms,
            ended_ms=int(time.time() * 1000),
            plot_paths=plot_paths,
            extra_artifacts=[
                reports_dir / "per_industry.csv",
                reports_dir / "overall.csv",
                *([per_type_csv] if per_type_csv.is_file() else []),
                *sorted((reports_dir / "rejects").glob("*")),
            ],
            data_files={
                "customers": str(Path(customers).resolve()),
                "equipment": str(Path(equipment).resolve()),
                **({"oracle": str(Path(oracle).resolve())} if oracle is not None else {}),
                **(
                    {"meter_readings": str(Path(meter_readings).resolve())}
                    if meter_readings is not None
                    else {}
                ),
            },
            tags={"history_warning": AREA_ONLY_NOTE} if area_only else None,
            note=note,
        )
        # The registry version becomes the bundle's model version (kept in a side file so
        # the bundle's checksummed files stay as they were logged).
        write_text(bundle_dir / "REGISTRY_VERSION", run.version, encoding="utf-8")
    write_text(reports_dir / "metrics.json", json.dumps(metrics, indent=1), encoding="utf-8")
    return TrainResult(
        model=model,
        evaluation=evaluation,
        bundle_dir=bundle_dir,
        metrics=metrics,
        run=run,
        seconds=seconds,
        n_train=len(train),
        n_holdout=len(hold),
        rejects=rejects,
        n_dropped_incomplete=n_dropped,
        area_only=area_only,
        notes=tuple(notes),
    )
