"""One way to publish a training run to MLflow, for every engine (local and Dask).

Issue 24 / 22: a Dask-trained version had a random run name, no datasets, no description,
no monitor profile and no pyfunc model (``mlflow.pyfunc.load_model`` failed), so it was a
second-class version. Both engines now call :func:`publish_training_run`, which logs the
same things the same way; a Dask run differs only by its ``engine`` tag (and by the
training datasets being described by their source and digest instead of an in-memory
frame: the partitions never sit in one process).

What a run carries: params (config, seed, data files), metrics (evaluation on the
contract's yardstick, with accuracy and undersized share per industry), datasets
(training and holdout), a description, the bundle, the bundle as a pyfunc model with
signature and a portable environment, the holdout, plots, reports and the monitor's
reference profile.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from serving.model.predictor import CapacityModel
from serving.settings import Settings
from training.data import LabelledHistory, write_holdout
from training.evaluate import EvaluationResult
from training.registry.store import LoggedDataset, RunRecord, log_training_run

ENGINES = ("local", "dask")


def run_name(created: str, history: str, n_customers: int) -> str:
    """The run's name in the MLflow runs table (same form for every engine)."""
    return f"train {created[:10]} history={history} n={n_customers}"


def description(
    history: str,
    source: str,
    config: BaseModel,
    n_train: int,
    n_hold: int,
    metrics: dict[str, float],
    engine: str = "local",
) -> str:
    """The run's description (``mlflow.note.content``)."""
    seed = getattr(config, "seed", "?")
    share = getattr(config, "holdout_fraction", "?")
    on = "" if engine == "local" else f" with the {engine} engine"
    return (
        f"Trained{on} on history **{history}** ({source}): {n_train} customers for training "
        f"and calibration, {n_hold} held out (seed {seed}, holdout share {share}). Served "
        f"sizing accuracy on the holdout (contract definition) "
        f"{metrics.get('model_accuracy', float('nan')):.4f} (status quo "
        f"{metrics.get('status_quo_accuracy', float('nan')):.4f}, demand-coefficient method "
        f"{metrics.get('engineering_accuracy', float('nan')):.4f}); training took "
        f"{metrics.get('train_seconds', float('nan')):.1f} s. Artifacts: bundle/ (served by "
        "the service), model/ (the same bundle as an MLflow pyfunc), holdout/, plots/, "
        "reports/, monitor/ (the reference of `capacity monitor`)."
    )


_METRIC_KEY = re.compile(r"[^0-9A-Za-z_\-. /]")


def per_industry_metrics(evaluation: EvaluationResult) -> dict[str, float]:
    """Accuracy, undersized and oversized share of the served answers per industry."""
    out: dict[str, float] = {}
    per = evaluation.per_industry
    for industry, row in per.iterrows():
        key = _METRIC_KEY.sub("_", str(industry))
        for col, name in (
            ("model_accuracy", "accuracy"),
            ("model_undersized", "undersized"),
            ("model_oversized", "oversized"),
        ):
            if col in per.columns:
                out[f"{name}.{key}"] = float(row[col])
        out[f"n.{key}"] = float(row["n"])
    return out


def datasets(
    train: LabelledHistory | None,
    hold: LabelledHistory,
    customers: str,
    equipment: str,
    history: str,
    digest: str,
) -> list[LoggedDataset]:
    """Training and holdout data sets.

    The training split is described by its source and digest when its frames are not in
    this process (Dask).
    """
    out = []
    if train is not None:
        out += [
            LoggedDataset(train.frames.customers, f"{history}-customers-train", customers,
                          "training", "peak_demand_kw"),
            LoggedDataset(train.frames.equipment, f"{history}-equipment-train", equipment,
                          "training"),
        ]  # fmt: skip
    else:
        out += [
            LoggedDataset(None, f"{history}-customers-train", customers, "training",
                          "peak_demand_kw", digest=digest[:36],
                          schema_like=hold.frames.customers),
            LoggedDataset(None, f"{history}-equipment-train", equipment, "training",
                          digest=digest[:36], schema_like=hold.frames.equipment),
        ]  # fmt: skip
    out += [
        LoggedDataset(hold.frames.customers, f"{history}-customers-holdout", customers,
                      "holdout", "peak_demand_kw"),
        LoggedDataset(hold.frames.equipment, f"{history}-equipment-holdout", equipment,
                      "holdout"),
    ]  # fmt: skip
    return out


