"""Fitting the capacity model: features → LightGBM → conformal calibration → bounds.

Target transform: LightGBM regresses ``log(peak) - log(base)``, where ``base`` is the
demand-coefficient estimate with demand factors fitted to the history (see
:mod:`features.build`); predictions add ``log(base)`` back. Why: peak demand spans three
orders of magnitude and is roughly proportional to the installation, so in log space the
errors are relative (what matters for choosing a capacity), the residual spread is
homogeneous enough for conformal calibration, and the trees only have to learn a narrow
correction to a physically shaped estimate, which also extrapolates to installations
larger than any in the history.

The fitted object is :class:`serving.model.predictor.CapacityModel`, the predicting half
that the service loads from a bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.build import FeatureBuilder, HistoryFrames
from features.contract import sizing_outcome
from serving.model.bounds import LearnedBounds, apply_bounds
from serving.model.calibration import ResidualCalibrator, conformal_group
from serving.model.config import ModelConfig
from serving.model.policy import recommend_capacity
from serving.model.predictor import CapacityModel
from training.bounds import fit_bounds
from training.completeness import build_completeness
from training.data import customer_keys
from training.peers import build_peer_stats

MONOTONE_PREFIXES = ("kw__", "largest__", "units__", "rss__")
MONOTONE_FEATURES = (
    "total_kw",
    "total_units",
    "n_groups",
    "floor_area_m2",
    "base_kw",
    "largest_unit_kw",
    "eng_p30_kw",
    "eng_s30_kva",
    "kw_per_m2",
    "kw_per_employee",
    "eng_kw_per_m2",
)


UNIT_COUNT_FEATURES = ("total_units", "n_groups")
UNIT_COUNT_PREFIX = "units__"


def monotone_vector(feature_names: list[str], units: bool = True) -> list[int]:
    """+1 for every feature that can only grow when equipment is added or grows.

    Adding a non-standby line or raising a rating moves each of these features up or
    leaves it unchanged, so with all of them constrained the prediction cannot fall.
    Unit counts are included: at equal kW more units diversify, but adding a unit also
    adds its kW, and an added unit must never lower the answer. Floor area is included so
    that a larger area-only application never gets a smaller answer.

    ``units=False`` (``ModelConfig.monotone_units``) leaves the unit counts free. On the
    small_groups world (demand factor 1.3–1.6 × Kx for groups of ≤ 3 units, so a 4th
    unit LOWERS the expected peak there) the constraint costs 0.8–1.6 points of served
    accuracy, paired per seed (mean 1.2 at 20,000 customers, 1.1 at 2,000; 3 seeds), and
    nothing on the utilisation world (−0.1 to +0.3): benchmarks/bench_decompose.py
    ``--config '{"monotone_units": false}'`` (issue 23). The default keeps the guarantee.
    """

    def counted(n: str) -> bool:
        return n.startswith(UNIT_COUNT_PREFIX) or n in UNIT_COUNT_FEATURES

    return [
        1
        if (n.startswith(MONOTONE_PREFIXES) or n in MONOTONE_FEATURES) and (units or not counted(n))
        else 0
        for n in feature_names
    ]


def fit_model(
    frames: HistoryFrames,
    peak_kw: np.ndarray,
    config: ModelConfig,
    seed: int,
    progress: Any = None,
) -> CapacityModel:
    """Fit on a training history (which this method splits for early stopping and calibration).

    Calibration residuals must be out of sample. From ``config.cross_fit_below``
    customers on, a split of ``calib_fraction`` of them is kept out of the fit (split
    conformal). Below, every customer's residual comes from a model fitted without it
    (``cross_fit_folds``-fold cross-fitting, CV+): a split would leave 67 residuals of
    340 customers to calibrate on, and which 67 moves the intervals by several points
    (on BDG1 the 90 % interval covered 0.956 of the test buildings from one such split;
    at 2,000 synthetic customers a split's 400 residuals covered 0.935, cross-fitting
    0.896, with accuracy 0.913 → 0.917). From 10,000 on a split leaves at least 2,000
    residuals (about 90 per industry of 23), so industries are not flagged as having few
    customers for want of a split. The served model is then fitted on every customer;
    training costs ``cross_fit_folds + 1`` fits (the fold models reuse its rounds).

    Parameters
    ----------
    frames
        Clean customers and equipment of the training customers.
    peak_kw
        Metered peaks aligned with ``frames.customers``.
    config
        Model configuration.
    seed
        Seed for the splits and LightGBM.
    progress
        Optional callable ``progress(stage: str)`` for CLIs.
    """
    y = np.asarray(peak_kw, dtype=float)
    if np.any(~np.isfinite(y) | (y <= 0)):
        raise ValueError("peak_kw must be finite and > 0 for every training customer")
    n = len(y)
    if n < MIN_TRAINING_CUSTOMERS:
        raise ValueError(
            f"training needs at least {MIN_TRAINING_CUSTOMERS} customers, received {n}"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    note = progress or (lambda stage: None)
    note("features")
    cross = n < config.cross_fit_below
    if cross:
        # The served model first (early stopping on a validation split), then one model
        # per fold with as many rounds, on all the other folds: out-of-fold predictions
        # of every customer (and of its application without its equipment list, for the
        # measured gain of a list).
        n_val = int(round(n * config.valid_fraction))
        note("boosting")
        oof_mu = np.full(n, np.nan)
        oof_area_mu = np.full(n, np.nan)
        k_folds = config.cross_fit_folds
        splits = [
            (np.sort(order[k::k_folds]), np.sort(order[np.arange(n) % k_folds != k]))
            for k in range(k_folds)
        ]
        if config.cross_fit_rounds:
            # The rounds chosen by the folds' pooled held-out loss (every customer once),
            # then the served booster on every customer with as many rounds.
            folds, rounds = _cross_fitted_cores(frames, y, splits, config, seed)
            core = _fit_core(frames, y, np.sort(order), order[:0], config, seed, rounds=rounds)
        else:
            core = _fit_core(frames, y, order[n_val:], order[:n_val], config, seed)
            folds = [
                _fit_core(frames, y, rest, rest[:0], config, seed + 1 + k, rounds=core.best)
                for k, (_, rest) in enumerate(splits)
            ]
        for (held, _), fold in zip(splits, folds, strict=True):
            oof_mu[held] = fold.mu(held)
            oof_area_mu[held] = fold.area_only_mu(frames, held)
        cal_idx = np.arange(n)
        mu_cal, area_mu_cal = oof_mu, oof_area_mu
    else:
        n_cal = int(round(n * config.calib_fraction))
        n_val = int(round(n * config.valid_fraction))
        cal_idx = np.sort(order[:n_cal])
        # The base (fitted demand factors, area multipliers) is fitted WITHOUT the
        # calibration customers: their residuals must be out of sample for the conformal
        # guarantee, and a base fitted on every row had seen them. (At 20,000 customers it
        # changes nothing measurable: served accuracy within 0.2 points on three histories.)
        note("boosting")
        core = _fit_core(
            frames, y, order[n_cal + n_val :], order[n_cal : n_cal + n_val], config, seed
        )
        mu_cal = core.mu(cal_idx)
        area_mu_cal = core.area_only_mu(frames, cal_idx)
    builder, booster, best, X, engineering = (
        core.builder,
        core.booster,
        core.best,
        core.X,
        core.engineering,
    )
    note("calibration")
    industry = X["industry"].astype(str).to_numpy()
    has_meter = X["has_meter"].to_numpy(dtype=float)[cal_idx] if "has_meter" in X else None
    groups = conformal_group(industry[cal_idx], X["has_equipment"].to_numpy()[cal_idx], has_meter)
    calibrator = ResidualCalibrator(
        config.min_group_size, config.tail_share, config.calibration_merge_level
    ).fit(np.log(y[cal_idx]) - mu_cal, groups)
    peers = build_peer_stats(
        industry,
        X["total_kw"].to_numpy(),
        X["floor_area_m2"].to_numpy(),
        y,
    )
    peers["completeness"] = build_completeness(frames)
    model = CapacityModel(
        builder,
        booster,
        calibrator,
        config,
        peers,
        best,
        fitted_keys=frozenset(customer_keys(frames.customers, y)),
    )
    # The out-of-sample answers of the calibration customers, before the bounds.
    policy_kva = recommend_capacity(
        mu_cal, groups, calibrator, config.policy, model.decision_tables
    )
    calibrator.equipment_gain_ = equipment_list_gain(
        model, y[cal_idx], industry[cal_idx], mu_cal, area_mu_cal, policy_kva
    )
    if config.bounds.enabled:
        note("sanity bounds")
        model.bounds = _fit_bounds_within_clamp_share(model, y, X, engineering, cal_idx, policy_kva)
    return model


MIN_TRAINING_CUSTOMERS = 100
"""Fewest customers a model is fitted on (shrinkage carries it from here up)."""


@dataclass
class _Core:
    """A fitted builder and booster, the features of every customer and the base."""

    builder: FeatureBuilder
    booster: lgb.Booster
    best: int
    X: pd.DataFrame
    engineering: pd.DataFrame
    base: np.ndarray
    num_threads: int

    def mu(self, rows: np.ndarray) -> np.ndarray:
        """E[log peak] of the customers at ``rows``."""
        f = self.booster.predict(
            self.builder.matrix(self.X.iloc[rows]), num_threads=self.num_threads
        )
        return np.asarray(np.log(self.base[rows]) + f)

    def area_only_mu(self, frames: HistoryFrames, rows: np.ndarray) -> np.ndarray:
        """E[log peak] of the same applications without their equipment lists.

        NaN for customers without a list or without a floor area (nothing to compare).
        """
        out = np.full(len(rows), np.nan)
        has_list = self.X["has_equipment"].to_numpy()[rows] > 0
        area = self.X["floor_area_m2"].to_numpy(dtype=float)[rows]
        pick = has_list & np.isfinite(area) & (area > 0)
        if not pick.any():
            return out
        customers = frames.customers.iloc[rows[pick]].reset_index(drop=True)
        bare = HistoryFrames(customers, frames.equipment.iloc[:0])
        built = self.builder.transform_arrays(bare)
        base = self.builder.base_kw_of(built.column("base_kw"), built.text("industry"))
        f = self.booster.predict(built.matrix, num_threads=self.num_threads)
        out[pick] = np.log(base) + f
        return out


def feature_builder(config: ModelConfig) -> FeatureBuilder:
    """The unfitted feature builder a model configuration asks for.

    The one mapping of :class:`ModelConfig`'s feature options onto the builder, used by
    :func:`fit_model` and the Dask engine alike (an option added to one is in both).
    """
    return FeatureBuilder(
        engineering=config.engineering,
        include_shares=config.include_shares,
        coincidence=config.coincidence,
        hierarchical=config.hierarchical_pooling,
        climate_cooling=config.climate_cooling,
        area_prior_from_lists=config.area_prior_from_lists,
        factor_prior_rows_by_cv=config.factor_prior_rows_by_cv,
        area_weight_by_data=config.area_weight_by_data,
    )


def _prepare(
    frames: HistoryFrames, y: np.ndarray, rows: np.ndarray, config: ModelConfig
) -> tuple[FeatureBuilder, pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Builder fitted on ``rows``; features, engineering, base and target of every customer."""
    builder = feature_builder(config)
    builder.fit(frames.take(rows), y[rows])
    X, engineering = builder.transform_with_engineering(frames)
    base = builder.base_kw(X)
    return builder, X, engineering, base, np.log(y) - np.log(base)


