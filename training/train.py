"""Training pipeline: contract files → validated history → model → holdout evaluation → bundle → MLflow."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel
from serving.settings import Settings
from training.bundle import save_bundle
from training.data import LabelledHistory, file_hash, holdout_split, load_labelled, write_holdout
from training.evaluate import EvaluationResult, evaluate_model, save_plots
from training.model import fit_model
from training.registry import LoggedDataset, RunRecord, git_sha, log_training_run


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


def _description(
    history: str,
    customers: Path,
    config: TrainConfig,
    n_train: int,
    n_hold: int,
    metrics: dict[str, float],
) -> str:
    return (
        f"Trained on history **{history}** ({Path(customers).resolve().parent}): {n_train} "
        f"customers for training and calibration, {n_hold} held out (seed {config.seed}, "
        f"holdout share {config.holdout_fraction}). Served sizing accuracy on the holdout "
        f"{metrics.get('model_accuracy', float('nan')):.4f} (status quo "
        f"{metrics.get('status_quo_accuracy', float('nan')):.4f}, demand-coefficient method "
        f"{metrics.get('engineering_accuracy', float('nan')):.4f}); training took "
        f"{metrics.get('train_seconds', float('nan')):.1f} s. Artifacts: bundle/ (served by "
        "the service), model/ (the same bundle as an MLflow pyfunc), holdout/, plots/, "
        "reports/, monitor/ (the reference of `capacity monitor`)."
    )


def _datasets(
    train: LabelledHistory,
    hold: LabelledHistory,
    customers: Path,
    equipment: Path,
    history: str,
) -> list[LoggedDataset]:
    cs, es = str(customers.resolve()), str(equipment.resolve())
    return [
        LoggedDataset(train.frames.customers, f"{history}-customers-train", cs, "training",
                      "peak_demand_kw"),
        LoggedDataset(train.frames.equipment, f"{history}-equipment-train", es, "training"),
        LoggedDataset(hold.frames.customers, f"{history}-customers-holdout", cs, "holdout",
                      "peak_demand_kw"),
        LoggedDataset(hold.frames.equipment, f"{history}-equipment-holdout", es, "holdout"),
    ]  # fmt: skip


def _pyfunc(bundle_dir: Path, hold: LabelledHistory, dst: Path) -> Path:
    from training.mlflow_model import frame_from_applications, save_pyfunc
    from training.pilot_sim import applications_from_frames

    head = hold.frames.customers.head(5)
    eq = hold.frames.equipment
    apps, _, _ = applications_from_frames(
        head, eq[eq["customer_id"].isin(set(head["customer_id"]))]
    )
    return save_pyfunc(bundle_dir, dst, frame_from_applications(apps))


def _profile(
    model: CapacityModel, train: LabelledHistory, hold: LabelledHistory, history: str
) -> dict[str, Any]:
    from serving.core import Recommender
    from training.monitor_profile import training_profile

    answers = Recommender(model, "reference").score_frames(
        hold.frames.customers, hold.frames.equipment
    )
    return training_profile(
        train.frames.customers,
        train.frames.equipment,
        hold.frames.customers,
        hold.frames.equipment,
        answers,
        f"training split of history {history} ({len(train)} customers)",
    )


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
    evaluation.per_industry.to_csv(reports_dir / "per_industry.csv")
    evaluation.overall.to_csv(reports_dir / "overall.csv")
    per_type_csv = reports_dir / "per_application_type.csv"
    if evaluation.per_application_type is not None:
        evaluation.per_application_type.to_csv(per_type_csv)
    run = None
    if config.log_to_mlflow:
        note("logging to MLflow")
        ended_ms = int(time.time() * 1000)
        history = history_name(Path(customers))
        with tempfile.TemporaryDirectory() as tmp:
            hold_dir = write_holdout(hold, Path(tmp) / "holdout")
            pyfunc_dir = _pyfunc(bundle_dir, hold, Path(tmp) / "pyfunc")
            run = log_training_run(
                settings,
                config=config.model_dump(mode="json"),
                seed=config.seed,
                data_hash=data_hash,
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
                metrics=metrics,
                bundle_dir=bundle_dir,
                plot_paths=plot_paths,
                holdout_dir=hold_dir,
                extra_artifacts=[
                    reports_dir / "per_industry.csv",
                    reports_dir / "overall.csv",
                    *([per_type_csv] if per_type_csv.is_file() else []),
                    *sorted((reports_dir / "rejects").glob("*")),
                ],
                tags={
                    "area_only_history": "true" if area_only else "false",
                    "history": history,
                    "config": json.dumps(config.model_dump(mode="json"), sort_keys=True)[:5000],
                    **({"history_warning": AREA_ONLY_NOTE} if area_only else {}),
                },
                run_name=f"train {created[:10]} history={history} n={len(data)}",
                description=_description(
                    history, customers, config, len(train), len(hold), metrics
                ),
                started_ms=started_ms,
                ended_ms=ended_ms,
                datasets=_datasets(train, hold, Path(customers), Path(equipment), history),
                pyfunc_dir=pyfunc_dir,
                monitor_profile=_profile(model, train, hold, history),
            )
        # The registry version becomes the bundle's model version (kept in a side file so
        # the bundle's checksummed files stay as they were logged).
        (bundle_dir / "REGISTRY_VERSION").write_text(run.version, encoding="utf-8")
    (reports_dir / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
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
