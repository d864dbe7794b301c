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

from typing import Any

import lightgbm as lgb
import numpy as np

from features.build import FeatureBuilder, HistoryFrames
from serving.model.bounds import LearnedBounds, apply_bounds
from serving.model.calibration import ResidualCalibrator, conformal_group
from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel
from training.bounds import fit_bounds
from training.data import customer_keys
from training.peers import build_peer_stats

MONOTONE_PREFIXES = ("kw__", "largest__", "units__")
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


def monotone_vector(feature_names: list[str]) -> list[int]:
    """+1 for every feature that can only grow when equipment is added or grows.

    Adding a non-standby line or raising a rating moves each of these features up or
    leaves it unchanged, so with all of them constrained the prediction cannot fall.
    Unit counts are included: at equal kW more units diversify, but adding a unit also
    adds its kW, and an added unit must never lower the answer. Floor area is included so
    that a larger area-only application never gets a smaller answer.
    """
    return [
        1 if (n.startswith(MONOTONE_PREFIXES) or n in MONOTONE_FEATURES) else 0
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
    if n < 200:
        raise ValueError(f"training needs at least 200 customers, received {n}")
    cal_idx, val_idx, fit_idx = split_indices(n, config, seed)
    note = progress or (lambda stage: None)
    note("features")
    builder = FeatureBuilder(engineering=config.engineering, include_shares=config.include_shares)
    # The base (fitted demand factors, area multiplier) is fitted WITHOUT the calibration
    # customers: their residuals must be out of sample for the conformal guarantee, and a
    # base fitted on every row had seen them. (At 20,000 customers it changes nothing
    # measurable: served accuracy within 0.2 points on three histories.)
    not_cal = np.sort(np.concatenate([fit_idx, val_idx]))
    builder.fit(frames.take(not_cal), y[not_cal])
    X, engineering = builder.transform_with_engineering(frames)
    base = builder.base_kw(X)
    target = np.log(y) - np.log(base)
    params = lgb_params(config, seed, builder)
    train_set = lgb.Dataset(
        X.iloc[fit_idx],
        label=target[fit_idx],
        categorical_feature=builder.categorical_features_,
        free_raw_data=False,
    )
    valid_set = lgb.Dataset(
        X.iloc[val_idx], label=target[val_idx], reference=train_set, free_raw_data=False
    )
    note("boosting")
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=config.max_rounds,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
    )
    best = int(booster.best_iteration or booster.current_iteration())
    note("calibration")
    f_cal = booster.predict(X.iloc[cal_idx], num_iteration=best)
    mu_cal = np.log(base[cal_idx]) + f_cal
    groups = conformal_group(
        X["industry"].astype(str).to_numpy()[cal_idx], X["has_equipment"].to_numpy()[cal_idx]
    )
    calibrator = ResidualCalibrator(config.min_group_size, config.tail_share).fit(
        np.log(y[cal_idx]) - mu_cal, groups
    )
    peers = build_peer_stats(
        X["industry"].astype(str).to_numpy(),
        X["total_kw"].to_numpy(),
        X["floor_area_m2"].to_numpy(),
        y,
    )
    # Keep only the trees up to the best iteration so every consumer predicts alike.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    model = CapacityModel(
        builder,
        booster,
        calibrator,
        config,
        peers,
        best,
        fitted_keys=frozenset(customer_keys(frames.customers, y)),
    )
    if config.bounds.enabled:
        note("sanity bounds")
        model.bounds = _fit_bounds_within_clamp_share(model, frames, y, X, engineering, cal_idx)
    return model


def split_indices(
    n: int, config: ModelConfig, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positional (calibration, early-stopping, fitting) indices of ``n`` training customers.

    One function so that the Dask engine (:mod:`training.engine_dask`) splits exactly alike.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_cal = int(round(n * config.calib_fraction))
    n_val = int(round(n * config.valid_fraction))
    return order[:n_cal], order[n_cal : n_cal + n_val], order[n_cal + n_val :]


def _fit_bounds_within_clamp_share(
    model: CapacityModel,
    frames: HistoryFrames,
    y: np.ndarray,
    X: Any,
    engineering: Any,
    cal_idx: np.ndarray,
) -> LearnedBounds:
    """Bounds at ``config.bounds.tail``, widened until they clamp few calibration customers.

    At most ``max_clamp_share`` of the calibration customers (whose predictions are out of
    sample) may be clamped by the learned ratio bounds; the physical unit rule is not
    counted (it holds for any customer and is not widened). The ratios are read off every
    training customer (they need no model); whether a bound clamps depends on the
    answers, so that is measured on the calibration split.
    """
    cal = np.sort(cal_idx)
    return bounds_within_clamp_share(
        model,
        y,
        X["industry"].astype(str).to_numpy(),
        model.builder.base_source(X),
        X["total_kw"].to_numpy(dtype=float),
        X["largest_unit_kw"].to_numpy(dtype=float),
        engineering["eng_s30_comp_kva"].to_numpy(dtype=float),
        cal,
        model.predict(frames.take(cal)).recommended_kva,
    )


def bounds_within_clamp_share(
    model: CapacityModel,
    y: np.ndarray,
    industry: np.ndarray,
    basis: np.ndarray,
    total: np.ndarray,
    largest: np.ndarray,
    s30: np.ndarray,
    cal: np.ndarray,
    policy_kva: np.ndarray,
) -> LearnedBounds:
    """:func:`_fit_bounds_within_clamp_share` on arrays over the training customers.

    ``cal`` are the sorted calibration positions and ``policy_kva`` the model's answers
    (before the bounds) for them, in that order; the Dask engine gathers these arrays.
    """
    cfg = model.config.bounds
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
        params["monotone_constraints"] = monotone_vector(builder.feature_names_)
        # "intermediate": "advanced" was seen to break the constraint in rare trees
        # (LightGBM issues #5358, #6155; 25 violations in our directional test).
        params["monotone_constraints_method"] = "intermediate"
    return params
