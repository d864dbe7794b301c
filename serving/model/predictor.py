"""The capacity model as served: features → LightGBM → calibrated distribution → tier policy.

LightGBM predicts ``log(peak) - log(base)`` and the prediction adds ``log(base)`` back; why
the target is shaped so is explained where it is fitted (:mod:`training.model`). This
module is the predicting half and imports neither MLflow nor shap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.build import BuiltFeatures, FeatureBuilder, HistoryFrames
from features.engineering import engineering_estimate_frame
from serving.model.bounds import LearnedBounds
from serving.model.calibration import ResidualCalibrator, conformal_group
from serving.model.config import ModelConfig
from serving.model.policy import (
    DecisionTables,
    TierProbabilities,
    probabilities_covering,
    recommend_capacity,
    tier_probabilities,
)


@dataclass
class Prediction:
    """Point and distributional prediction for a batch.

    ``features`` and ``engineering`` are built on first access when the prediction came
    from frames (the decision path reads the arrays: :meth:`column`, ``industry``), and
    so are ``probs`` (the rows × tiers outcome probabilities) and ``chosen`` (the index of
    ``recommended_kva`` in ``probs.tiers``): the answer itself needs neither.
    """

    built: BuiltFeatures | None  # the feature arrays (None if features were given)
    given_features: pd.DataFrame | None
    matrix: np.ndarray  # the features as LightGBM's float matrix (computed once)
    industry: np.ndarray  # industry per row as text (NaN where not a known code)
    base_kw: np.ndarray
    mu: np.ndarray  # E[log peak]
    groups: np.ndarray
    peak_kw: np.ndarray  # exp(mu): the median-like point prediction
    low80: np.ndarray
    high80: np.ndarray
    low90: np.ndarray
    high90: np.ndarray
    recommended_kva: np.ndarray
    _col: dict[str, int] = field(default_factory=dict, repr=False)
    _model: CapacityModel | None = field(default=None, repr=False)
    _probs: TierProbabilities | None = field(default=None, repr=False)
    _chosen: np.ndarray | None = field(default=None, repr=False)

    @property
    def probs(self) -> TierProbabilities:
        """Outcome probabilities per row over candidate tiers including every answer."""
        if self._probs is None:
            assert self._model is not None
            self._probs = probabilities_covering(
                self.mu,
                self.groups,
                self._model.calibrator,
                self._model.config.policy.sizing,
                self.recommended_kva,
            )
        return self._probs

    @property
    def chosen(self) -> np.ndarray:
        """Index of each row's ``recommended_kva`` in ``probs.tiers``."""
        if self._chosen is None:
            self._chosen = np.searchsorted(self.probs.tiers, self.recommended_kva)
        return self._chosen

    @property
    def features(self) -> pd.DataFrame:
        """The feature frame (one row per customer)."""
        if self.given_features is not None:
            return self.given_features
        assert self.built is not None
        return self.built.frame()

    @property
    def engineering(self) -> pd.DataFrame | None:
        """Classical estimates per row (None if features were given)."""
        return self.built.engineering() if self.built is not None else None

    def column(self, name: str) -> np.ndarray:
        """A numeric feature as floats (from the matrix: the same values as the frame)."""
        return self.matrix[:, self._col[name]]


class CapacityModel:
    """A fitted builder, booster, calibrator, policy, sanity bounds and peer statistics.

    ``fitted_keys`` are the hashed identities (:func:`training.data.customer_keys`) of the
    customers the model was trained and calibrated on, so evaluation and the promotion
    gate can leave them out.
    """

    def __init__(
        self,
        builder: FeatureBuilder,
        booster: lgb.Booster,
        calibrator: ResidualCalibrator,
        config: ModelConfig,
        peers: dict[str, Any],
        best_iteration: int,
        bounds: LearnedBounds | None = None,
        fitted_keys: frozenset[str] = frozenset(),
    ) -> None:
        self.builder = builder
        self.booster = booster
        self.calibrator = calibrator
        self.config = config
        self.peers = peers
        self.best_iteration = best_iteration
        self.bounds = bounds
        self.fitted_keys = fitted_keys
        self._tables: DecisionTables | None = None

    @property
    def known_industries(self) -> frozenset[str]:
        """Industries the training history had customers of."""
        return frozenset(self.builder.industry_fallback_kw_) or frozenset(
            self.peers.get("industries", {})
        )

    @property
    def decision_tables(self) -> DecisionTables:
        """Monotone tier decisions (built on first use from the calibration and policy)."""
        if self._tables is None:
            self._tables = DecisionTables(self.calibrator, self.config.policy)
        return self._tables

    # -- prediction ----------------------------------------------------------------------
    def features(self, frames: HistoryFrames) -> pd.DataFrame:
        """The model's features for ``frames`` (the shared feature path)."""
        return self.builder.transform(frames)

    def predict(self, frames: HistoryFrames, features: pd.DataFrame | None = None) -> Prediction:
        """Predict peak, intervals and the recommended capacity for every customer."""
        if features is None:
            built: BuiltFeatures | None = self.builder.transform_arrays(frames)
            assert built is not None
            matrix = built.matrix
            industry = built.text("industry")
            base = self.builder.base_kw_of(built.column("base_kw"), industry)
            has_eq = built.column("has_equipment")
            has_meter = built.column("has_meter") if self.builder.metered_ else None
        else:
            built = None
            matrix = self.builder.matrix(features)
            industry = features["industry"].astype(str).to_numpy()
            base = self.builder.base_kw(features)
            has_eq = features["has_equipment"].to_numpy()
            has_meter = (
                features["has_meter"].to_numpy(dtype=float) if "has_meter" in features else None
            )
        f = self.booster.predict(matrix, num_threads=self.config.num_threads)
        mu = np.log(base) + f
        groups = conformal_group(industry, has_eq, has_meter)
        lo80, hi80 = self.calibrator.interval(mu, groups, 0.80)
        lo90, hi90 = self.calibrator.interval(mu, groups, 0.90)
        rec = recommend_capacity(
            mu, groups, self.calibrator, self.config.policy, self.decision_tables
        )
        return Prediction(
            built=built,
            given_features=features,
            matrix=matrix,
            industry=industry,
            base_kw=base,
            mu=mu,
            groups=groups,
            peak_kw=np.exp(mu),
            low80=np.exp(lo80),
            high80=np.exp(hi80),
            low90=np.exp(lo90),
            high90=np.exp(hi90),
            recommended_kva=rec,
            _col=self._feature_index,
            _model=self,
        )

    @property
    def _feature_index(self) -> dict[str, int]:
        index = self.__dict__.get("_feature_index_cache")
        if index is None:
            index = {name: j for j, name in enumerate(self.builder.feature_names_)}
            self.__dict__["_feature_index_cache"] = index
        return index

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

    def engineering_columns(
        self, frames: HistoryFrames, pred: Prediction
    ) -> pd.DataFrame | dict[str, np.ndarray]:
        """:meth:`engineering_of` as arrays when ``pred`` has them (no frame is built)."""
        if pred.built is not None and pred.built.engineering_arrays is not None:
            return pred.built.engineering_arrays
        return self.engineering_of(frames, pred)

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions in log space (last column: expected value).

        ``X`` is a feature frame or its :meth:`FeatureBuilder.matrix` (e.g. ``Prediction.matrix``).
        """
        matrix = X if isinstance(X, np.ndarray) else self.builder.matrix(X)
        return np.asarray(
            self.booster.predict(matrix, pred_contrib=True, num_threads=self.config.num_threads)
        )
