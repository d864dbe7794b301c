"""The capacity model: features → LightGBM → calibrated distribution → tier policy.

Target transform: LightGBM regresses ``log(peak) - log(base)``, where ``base`` is the
demand-coefficient estimate with demand factors fitted to the history (see
:mod:`features.build`); predictions add ``log(base)`` back. Why: peak demand spans three
orders of magnitude and is roughly proportional to the installation, so in log space the
errors are relative (what matters for choosing a capacity), the residual spread is
homogeneous enough for conformal calibration, and the trees only have to learn a narrow
correction to a physically shaped estimate, which also extrapolates to installations
larger than any in the history.

This module imports neither MLflow nor shap: serving loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features.build import FeatureBuilder, HistoryFrames
from features.engineering import EngineeringConfig, engineering_estimate_frame
from training.peers import build_peer_stats
from training.policy import (
    DecisionTables,
    PolicyConfig,
    TierProbabilities,
    recommend_tiers,
    tier_probabilities,
)
from training.uncertainty import ResidualCalibrator, conformal_group


class ModelConfig(BaseModel):
    """Everything that determines a trained model (besides the data and the seed)."""

    model_config = ConfigDict(frozen=True)

    learning_rate: float = Field(0.04, gt=0, le=1)
    num_leaves: int = Field(31, ge=2)
    min_data_in_leaf: int = Field(30, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    lambda_l2: float = Field(1.0, ge=0)
    max_rounds: int = Field(3000, ge=1)
    early_stopping_rounds: int = Field(100, ge=1)
    num_threads: int = Field(1, ge=1)
    monotone: bool = Field(
        True, description="Constrain the prediction not to fall when installed kW grows."
    )
    include_shares: bool = False
    valid_fraction: float = Field(0.15, gt=0, lt=0.5, description="Early-stopping split.")
    calib_fraction: float = Field(0.20, gt=0, lt=0.5, description="Conformal calibration split.")
    min_group_size: int = Field(150, ge=20)
    engineering: EngineeringConfig = Field(default_factory=EngineeringConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)


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


@dataclass
class Prediction:
    """Point and distributional prediction for a batch."""

    features: pd.DataFrame
    engineering: pd.DataFrame | None  # classical estimates per row (None if features given)
    matrix: np.ndarray  # the features as LightGBM's float matrix (computed once)
    base_kw: np.ndarray
    mu: np.ndarray  # E[log peak]
    groups: np.ndarray
    peak_kw: np.ndarray  # exp(mu): the median-like point prediction
    low80: np.ndarray
    high80: np.ndarray
    low90: np.ndarray
    high90: np.ndarray
    recommended_kva: np.ndarray
    chosen: np.ndarray
    probs: TierProbabilities


class CapacityModel:
    """A fitted builder, booster, calibrator, policy and peer statistics."""

    def __init__(
        self,
        builder: FeatureBuilder,
        booster: lgb.Booster,
        calibrator: ResidualCalibrator,
        config: ModelConfig,
        peers: dict[str, Any],
        best_iteration: int,
    ) -> None:
        self.builder = builder
        self.booster = booster
        self.calibrator = calibrator
        self.config = config
        self.peers = peers
        self.best_iteration = best_iteration
        self._tables: DecisionTables | None = None

    @property
    def decision_tables(self) -> DecisionTables:
        """Monotone tier decisions (built on first use from the calibration and policy)."""
        if self._tables is None:
            self._tables = DecisionTables(self.calibrator, self.config.policy)
        return self._tables

    # -- training ------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
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
        rng = np.random.default_rng(seed)
        order = rng.permutation(n)
        n_cal = int(round(n * config.calib_fraction))
        n_val = int(round(n * config.valid_fraction))
        cal_idx, val_idx, fit_idx = (
            order[:n_cal],
            order[n_cal : n_cal + n_val],
            order[n_cal + n_val :],
        )
        note = progress or (lambda stage: None)
        note("features")
        builder = FeatureBuilder(
            engineering=config.engineering, include_shares=config.include_shares
        )
        builder.fit(frames, y)
        X = builder.transform(frames)
        base = builder.base_kw(X)
        target = np.log(y) - np.log(base)
        params = cls._params(config, seed, builder)
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
        calibrator = ResidualCalibrator(config.min_group_size).fit(
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
        return cls(builder, booster, calibrator, config, peers, best)

    @staticmethod
    def _params(config: ModelConfig, seed: int, builder: FeatureBuilder) -> dict[str, Any]:
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

    # -- prediction ----------------------------------------------------------------------
    def features(self, frames: HistoryFrames) -> pd.DataFrame:
        """The model's features for ``frames`` (the shared feature path)."""
        return self.builder.transform(frames)

    def predict(self, frames: HistoryFrames, features: pd.DataFrame | None = None) -> Prediction:
        """Predict peak, intervals and the recommended capacity for every customer."""
        if features is None:
            X, engineering = self.builder.transform_with_engineering(frames)
        else:
            X, engineering = features, None
        base = self.builder.base_kw(X)
        matrix = self.builder.matrix(X)
        f = self.booster.predict(matrix, num_threads=self.config.num_threads)
        mu = np.log(base) + f
        groups = conformal_group(
            X["industry"].astype(str).to_numpy(), X["has_equipment"].to_numpy()
        )
        lo80, hi80 = self.calibrator.interval(mu, groups, 0.80)
        lo90, hi90 = self.calibrator.interval(mu, groups, 0.90)
        rec, probs, idx = recommend_tiers(
            mu, groups, self.calibrator, self.config.policy, self.decision_tables
        )
        return Prediction(
            features=X,
            engineering=engineering,
            matrix=matrix,
            base_kw=base,
            mu=mu,
            groups=groups,
            peak_kw=np.exp(mu),
            low80=np.exp(lo80),
            high80=np.exp(hi80),
            low90=np.exp(lo90),
            high90=np.exp(hi90),
            recommended_kva=rec,
            chosen=idx,
            probs=probs,
        )

    def probabilities_for(self, pred: Prediction, row: int, tiers: np.ndarray) -> TierProbabilities:
        """Outcome probabilities of given capacities for one predicted row."""
        return tier_probabilities(
            pred.mu[row : row + 1],
            pred.groups[row : row + 1],
            self.calibrator,
            self.config.policy.sizing,
            tiers=np.asarray(tiers, dtype=float),
        )

    def engineering_of(self, frames: HistoryFrames, pred: Prediction) -> pd.DataFrame:
        """The classical engineering estimates of ``frames``, reused from ``pred`` if there."""
        if pred.engineering is not None:
            return pred.engineering
        ids = pd.Index(frames.customers["customer_id"].astype(str))
        eng = engineering_estimate_frame(
            frames.equipment, frames.customers, self.builder.engineering_
        )
        return eng.reindex(ids)

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions in log space (last column: expected value).

        ``X`` is a feature frame or its :meth:`FeatureBuilder.matrix` (e.g. ``Prediction.matrix``).
        """
        matrix = X if isinstance(X, np.ndarray) else self.builder.matrix(X)
        return np.asarray(
            self.booster.predict(matrix, pred_contrib=True, num_threads=self.config.num_threads)
        )