def pyfunc_model(bundle_dir: Path, hold: LabelledHistory, dst: Path) -> Path:
    """The bundle as an MLflow pyfunc model, its input example five holdout applications.

    Existing customers among them keep their type, capacity and readings (the holdout's).
    """
    from training.mlflow_model import frame_from_applications, save_pyfunc
    from training.pilot.simulate import applications_from_frames

    head = hold.frames.customers.head(5)
    eq = hold.frames.equipment
    readings = hold.meter_readings
    ids = set(head["customer_id"])
    apps, _, _ = applications_from_frames(
        head,
        eq[eq["customer_id"].isin(ids)],
        None if readings is None else readings[readings["customer_id"].isin(ids)],
    )
    return save_pyfunc(bundle_dir, dst, frame_from_applications(apps))


def monitor_profile(
    model: CapacityModel, train: LabelledHistory | None, hold: LabelledHistory, history: str
) -> dict[str, Any]:
    """The monitor's reference: inputs of the training split, answers on the holdout.

    When the split is not in this process (Dask) the inputs are the holdout's: a random
    share of the same history.
    """
    from serving.core import Recommender
    from training.registry.monitor_profile import training_profile

    answers = Recommender(model, "reference").score_frames(
        hold.frames.customers, hold.frames.equipment
    )
    inputs = train if train is not None else hold
    what = "training split" if train is not None else "holdout (a random share)"
    return training_profile(
        inputs.frames.customers,
        inputs.frames.equipment,
        hold.frames.customers,
        hold.frames.equipment,
        answers,
        f"{what} of history {history} ({len(inputs)} customers)",
    )


def _area_only(train: LabelledHistory | None, hold: LabelledHistory) -> bool:
    """No equipment line at all in the history.

    The holdout stands for the history when the split is not in this process.
    """
    return bool((train if train is not None else hold).frames.equipment.empty)


def publish_training_run(
    settings: Settings,
    *,
    engine: str,
    model: CapacityModel,
    config: BaseModel,
    evaluation: EvaluationResult,
    metrics: dict[str, float],
    bundle_dir: Path,
    hold: LabelledHistory,
    train: LabelledHistory | None,
    customers: str,
    equipment: str,
    history: str,
    data_hash: str,
    created: str,
    n_train: int,
    started_ms: int | None,
    ended_ms: int | None,
    plot_paths: list[Path] | None = None,
    extra_artifacts: list[Path] | None = None,
    data_files: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    note: Callable[[str], None] | None = None,
) -> RunRecord:
    """Log one training run and register its model, the same way for every engine.

    Parameters
    ----------
    engine
        ``local`` or ``dask``: the run's ``engine`` tag (the only difference in MLflow).
    train
        The training split in memory, or None (Dask: its data sets are then described by
        source and digest, and the monitor's input reference is the holdout's).
    metrics
        The run's metrics; per-industry accuracy and undersized shares are added.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; received {engine!r}")
    (note or (lambda stage: None))("logging to MLflow")
    logged = {**metrics, **per_industry_metrics(evaluation)}
    logged.setdefault("area_only_history", 1.0 if _area_only(train, hold) else 0.0)
    profile = monitor_profile(model, train, hold, history)
    profile["documented_accuracy"] = metrics.get("model_accuracy")
    with tempfile.TemporaryDirectory() as tmp:
        hold_dir = write_holdout(hold, Path(tmp) / "holdout")
        pyfunc_dir = pyfunc_model(bundle_dir, hold, Path(tmp) / "pyfunc")
        return log_training_run(
            settings,
            config=config.model_dump(mode="json"),
            seed=int(getattr(config, "seed", 0)),
            data_hash=data_hash,
            data_files=data_files or {"customers": customers, "equipment": equipment},
            metrics=logged,
            bundle_dir=bundle_dir,
            plot_paths=plot_paths or [],
            holdout_dir=hold_dir,
            extra_artifacts=extra_artifacts,
            tags={
                "engine": engine,
                "area_only_history": "true" if _area_only(train, hold) else "false",
                "history": history,
                "config": json.dumps(config.model_dump(mode="json"), sort_keys=True)[:5000],
                **(tags or {}),
            },
            run_name=run_name(created, history, n_train + len(hold)),
            description=description(
                history,
                str(Path(customers).parent if engine == "local" else customers),
                config,
                n_train,
                len(hold),
                metrics,
                engine,
            ),  # fmt: skip
            started_ms=started_ms,
            ended_ms=ended_ms,
            datasets=datasets(train, hold, customers, equipment, history, data_hash),
            pyfunc_dir=pyfunc_dir,
            monitor_profile=profile,
        )