def _cross_fitted_cores(
    frames: HistoryFrames,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    config: ModelConfig,
    seed: int,
) -> tuple[list[_Core], int]:
    """One core per fold (builder and booster on the other folds), rounds chosen by all.

    The fold boosters grow in lockstep; after each round the squared error of every
    fold's held-out customers is pooled (every customer counts once) and the rounds are
    those of the lowest pooled loss, stopped ``early_stopping_rounds`` after it. Why:
    the one validation split of ``valid_fraction`` left 75 customers of 500 to choose
    the rounds on, and their noise stopped the booster after 1 round on two of three
    small_groups histories (issue 23); the folds hold out every customer.
    """
    preps, boosters = [], []
    for k, (held, rest) in enumerate(splits):
        builder, X, engineering, base, target = _prepare(frames, y, rest, config)
        params = lgb_params(config, seed + 1 + k, builder)
        train_set = lgb.Dataset(
            X.iloc[rest],
            label=target[rest],
            categorical_feature=builder.categorical_features_,
            free_raw_data=False,
        )
        booster = lgb.Booster(params, train_set)
        preps.append((builder, X, engineering, base, target, held))
        boosters.append(booster)
    n = sum(len(p[5]) for p in preps)
    f = [np.zeros(len(p[5])) for p in preps]
    mats = [p[0].matrix(p[1].iloc[p[5]]) for p in preps]
    # Round 0: the boosters' starting score (LightGBM boosts from the mean target).
    best, best_loss, losses = 0, np.inf, []
    for it in range(1, config.max_rounds + 1):
        total = 0.0
        for k, booster in enumerate(boosters):
            booster.update()
            # Only the newest tree's contribution: adding it keeps a round O(held rows).
            f[k] += booster.predict(
                mats[k], start_iteration=it - 1, num_iteration=1, num_threads=config.num_threads
            )
            target, held = preps[k][4], preps[k][5]
            total += float(np.sum((target[held] - f[k]) ** 2))
        losses.append(total / n)
        if losses[-1] < best_loss:
            best, best_loss = it, losses[-1]
        elif it - best >= config.early_stopping_rounds:
            break
    cores = [
        _Core(
            builder,
            lgb.Booster(model_str=booster.model_to_string(num_iteration=best)),
            best,
            X,
            engineering,
            base,
            config.num_threads,
        )
        for (builder, X, engineering, base, _, _), booster in zip(preps, boosters, strict=True)
    ]
    return cores, best


