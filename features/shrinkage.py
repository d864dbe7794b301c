"""Empirical-Bayes shrinkage of per-group figures towards the pooled one.

A utility's industries are uneven: a few hundred customers of one, a dozen of another. A
figure read off a dozen customers (an industry's peak per m², its typical peak) is mostly
noise, one read off a thousand is the industry's own. :func:`shrink_log_location` gives
every group the precision-weighted compromise

    estimate_g = w_g · own_g + (1 - w_g) · pooled,   w_g = n_g / (n_g + k),

on log values, with ``k = v · sigma² / tau²`` estimated from the data (method of moments,
as in James–Stein / empirical Bayes): ``sigma²`` is the spread of customers within their
group, ``tau²`` the spread of the groups' true locations around the pooled one, and
``v = pi / 2`` the variance factor of a median (medians keep a few metering errors from
moving a group's figure). Groups whose locations really differ (large ``tau²``) keep their
own figures from few customers on; groups that differ only by noise are pooled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MEDIAN_VARIANCE_FACTOR = np.pi / 2.0
"""Var(median) ≈ (π/2)·σ²/n for a normal sample."""
MAX_PRIOR_ROWS = 1.0e6
"""``k`` when the groups do not differ at all (every group takes the pooled figure)."""


@dataclass(frozen=True)
class ShrunkLocations:
    """Per-group shrunk log locations and the data behind each."""

    pooled: float
    estimate: dict[str, float]
    weight: dict[str, float]
    n: dict[str, int]
    prior_rows: float
    """``k``: a group of ``k`` customers gets half its own figure, half the pooled one."""


def _mad_sigma(x: np.ndarray) -> float:
    """Robust standard deviation (1.4826 · median absolute deviation)."""
    if len(x) < 2:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def shrink_log_location(
    log_values: np.ndarray, groups: np.ndarray, min_prior_rows: float = 1.0
) -> ShrunkLocations:
    """Median of ``log_values`` per group, shrunk towards the pooled median.

    Parameters
    ----------
    log_values
        One finite value per customer (e.g. log of peak ÷ design estimate).
    groups
        The customer's group (e.g. industry code), aligned with ``log_values``.
    min_prior_rows
        Least ``k``: even with very different groups a single customer is not its
        group's figure alone.

    Returns
    -------
    ShrunkLocations
        Estimates for every group present, the weights and counts behind them.
    """
    x = np.asarray(log_values, dtype=float)
    g = np.asarray(groups).astype(str)
    ok = np.isfinite(x)
    x, g = x[ok], g[ok]
    if not len(x):
        raise ValueError("shrinkage needs at least one finite value, received none")
    pooled = float(np.median(x))
    codes = np.unique(g)
    med = {c: float(np.median(x[g == c])) for c in codes}
    n = {c: int(np.sum(g == c)) for c in codes}
    # Within-group spread: robust, pooled over groups by their counts.
    centred = np.concatenate([x[g == c] - med[c] for c in codes])
    sigma2 = _mad_sigma(centred) ** 2
    if len(codes) < 2:
        k = float(min_prior_rows)
    else:
        # Between-group spread of the true locations: the medians' spread around the
        # pooled figure less what their own sampling noise explains.
        excess = [(med[c] - pooled) ** 2 - MEDIAN_VARIANCE_FACTOR * sigma2 / n[c] for c in codes]
        tau2 = float(np.mean(excess))
        if tau2 <= 0:
            k = MAX_PRIOR_ROWS
        else:
            k = float(
                np.clip(MEDIAN_VARIANCE_FACTOR * sigma2 / tau2, min_prior_rows, MAX_PRIOR_ROWS)
            )
    weight = {c: n[c] / (n[c] + k) for c in codes}
    estimate = {c: weight[c] * med[c] + (1.0 - weight[c]) * pooled for c in codes}
    return ShrunkLocations(pooled, estimate, weight, n, k)
