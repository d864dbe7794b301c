"""Calibrated predictive distributions: Mondrian split-conformal on log residuals.

The model predicts ``mu = E[log peak]``. On a calibration split that the booster never
saw, the residuals ``r = log(peak) - mu`` are collected per group (industry, with
area-only applications as their own group, because their uncertainty is much wider);
groups with too few residuals fall back to the pooled residuals. The predictive CDF of a
new customer is the empirical CDF of its group's residuals shifted by ``mu`` — which is
what the tier policy integrates — and the central ``1 - alpha`` interval uses the split-
conformal finite-sample quantiles, so its coverage is guaranteed on exchangeable data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

AREA_ONLY_GROUP = "__area_only__"
POOLED_GROUP = "__pooled__"


def conformal_group(industry: np.ndarray, has_equipment: np.ndarray) -> np.ndarray:
    """The Mondrian group of each row: its industry, or the area-only group."""
    ind = np.asarray(industry).astype(str)
    eq = np.asarray(has_equipment, dtype=float) > 0
    return np.where(eq, ind, AREA_ONLY_GROUP)


class ResidualCalibrator:
    """Per-group empirical residual distributions with a pooled fallback.

    Parameters
    ----------
    min_group_size
        Groups with fewer calibration residuals use the pooled distribution.
    """

    def __init__(self, min_group_size: int = 150) -> None:
        self.min_group_size = min_group_size

    def fit(self, residuals: np.ndarray, groups: np.ndarray) -> ResidualCalibrator:
        """Store sorted residuals per group (and pooled)."""
        res = np.asarray(residuals, dtype=float)
        grp = np.asarray(groups).astype(str)
        if res.shape != grp.shape:
            raise ValueError(f"residuals and groups differ in length: {res.shape} vs {grp.shape}")
        ok = np.isfinite(res)
        if ok.sum() < 20:
            raise ValueError(
                f"calibration needs at least 20 finite residuals, received {int(ok.sum())}"
            )
        res, grp = res[ok], grp[ok]
        self.residuals_: dict[str, np.ndarray] = {POOLED_GROUP: np.sort(res)}
        for g in np.unique(grp):
            r = res[grp == g]
            if len(r) >= self.min_group_size:
                self.residuals_[str(g)] = np.sort(r)
        return self

    def _resolve(self, groups: np.ndarray) -> np.ndarray:
        grp = np.asarray(groups).astype(str)
        return np.where(np.isin(grp, list(self.residuals_)), grp, POOLED_GROUP)

    def cdf(self, mu: np.ndarray, groups: np.ndarray, log_x: np.ndarray) -> np.ndarray:
        """P(log peak <= log_x) for each row (``log_x`` may be 2-D: rows × candidates)."""
        mu = np.asarray(mu, dtype=float)
        log_x = np.asarray(log_x, dtype=float)
        z = log_x - (mu[:, None] if log_x.ndim == 2 else mu)
        out = np.empty_like(z, dtype=float)
        resolved = self._resolve(groups)
        for g in np.unique(resolved):
            rows = resolved == g
            sorted_res = self.residuals_[str(g)]
            n = len(sorted_res)
            # (count of residuals <= z) / (n + 1): the conformal (slightly conservative)
            # predictive distribution; never exactly 0 or 1 within the data range.
            out[rows] = np.searchsorted(sorted_res, z[rows], side="right") / (n + 1)
        return out

    def quantile(self, mu: np.ndarray, groups: np.ndarray, q: float) -> np.ndarray:
        """Split-conformal quantile of log peak at level ``q`` for each row."""
        mu = np.asarray(mu, dtype=float)
        out = np.empty_like(mu)
        resolved = self._resolve(groups)
        for g in np.unique(resolved):
            rows = resolved == g
            out[rows] = mu[rows] + _conformal_quantile(self.residuals_[str(g)], q)
        return out

    def interval(
        self, mu: np.ndarray, groups: np.ndarray, coverage: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Central predictive interval of log peak with nominal ``coverage``."""
        alpha = 1.0 - coverage
        return (
            self.quantile(mu, groups, alpha / 2.0),
            self.quantile(mu, groups, 1.0 - alpha / 2.0),
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form for the model bundle."""
        return {
            "min_group_size": self.min_group_size,
            "residuals": {k: v.tolist() for k, v in self.residuals_.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResidualCalibrator:
        """Inverse of :meth:`to_dict`."""
        obj = cls(min_group_size=int(data["min_group_size"]))
        obj.residuals_ = {k: np.asarray(v, dtype=float) for k, v in data["residuals"].items()}
        if POOLED_GROUP not in obj.residuals_:
            raise ValueError("calibration data has no pooled residuals: the bundle is corrupted")
        return obj


def _conformal_quantile(sorted_res: np.ndarray, q: float) -> float:
    """Finite-sample split-conformal quantile: the ceil((n+1)q)-th smallest residual."""
    n = len(sorted_res)
    if q >= 0.5:
        k = math.ceil((n + 1) * q)
        return float(sorted_res[min(k, n) - 1])
    k = math.floor((n + 1) * q)
    return float(sorted_res[max(k, 1) - 1])