def _fit_core(
    frames: HistoryFrames,
    y: np.ndarray,
    fit_rows: np.ndarray,
    val_rows: np.ndarray,
    config: ModelConfig,
    seed: int,
    rounds: int | None = None,
) -> _Core:
    """Builder on ``fit_rows`` ∪ ``val_rows``; booster on ``fit_rows``, stopped on ``val_rows``.

    With ``rounds`` (and no ``val_rows``) the booster runs exactly that many rounds.
    """
    rows = np.sort(np.concatenate([fit_rows, val_rows]))
    builder, X, engineering, base, target = _prepare(frames, y, rows, config)
    params = lgb_params(config, seed, builder)
    train_set = lgb.Dataset(
        X.iloc[fit_rows],
        label=target[fit_rows],
        categorical_feature=builder.categorical_features_,
        free_raw_data=False,
    )
    if rounds is not None:
        booster = lgb.train(params, train_set, num_boost_round=rounds)
        best = rounds
    else:
        valid_set = lgb.Dataset(
            X.iloc[val_rows], label=target[val_rows], reference=train_set, free_raw_data=False
        )
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=config.max_rounds,
            valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
        )
        best = int(booster.best_iteration or booster.current_iteration())
    # Keep only the trees up to the best iteration so every consumer predicts alike.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return _Core(builder, booster, best, X, engineering, base, config.num_threads)


