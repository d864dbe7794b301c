"""The Dask engine: train and batch-score partitioned histories on a ``distributed`` cluster.

Same code paths as the single-process engine, run per partition: validation is
:func:`features.validation.validate_frames`, features are :class:`features.build.FeatureBuilder`,
answers are :meth:`serving.core.Recommender.score_frames` (hence
:func:`serving.model.decision.decide`). What differs is only where things run.

What runs where (``docs/dask_engine.md`` has the reasoning and the measured sizes):

distributed, per partition (on the workers; the data stays there)
    reading, validation, the label statistics of the feature builder, features, the
    target, predictions for calibration and bounds, the holdout answers, batch scoring.
distributed across workers
    boosting: ``lightgbm.dask.DaskLGBMRegressor`` (data-parallel; every worker builds the
    same trees from summed histograms).
gathered to the client (small aggregates, one row or a few numbers per customer)
    the demand-factor fit (NNLS) and fallbacks (industry, kW per category, area estimate:
    :meth:`FeatureBuilder.fit_labels`), the conformal residuals of the calibration split,
    the ratios for the sanity bounds, the peer quantiles, the fitted-customer hashes, the
    early-stopping split (its features are broadcast to every worker, see
    :class:`GlobalEarlyStopping`) and a sample of the holdout for the evaluation report.

Existing customers (a third folder of readings partitions, paired by name): each
partition validates its readings with its customers and puts their summary on the
customers frame, as from CSV files; the count of metered fitting customers decides the
metered path (as ``FeatureBuilder.fit`` counts them in one process), and the metered
part's fit travels in the gathered label statistics.

The splits are those of the single-process engine: positions in the concatenation of the
partitions (in name order) are split by :func:`training.data.holdout_split` and
:func:`training.model.split_indices`, so the same history partitioned or in one file gives
the same holdout, calibration, early-stopping and fitting customers.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.build import HistoryFrames, LabelStatistics
from features.metered import MeterInputs
from features.validation import ContractError, ValidatedHistory, validate_frames
from serving.model.calibration import ResidualCalibrator, conformal_group
from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel
from training.dask_engine.partitions import Partition, discover_partitions, read_parquet

HOLD, CAL, VAL, FIT = 0, 1, 2, 3
"""Role of each customer in a training run (holdout, calibration, early stopping, fitting)."""

DEFAULT_WORKERS = 2
MAX_EVALUATION_ROWS = 250_000
"""Holdout customers gathered for the evaluation report (a seeded sample beyond this)."""


# --------------------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None,
    n_workers: int = DEFAULT_WORKERS,
    threads_per_worker: int = 1,
    memory_limit: str | float = "auto",
) -> Iterator[Any]:
    """A ``distributed.Client`` of ``scheduler``, or of a fresh ``LocalCluster`` when None.

    The local cluster uses processes (the GIL would serialise pandas work in threads), one
    thread each (LightGBM and the feature code are single-threaded by configuration), and
    no dashboard (nothing listens beyond the cluster's own loopback ports).
    """
    import distributed

    # distributed has no type annotations: typed here as Any, used as documented.
    Client: Any = distributed.Client
    LocalCluster: Any = distributed.LocalCluster
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=memory_limit,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


# --------------------------------------------------------------------------------------
# per-partition work (runs on the workers)
# --------------------------------------------------------------------------------------


@dataclass
class PartitionReport:
    """What validation of one partition reports (no clean rows: those stay on the worker)."""

    name: str
    n_valid: int
    report: ValidatedHistory
    id_hashes: np.ndarray


def _report_only(validated: ValidatedHistory) -> ValidatedHistory:
    return ValidatedHistory(
        customers=validated.customers.iloc[:0],
        equipment=validated.equipment.iloc[:0],
        rejects=validated.rejects,
        flags=validated.flags,
        rows_read=validated.rows_read,
        blank_rows=validated.blank_rows,
        ignored_columns=validated.ignored_columns,
    )


def _id_hashes(customers: pd.DataFrame) -> np.ndarray:
    return np.asarray(
        pd.util.hash_array(customers["customer_id"].astype(str).to_numpy(dtype=object))
    )


def validate_partition(part: Partition, require_label: bool) -> ValidatedHistory:
    """Read and validate one partition through the contract's one validation path.

    With a readings file, the existing customers' readings are validated with it (a
    customer with broken readings is rejected whole, and reported, as from CSV files).
    """
    readings = None
    if part.meter_readings is not None:
        readings = read_parquet(part.meter_readings, "meter_readings")
    return validate_frames(
        read_parquet(part.customers, "customers"),
        read_parquet(part.equipment, "equipment"),
        require_label=require_label,
        sources=(part.customers, part.equipment),
        meter_readings_df=readings,
        meter_source=part.meter_readings or "(no meter_readings file)",
        # Applications to answer may say 其他 (not listed): the all-industry answer,
        # reviewed, as `capacity recommend` gives it; a history never does (no contract code).
        allow_not_listed=not require_label,
    )


def _partition_report(part: Partition, validated: ValidatedHistory) -> PartitionReport:
    return PartitionReport(
        part.name,
        len(validated.customers),
        _report_only(validated),
        _id_hashes(validated.customers),
    )


@dataclass
class _TrainPart:
    """One partition of a training run, kept on its worker."""

    frames: HistoryFrames
    peak: np.ndarray
    status_quo: np.ndarray
    role: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    X: pd.DataFrame | None = None
    engineering: pd.DataFrame | None = None
    target: np.ndarray | None = None
    evaluated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    lines: pd.DataFrame | None = None
    """One line per training customer and running category (see :func:`_running_kw_lines`)."""
    readings: pd.DataFrame | None = None
    """The existing customers' valid readings (their summary is on the customers frame);
    after the features, only those of the evaluated holdout customers (the holdout
    artifact carries them, so its existing customers can be scored again)."""
    """Holdout customers gathered for the evaluation report (their lines are kept)."""


def _load_train_part(part: Partition) -> tuple[_TrainPart, PartitionReport]:
    validated = validate_partition(part, require_label=True)
    customers = validated.customers.reset_index(drop=True)
    tp = _TrainPart(
        frames=HistoryFrames(customers, validated.equipment.reset_index(drop=True)),
        peak=customers["peak_demand_kw"].to_numpy(dtype=float),
        status_quo=customers["applied_capacity_kva"].to_numpy(dtype=float),
        readings=None if validated.meter_readings.empty else validated.meter_readings,
    )
    return tp, _partition_report(part, validated)


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def _set_roles(tp: _TrainPart, role: np.ndarray) -> _TrainPart:
    tp.role = role
    return tp


def _metered_rows(tp: _TrainPart) -> int:
    """Fitting customers (FIT and VAL rows) with a meter.

    ``FeatureBuilder.fit`` counts them to decide on the metered path; here the count is
    summed over the partitions.
    """
    rows = np.flatnonzero((tp.role == FIT) | (tp.role == VAL))
    return int(MeterInputs.from_customers(tp.frames.customers.iloc[rows]).has_meter.sum())


def _label_stats(tp: _TrainPart, builder: Any) -> tuple[LabelStatistics, np.ndarray]:
    rows = np.flatnonzero((tp.role == FIT) | (tp.role == VAL))
    return builder.label_statistics(tp.frames.take(rows)), tp.peak[rows]


def _build_features(tp: _TrainPart, builder: Any, evaluated: np.ndarray) -> _TrainPart:
    """Features of every customer; then the equipment lines are dropped but for ``evaluated``.

    The features are all that later steps read (predictions take them as given), except the
    holdout sample that is gathered for the evaluation report; dropping the other lines
    keeps a worker's memory at the features (the lines are about ten times larger).
    """
    X, engineering = builder.transform_with_engineering(tp.frames)
    tp.X, tp.engineering = X, engineering[["eng_s30_comp_kva"]]
    tp.lines = _running_kw_lines(tp.frames, tp.role != HOLD)
    tp.target = np.log(tp.peak) - np.log(builder.base_kw(X))
    tp.evaluated = evaluated
    kept = tp.frames.customers["customer_id"].to_numpy()[evaluated]
    equipment = tp.frames.equipment
    tp.frames = HistoryFrames(
        tp.frames.customers,
        equipment[equipment["customer_id"].isin(set(kept))].reset_index(drop=True),
    )
    if tp.readings is not None:
        tp.readings = tp.readings[tp.readings["customer_id"].isin(set(kept))].reset_index(drop=True)
    return tp


def _rows_matrix(tp: _TrainPart, builder: Any, role: int) -> np.ndarray:
    assert tp.X is not None
    rows = np.flatnonzero(tp.role == role)
    return np.asarray(builder.matrix(tp.X.iloc[rows]))


def _rows_target(tp: _TrainPart, role: int) -> np.ndarray:
    assert tp.target is not None
    return np.asarray(tp.target[tp.role == role])


def _calibration_rows(
    tp: _TrainPart, builder: Any, booster: Any, best: int, num_threads: int
) -> dict[str, np.ndarray]:
    """The calibration customers' out-of-sample E[log peak], with and without their lists.

    Through :class:`training.model._Core`, the object ``fit_model`` predicts them with.
    """
    from training.model import _Core

    assert tp.X is not None and tp.engineering is not None
    rows = np.flatnonzero(tp.role == CAL)
    core = _Core(builder, booster, best, tp.X, tp.engineering, builder.base_kw(tp.X), num_threads)
    X = tp.X.iloc[rows]
    return {
        "mu": core.mu(rows),
        "area_mu": core.area_only_mu(tp.frames, rows),
        "peak": tp.peak[rows],
        "industry": X["industry"].astype(str).to_numpy(),
        "has_equipment": X["has_equipment"].to_numpy(),
        "has_meter": (
            X["has_meter"].to_numpy(dtype=float) if "has_meter" in X else np.zeros(len(rows))
        ),
    }


def _train_aggregates(tp: _TrainPart, builder: Any) -> dict[str, np.ndarray]:
    """Per training customer (role != HOLD), in partition order: what peers and bounds need."""
    from training.data import customer_keys

    assert tp.X is not None and tp.engineering is not None
    rows = np.flatnonzero(tp.role != HOLD)
    X = tp.X.iloc[rows]
    return {
        "peak": tp.peak[rows],
        "industry": X["industry"].astype(str).to_numpy(),
        "base_kw": X["base_kw"].to_numpy(dtype=float),
        "has_equipment": X["has_equipment"].to_numpy(dtype=float),
        # Present when the builder takes the metered path (the bounds' basis "meter").
        **({"has_meter": X["has_meter"].to_numpy(dtype=float)} if "has_meter" in X else {}),
        "total_kw": X["total_kw"].to_numpy(dtype=float),
        "largest_kw": X["largest_unit_kw"].to_numpy(dtype=float),
        "floor_area_m2": X["floor_area_m2"].to_numpy(dtype=float),
        "s30": tp.engineering["eng_s30_comp_kva"].to_numpy(dtype=float)[rows],
        "is_cal": tp.role[rows] == CAL,
        "keys": customer_keys(tp.frames.customers.iloc[rows], tp.peak[rows]),
    }


def _running_kw_lines(frames: HistoryFrames, rows: np.ndarray) -> pd.DataFrame:
    """The running kW per (customer, category) of the customers at ``rows``, as lines.

    Summed as :func:`training.completeness.build_completeness` sums them (same pandas
    operations on the same rows), so that function gives the same figures from these
    one-line-per-category equipment frames, gathered from every partition, as from the
    whole history's lines.
    """
    from features.build import EXCLUDED_CATEGORIES

    ids = set(frames.customers["customer_id"].astype(str).to_numpy()[rows])
    eq = frames.equipment
    eq = eq[eq["customer_id"].astype(str).isin(ids)]
    running = eq[~eq["standby"].astype(bool) & ~eq["category"].isin(EXCLUDED_CATEGORIES)]
    kw = (running["rated_kw"].astype(float) * running["quantity"].astype(float)).rename("kw")
    per_cat = (
        pd.concat([running[["customer_id", "category"]].astype(str), kw], axis=1)
        .groupby(["customer_id", "category"], as_index=False)["kw"]
        .sum()
    )
    return pd.DataFrame(
        {
            "customer_id": per_cat["customer_id"],
            "category": per_cat["category"],
            "rated_kw": per_cat["kw"],
            "quantity": 1.0,
            "standby": False,
        }
    )


def _completeness_part(tp: _TrainPart) -> tuple[pd.DataFrame, pd.DataFrame]:
    assert tp.lines is not None
    rows = np.flatnonzero(tp.role != HOLD)
    return tp.frames.customers.iloc[rows][["customer_id", "industry"]], tp.lines


def _holdout_rows(
    tp: _TrainPart,
) -> tuple[HistoryFrames, np.ndarray, np.ndarray, pd.DataFrame | None]:
    rows = np.flatnonzero(tp.evaluated)
    return tp.frames.take(rows), tp.peak[rows], tp.status_quo[rows], tp.readings


# --------------------------------------------------------------------------------------
# distributed early stopping
# --------------------------------------------------------------------------------------


_VALIDATION: dict[str, tuple[np.ndarray, np.ndarray]] = {}
"""Per worker process: the early-stopping split of the running fits, by run id."""


def _stash_validation(run_id: str, X: np.ndarray, y: np.ndarray) -> None:
    _VALIDATION[run_id] = (X, y)


def _drop_validation(run_id: str) -> None:
    _VALIDATION.pop(run_id, None)


class GlobalEarlyStopping:
    """Adds the WHOLE early-stopping split to every worker's booster before the first round.

    ``lightgbm.dask`` does not support early stopping: each worker would evaluate only its
    own share of the validation rows, so the workers could stop at different rounds and
    the collective hangs (LightGBM issues #3712, #4189, #6351). In data-parallel training
    every worker holds the same trees, so with the same validation rows on every worker
    every worker computes the same l2 in every round and ``lightgbm.early_stopping`` stops
    all of them at the same round: the single-process rule on the same split.

    The rows are put on every worker with ``client.run`` (:func:`_stash_validation`)
    rather than as broadcast futures: the scheduler's active memory manager drops
    replicas that no task depends on, and a LightGBM callback is no task.
    """

    order = 5
    before_iteration = True

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def __call__(self, env: Any) -> None:
        """Before the first round only: add the split as validation set ``validation``."""
        if env.iteration != env.begin_iteration:
            return
        import lightgbm as lgb

        X, y = _VALIDATION[self.run_id]
        valid = lgb.Dataset(X, label=y, reference=env.model.train_set)
        env.model.add_valid(valid, "validation")


# --------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------


@dataclass
class DaskTrainResult:
    """What a Dask training run produced (the bundle is written by the caller)."""

    model: CapacityModel
    holdout: Any
    """:class:`training.data.LabelledHistory` of the (sampled) holdout, gathered."""
    n_train: int
    n_holdout: int
    n_holdout_evaluated: int
    reports: list[PartitionReport]
    seconds: dict[str, float]


def _roles_by_partition(
    counts: list[int], holdout_fraction: float, config: ModelConfig, seed: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per partition: each customer's role, and each fitting customer's rank in the fit.

    The rank is the row's position in the single-process engine's fitting rows (a
    permutation, :func:`training.model.split_indices`), used to feed one worker its rows in
    that order.
    """
    from training.data import holdout_split

    n = int(sum(counts))
    train_idx, hold_idx = holdout_split(n, holdout_fraction, seed)
    n_train = len(train_idx)
    if n_train < config.cross_fit_below:
        raise ValueError(
            f"the Dask engine needs at least {config.cross_fit_below} training customers "
            f"(received {n_train}): smaller histories are calibrated by cross-fitting, "
            "which the single-process engine does (--engine single)"
        )
    # training.model.fit_model's split (the branch from cross_fit_below customers on).
    order = np.random.default_rng(seed).permutation(n_train)
    n_cal = int(round(n_train * config.calib_fraction))
    n_val = int(round(n_train * config.valid_fraction))
    cal, val, fit = order[:n_cal], order[n_cal : n_cal + n_val], order[n_cal + n_val :]
    role = np.full(n, HOLD, dtype=np.int8)
    role[train_idx[cal]] = CAL
    role[train_idx[val]] = VAL
    role[train_idx[fit]] = FIT
    rank = np.full(n, -1, dtype=np.int64)
    rank[train_idx[fit]] = np.arange(len(fit))
    bounds = np.cumsum([0, *counts])
    pieces = range(len(counts))
    return (
        [role[bounds[k] : bounds[k + 1]] for k in pieces],
        [rank[bounds[k] : bounds[k + 1]][role[bounds[k] : bounds[k + 1]] == FIT] for k in pieces],
    )


def _in_rank_order(
    *parts: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (matrix, target, rank) parts and order the rows by rank."""
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    order = np.argsort(np.concatenate([p[2] for p in parts]), kind="stable")
    return X[order], y[order]


def _fit_rows(
    tp: _TrainPart, builder: Any, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _rows_matrix(tp, builder, FIT), _rows_target(tp, FIT), rank


def check_unique_ids(reports: list[PartitionReport]) -> None:
    """Customer ids must be unique across partitions (within one, validation rejects repeats).

    Raises
    ------
    ContractError
        Naming the partitions that share ids: the history is not partitioned by customer.
    """
    hashes = np.concatenate([r.id_hashes for r in reports]) if reports else np.zeros(0)
    owner = np.repeat(np.arange(len(reports)), [len(r.id_hashes) for r in reports])
    uniq, first, counts = np.unique(hashes, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = np.isin(hashes, uniq[counts > 1])
        names = sorted({reports[k].name for k in owner[dup]})
        raise ContractError(
            f"{int((counts > 1).sum())} customer ids appear in more than one partition "
            f"(partitions {', '.join(names[:6])}); a partitioned history must keep each "
            "customer, with its equipment lines, in one partition"
        )


def train_dask(
    client: Any,
    customers: str | Path,
    equipment: str | Path,
    config: ModelConfig,
    seed: int,
    holdout_fraction: float,
    progress: Callable[[str], None] | None = None,
    max_evaluation_rows: int = MAX_EVALUATION_ROWS,
    meter_readings: str | Path | None = None,
) -> DaskTrainResult:
    """Fit the capacity model on a partitioned history with the cluster of ``client``.

    Mirrors :func:`training.model.fit_model` step by step (see the module docstring for
    what is distributed and what is gathered). ``meter_readings`` is the folder of the
    existing customers' readings partitions (:func:`discover_partitions`).

    Raises
    ------
    ContractError
        Unpaired partitions, ids shared across partitions, unreadable files.
    ValueError
        Too few valid customers.
    """
    import lightgbm as lgb
    from lightgbm.dask import DaskLGBMRegressor

    from serving.model.policy import recommend_capacity
    from training.completeness import build_completeness
    from training.data import LabelledHistory
    from training.model import (
        _fit_bounds_within_clamp_share,
        equipment_list_gain,
        feature_builder,
        lgb_params,
    )
    from training.peers import build_peer_stats

    note = progress or (lambda stage: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        seconds[stage] = round(now - t0, 3)
        t0 = now

    note("reading and validating partitions")
    parts = discover_partitions(customers, equipment, meter_readings)
    loaded = [client.submit(_load_train_part, p, pure=False) for p in parts]
    tps = [client.submit(_first, f) for f in loaded]
    reports: list[PartitionReport] = client.gather([client.submit(_second, f) for f in loaded])
    del loaded
    check_unique_ids(reports)
    counts = [r.n_valid for r in reports]
    n = int(sum(counts))
    if n < 250:
        raise ValueError(
            f"only {n} valid labelled customers after validation; training needs at least 250"
        )
    roles, ranks = _roles_by_partition(counts, holdout_fraction, config, seed)
    tps = [client.submit(_set_roles, tp, r) for tp, r in zip(tps, roles, strict=True)]
    lap("validate")

    note("features")
    builder = feature_builder(config)
    # The label-free part of fit (catalog, feature list); then the label part on the
    # gathered statistics of the fitting and early-stopping customers (as fit_model does).
    empty = HistoryFrames(
        pd.DataFrame({"customer_id": pd.Series([], dtype=str), "industry": []}),
        pd.DataFrame(columns=["customer_id", "category", "rated_kw", "quantity", "standby"]),
    )
    metered = int(sum(client.gather([client.submit(_metered_rows, tp) for tp in tps])))
    builder.fit(empty, metered_rows=metered)
    stats = client.gather([client.submit(_label_stats, tp, builder) for tp in tps])
    builder.fit_labels(
        LabelStatistics.concat([s for s, _ in stats]), np.concatenate([y for _, y in stats])
    )
    del stats
    # The holdout sample of the evaluation report, chosen now so that the workers can drop
    # every other customer's equipment lines once the features are built.
    hold_counts = [int((r == HOLD).sum()) for r in roles]
    n_hold = int(sum(hold_counts))
    rng = np.random.default_rng(seed + 104729)
    chosen = np.sort(rng.choice(n_hold, size=min(n_hold, max_evaluation_rows), replace=False))
    offsets = np.cumsum([0, *hold_counts])
    evaluated = []
    for k, r in enumerate(roles):
        mask = np.zeros(len(r), dtype=bool)
        local = chosen[(chosen >= offsets[k]) & (chosen < offsets[k + 1])] - offsets[k]
        mask[np.flatnonzero(r == HOLD)[local]] = True
        evaluated.append(mask)
    tps = [
        client.submit(_build_features, tp, builder, ev)
        for tp, ev in zip(tps, evaluated, strict=True)
    ]
    client.gather([client.submit(len, client.submit(_rows_target, tp, FIT)) for tp in tps])
    lap("features")

    note("boosting")
    import dask.array

    da: Any = dask.array  # untyped library, used as documented

    n_feat = len(builder.feature_names_)
    fit_counts = [int((r == FIT).sum()) for r in roles]
    X_parts, y_parts = [], []
    if len(client.scheduler_info()["workers"]) == 1:
        # One worker: LightGBM trains serially, so give it the fitting rows in the
        # single-process order (bagging draws rows by position) and the model is the
        # single-process model, byte for byte (tests/data/test_engine_dask.py).
        pieces = [
            client.submit(_fit_rows, tp, builder, r) for tp, r in zip(tps, ranks, strict=True)
        ]
        both = client.submit(_in_rank_order, *pieces)
        m = int(sum(fit_counts))
        X_parts.append(da.from_delayed(client.submit(_first, both), (m, n_feat), float))
        y_parts.append(da.from_delayed(client.submit(_second, both), (m,), float))
    else:
        for tp, m in zip(tps, fit_counts, strict=True):
            if m == 0:
                continue
            X_parts.append(
                da.from_delayed(client.submit(_rows_matrix, tp, builder, FIT), (m, n_feat), float)
            )
            y_parts.append(da.from_delayed(client.submit(_rows_target, tp, FIT), (m,), float))
    X_fit, y_fit = da.concatenate(X_parts), da.concatenate(y_parts)
    X_val = np.vstack(client.gather([client.submit(_rows_matrix, tp, builder, VAL) for tp in tps]))
    y_val = np.concatenate(client.gather([client.submit(_rows_target, tp, VAL) for tp in tps]))
    run_id = f"fit-{time.time_ns()}"
    client.run(_stash_validation, run_id, X_val, y_val)
    del X_val, y_val
    params = lgb_params(config, seed, builder)
    params.pop("num_threads", None)  # lightgbm.dask sets it to each worker's threads
    feature_index = {name: j for j, name in enumerate(builder.feature_names_)}
    regressor = DaskLGBMRegressor(client=client, n_estimators=config.max_rounds, **params)
    regressor.fit(
        X_fit,
        y_fit,
        feature_name=builder.feature_names_,
        categorical_feature=[feature_index[c] for c in builder.categorical_features_],
        callbacks=[
            GlobalEarlyStopping(run_id),
            lgb.early_stopping(config.early_stopping_rounds, verbose=False),
        ],
    )
    fitted = regressor.booster_
    best = int(fitted.best_iteration or fitted.current_iteration())
    # Keep only the trees up to the best iteration so every consumer predicts alike.
    booster = lgb.Booster(model_str=fitted.model_to_string(num_iteration=best))
    client.run(_drop_validation, run_id)
    del X_fit, y_fit, X_parts, y_parts
    lap("boosting")

    note("calibration, peers and sanity bounds")
    cal_parts = client.gather(
        [
            client.submit(_calibration_rows, tp, builder, booster, best, config.num_threads)
            for tp in tps
        ]
    )
    cal = {k: np.concatenate([c[k] for c in cal_parts]) for k in cal_parts[0]}
    del cal_parts
    groups = conformal_group(
        cal["industry"], cal["has_equipment"], cal["has_meter"] if builder.metered_ else None
    )
    calibrator = ResidualCalibrator(
        config.min_group_size, config.tail_share, config.calibration_merge_level
    ).fit(np.log(cal["peak"]) - cal["mu"], groups)
    agg_parts = client.gather([client.submit(_train_aggregates, tp, builder) for tp in tps])
    agg = {k: np.concatenate([a[k] for a in agg_parts]) for k in agg_parts[0]}
    del agg_parts
    peers = build_peer_stats(agg["industry"], agg["total_kw"], agg["floor_area_m2"], agg["peak"])
    comp = client.gather([client.submit(_completeness_part, tp) for tp in tps])
    peers["completeness"] = build_completeness(
        HistoryFrames(
            pd.concat([c for c, _ in comp], ignore_index=True),
            pd.concat([e for _, e in comp], ignore_index=True),
        )
    )
    del comp
    model = CapacityModel(
        builder,
        booster,
        calibrator,
        config,
        peers,
        best,
        fitted_keys=frozenset(agg["keys"]),
    )
    # As fit_model: the out-of-sample answers of the calibration customers, before bounds.
    policy_kva = recommend_capacity(
        cal["mu"], groups, calibrator, config.policy, model.decision_tables
    )
    calibrator.equipment_gain_ = equipment_list_gain(
        model, cal["peak"], cal["industry"], cal["mu"], cal["area_mu"], policy_kva
    )
    if config.bounds.enabled:
        columns = ("industry", "base_kw", "has_equipment", "has_meter", "total_kw")
        features = pd.DataFrame({c: agg[c] for c in columns if c in agg})
        features["largest_unit_kw"] = agg["largest_kw"]
        engineering = pd.DataFrame({"eng_s30_comp_kva": agg["s30"]})
        model.bounds = _fit_bounds_within_clamp_share(
            model, agg["peak"], features, engineering, np.flatnonzero(agg["is_cal"]), policy_kva
        )
    n_train = len(agg["peak"])
    del agg
    lap("aggregates")

    note("gathering the holdout")
    pieces = client.gather([client.submit(_holdout_rows, tp) for tp in tps])
    customers_h = pd.concat([p[0].customers for p in pieces], ignore_index=True)
    equipment_h = pd.concat([p[0].equipment for p in pieces], ignore_index=True)
    readings = [p[3] for p in pieces if p[3] is not None]
    holdout = LabelledHistory(
        frames=HistoryFrames(customers_h, equipment_h),
        peak_kw=np.concatenate([p[1] for p in pieces]),
        status_quo_kva=np.concatenate([p[2] for p in pieces]),
        meter_readings=pd.concat(readings, ignore_index=True) if readings else None,
    )
    del pieces, tps
    lap("holdout")
    return DaskTrainResult(
        model=model,
        holdout=holdout,
        n_train=n_train,
        n_holdout=n_hold,
        n_holdout_evaluated=len(chosen),
        reports=reports,
        seconds=seconds,
    )


# --------------------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------------------


def write_partition_reports(reports: list[PartitionReport], out_dir: Path) -> Path:
    """One rejects report per partition (``<out>/<partition>/``) and a summary of all.

    Returns the summary file (``<out>/rejects_summary.txt``): per partition the rows read,
    valid and rejected per file, then the totals.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["partition\tfile\trows_read\tvalid\trejected\tblank\tflagged"]
    totals: dict[str, list[int]] = {}
    for r in reports:
        r.report.write_report(out_dir / r.name)
        for row in r.report.counts().itertuples(index=False):
            values = [int(row.rows_read), int(row.rejected), int(row.blank), int(row.flagged)]
            valid = int(row.rows_read) - values[1] - values[2]
            lines.append(
                f"{r.name}\t{row.file}\t{values[0]}\t{valid}\t" + "\t".join(map(str, values[1:]))
            )
            acc = totals.setdefault(str(row.file), [0, 0, 0, 0, 0])
            for j, v in enumerate([values[0], valid, *values[1:]]):
                acc[j] += v
    for file, acc in totals.items():
        lines.append("all\t" + file + "\t" + "\t".join(map(str, acc)))
    summary = out_dir / "rejects_summary.txt"
    summary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return summary


def rejected_rows(reports: list[PartitionReport]) -> dict[str, int]:
    """Rejected rows per file over all partitions (``meter_readings`` when any was read)."""
    files = ["customers", "equipment"]
    if any("meter_readings" in r.report.rows_read for r in reports):
        files.append("meter_readings")
    return {f: int(sum(r.report.rejected_rows(f) for r in reports)) for f in files}


# --------------------------------------------------------------------------------------
# batch scoring
# --------------------------------------------------------------------------------------


@dataclass
class DaskScoreResult:
    """A Dask batch scoring: one recommendations file per partition."""

    files: list[str]
    n_scored: int
    reports: list[PartitionReport]
    seconds: float


def _score_partition(
    part: Partition, recommender: Any, out_dir: str
) -> tuple[str, int, PartitionReport]:
    import fsspec

    validated = validate_partition(part, require_label=False)
    frame = recommender.score_frames(validated.customers, validated.equipment)
    target = f"{out_dir.rstrip('/')}/{part.name}.csv"
    fs, path = fsspec.core.url_to_fs(target)
    fs.makedirs(fs._parent(path), exist_ok=True)
    with fs.open(path, "w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False)
    return target, len(frame), _partition_report(part, validated)


def recommend_dask(
    client: Any,
    recommender: Any,
    customers: str | Path,
    equipment: str | Path,
    out_dir: str | Path,
    meter_readings: str | Path | None = None,
) -> DaskScoreResult:
    """Score every partition with ``recommender`` (a :class:`serving.core.Recommender`).

    Each partition is validated (with its readings, if any) and scored on a worker by
    ``Recommender.score_frames`` (the service's decision path) and written to
    ``<out_dir>/<partition>.csv``.
    """
    t0 = time.perf_counter()
    parts = discover_partitions(customers, equipment, meter_readings)
    [rec_f] = client.scatter([recommender], broadcast=True)
    results = client.gather(
        [client.submit(_score_partition, p, rec_f, str(out_dir), pure=False) for p in parts]
    )
    reports = [r[2] for r in results]
    check_unique_ids(reports)
    return DaskScoreResult(
        files=[r[0] for r in results],
        n_scored=int(sum(r[1] for r in results)),
        reports=reports,
        seconds=time.perf_counter() - t0,
    )


def history_hash(
    customers: str | Path, equipment: str | Path, meter_readings: str | Path | None = None
) -> str:
    """sha256 over the bytes of every partition file, in name order (the run's data hash).

    Without readings the hash is what it was before readings existed (same files, same
    order), so earlier runs' hashes still compare.
    """
    import fsspec

    h = hashlib.sha256()
    for part in discover_partitions(customers, equipment, meter_readings):
        urls = [part.customers, part.equipment]
        if part.meter_readings is not None:
            urls.append(part.meter_readings)
        for url in urls:
            with fsspec.open(url, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
    return h.hexdigest()[:16]