def equipment_list_gain(
    model: CapacityModel,
    peak: np.ndarray,
    industry: np.ndarray,
    mu: np.ndarray,
    area_mu: np.ndarray,
    policy_kva: np.ndarray,
) -> dict[str, float] | None:
    """What an equipment list gained on the history's own out-of-sample customers.

    For the calibration customers that submitted a list and a floor area, the answer
    from their application (``mu``, ``policy_kva``) is compared with the answer the same
    model gives the same application without its list (``area_mu``, calibrated as an
    area-only application): appropriately sized and undersized shares, and the width of
    the 90 % interval (ratio high/low). None when no such customers exist.
    """
    pick = np.isfinite(area_mu)
    if pick.sum() < MIN_GAIN_CUSTOMERS:
        return None
    cal = model.calibrator
    sizing = model.config.policy.sizing
    groups_eq = conformal_group(industry[pick], np.ones(int(pick.sum())))
    groups_area = conformal_group(industry[pick], np.zeros(int(pick.sum())))
    kva_area = recommend_capacity(
        area_mu[pick], groups_area, cal, model.config.policy, model.decision_tables
    )
    out_eq = sizing_outcome(peak[pick], policy_kva[pick], sizing)
    out_area = sizing_outcome(peak[pick], kva_area, sizing)
    lo_eq, hi_eq = cal.interval(mu[pick], groups_eq, 0.90)
    lo_ar, hi_ar = cal.interval(area_mu[pick], groups_area, 0.90)
    return {
        "n": float(pick.sum()),
        "accuracy_with_list": float(np.mean(out_eq == "appropriate")),
        "accuracy_area_only": float(np.mean(out_area == "appropriate")),
        "undersized_with_list": float(np.mean(out_eq == "undersized")),
        "undersized_area_only": float(np.mean(out_area == "undersized")),
        "interval90_ratio_with_list": float(np.exp(np.median(hi_eq - lo_eq))),
        "interval90_ratio_area_only": float(np.exp(np.median(hi_ar - lo_ar))),
    }


MIN_GAIN_CUSTOMERS = 30
"""Fewest customers with a list and an area the gain of a list is measured on."""


def _fit_bounds_within_clamp_share(
    model: CapacityModel,
    y: np.ndarray,
    X: Any,
    engineering: Any,
    cal_idx: np.ndarray,
    policy_kva: np.ndarray,
) -> LearnedBounds:
    """Bounds at ``config.bounds.tail``, widened until they clamp few calibration customers.

    At most ``max_clamp_share`` of the calibration customers (whose answers
    ``policy_kva`` are out of sample) may be clamped by the learned ratio bounds; the
    physical unit rule is not counted (it holds for any customer and is not widened). The
    ratios are read off every training customer (they need no model); whether a bound
    clamps depends on the answers, so that is measured on the calibration customers.
    """
    cfg = model.config.bounds
    industry = X["industry"].astype(str).to_numpy()
    basis = model.builder.base_source(X)
    total = X["total_kw"].to_numpy(dtype=float)
    largest = X["largest_unit_kw"].to_numpy(dtype=float)
    s30 = engineering["eng_s30_comp_kva"].to_numpy(dtype=float)
    cal = np.asarray(cal_idx)
    tail = cfg.tail
    while True:
        bounds = fit_bounds(y, industry, basis, total, s30, cfg, tail=tail)
        limits = bounds.capacity_bounds(
            industry[cal], basis[cal], total[cal], largest[cal], s30[cal],
            model.config.policy.sizing, unit_rule=False,
        )  # fmt: skip
        _, side = apply_bounds(policy_kva, limits)
        share = float(np.mean(side != 0)) if len(cal) else 0.0
        if share <= cfg.max_clamp_share or tail < 1e-4:
            bounds.calibration_clamp_share = share
            return bounds
        tail /= 2.0


def lgb_params(config: ModelConfig, seed: int, builder: FeatureBuilder) -> dict[str, Any]:
    """LightGBM parameters of a configuration (monotone constraints included)."""
    params: dict[str, Any] = {
        "objective": "regression",
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_data_in_leaf": config.min_data_in_leaf,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": config.lambda_l2,
        "num_threads": config.num_threads,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
        "cat_smooth": 10.0,
    }
    if config.monotone:
        params["monotone_constraints"] = monotone_vector(
            builder.feature_names_, units=config.monotone_units
        )
        # "intermediate": "advanced" was seen to break the constraint in rare trees
        # (LightGBM issues #5358, #6155; 25 violations in our directional test).
        params["monotone_constraints_method"] = "intermediate"
    return params
