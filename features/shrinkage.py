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


def _finite(log_values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The finite values and their groups as text; none at all is an error, said so."""
    x = np.asarray(log_values, dtype=float)
    g = np.asarray(groups).astype(str)
    ok = np.isfinite(x)
    if not ok.any():
        raise ValueError("shrinkage needs at least one finite value, received none")
    return x[ok], g[ok]


def _repeat_spread(x: np.ndarray, g: np.ndarray, codes: np.ndarray) -> float | None:
    """Within-group σ from the groups with at least two values (None below 3 such dof).

    Each group's values less its median, scaled by ``sqrt(n / (n − 1))`` (what centring on
    the group's own figure removes), then the robust σ of them all. A group of one says
    nothing of the spread: its centred value is 0 by construction, and counting it pulls
    the σ below the truth when most groups have one customer.
    """
    parts = []
    for c in codes:
        v = x[g == c]
        if len(v) >= 2:
            parts.append((v - np.median(v)) * np.sqrt(len(v) / (len(v) - 1.0)))
    if sum(len(p) - 1 for p in parts) < 3:
        return None
    return _mad_sigma(np.concatenate(parts))


def shrink_log_location(
    log_values: np.ndarray,
    groups: np.ndarray,
    min_prior_rows: float = 1.0,
    spread_from_repeats: bool = False,
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
    spread_from_repeats
        Estimate the within-group spread from the groups with two or more values only
        (:func:`_repeat_spread`), for figures where most groups have one customer.

    Returns
    -------
    ShrunkLocations
        Estimates for every group present, the weights and counts behind them.
    """
    x, g = _finite(log_values, groups)
    pooled = float(np.median(x))
    codes = np.unique(g)
    med = {c: float(np.median(x[g == c])) for c in codes}
    n = {c: int(np.sum(g == c)) for c in codes}
    # Within-group spread: robust, pooled over groups by their counts.
    repeat = _repeat_spread(x, g, codes) if spread_from_repeats else None
    if repeat is None:
        centred = np.concatenate([x[g == c] - med[c] for c in codes])
        sigma2 = _mad_sigma(centred) ** 2
    else:
        sigma2 = repeat**2
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


CLUSTER_LEVEL = 0.01
"""A cluster of groups is split only if its homogeneity is rejected at this level."""


def _cluster_groups(
    med: dict[str, float], n: dict[str, int], sigma2: float, level: float = CLUSTER_LEVEL
) -> list[list[str]]:
    """Groups clustered by their medians, split only where the data demands it.

    Divisive: all groups start in one cluster. A cluster whose group medians are not
    homogeneous (Cochran's Q, ``sum n_c (med_c - centre)² / ((π/2)·σ²)`` against χ² with
    ``k - 1`` degrees of freedom, at ``level``) is cut at the point of its sorted medians
    that leaves the least within-cluster spread, and each part is tested again. Groups
    that differ only by noise stay in one cluster (the middle level is then the pooled
    one and nothing changes); a cluster is a set of groups the data cannot tell apart,
    not a sector anyone declared.
    """
    from scipy import stats

    def q_rejects(cl: list[str]) -> bool:
        if len(cl) < 2:
            return False
        w = np.array([n[c] for c in cl], dtype=float)
        m = np.array([med[c] for c in cl])
        centre = float(np.sum(w * m) / np.sum(w))
        q = float(np.sum(w * (m - centre) ** 2) / (MEDIAN_VARIANCE_FACTOR * sigma2))
        return q > float(stats.chi2.ppf(1.0 - level, len(cl) - 1))

    def best_cut(cl: list[str]) -> int:
        w = np.array([n[c] for c in cl], dtype=float)
        m = np.array([med[c] for c in cl])
        costs = []
        for i in range(1, len(cl)):
            cost = 0.0
            for part in (slice(0, i), slice(i, None)):
                centre = np.sum(w[part] * m[part]) / np.sum(w[part])
                cost += float(np.sum(w[part] * (m[part] - centre) ** 2))
            costs.append(cost)
        return 1 + int(np.argmin(costs))

    if sigma2 <= 0:
        return [sorted(med)]
    todo = [sorted(med, key=lambda c: (med[c], c))]
    done: list[list[str]] = []
    while todo:
        cl = todo.pop()
        if q_rejects(cl):
            i = best_cut(cl)
            todo += [cl[:i], cl[i:]]
        else:
            done.append(cl)
    return sorted(done, key=lambda cl: (med[cl[0]], cl[0]))


def _prior_rows(
    locations: dict[str, float],
    n: dict[str, int],
    centre: dict[str, float],
    sigma2: float,
    min_prior_rows: float,
) -> float:
    """``k = v·σ²/τ²`` of groups around their centres (method of moments, as above)."""
    if len(locations) < 2:
        return float(min_prior_rows)
    excess = [
        (locations[c] - centre[c]) ** 2 - MEDIAN_VARIANCE_FACTOR * sigma2 / n[c] for c in locations
    ]
    tau2 = float(np.mean(excess))
    if tau2 <= 0:
        return MAX_PRIOR_ROWS
    return float(np.clip(MEDIAN_VARIANCE_FACTOR * sigma2 / tau2, min_prior_rows, MAX_PRIOR_ROWS))


def shrink_log_location_hierarchical(
    log_values: np.ndarray, groups: np.ndarray, min_prior_rows: float = 1.0
) -> ShrunkLocations:
    """:func:`shrink_log_location` with a middle level learned from the data.

    Groups are clustered by their medians (:func:`_cluster_groups`: groups whose
    medians do not differ beyond their noise); each cluster's median is shrunk towards
    the pooled one, each group's towards its cluster's shrunk figure, both with ``k``
    estimated by the method of moments (between clusters, and between groups within
    their clusters). With one cluster this is :func:`shrink_log_location`. Why: when a
    few groups sit far from the rest (an industry whose lists leave out a third of its
    load), one normal prior over all groups both over-shrinks those and, their spread
    inflating ``τ²``, under-shrinks the many groups that differ only by noise.

    Returns
    -------
    ShrunkLocations
        As :func:`shrink_log_location`; ``weight`` is each group's weight on its own
        median, ``prior_rows`` the within-cluster ``k``.
    """
    x, g = _finite(log_values, groups)
    if len(np.unique(g)) < 3:
        return shrink_log_location(x, g, min_prior_rows)
    clustered = _clustered_shrinkage(x, g, min_prior_rows)
    if clustered is None or not _middle_level_helps(x, g, min_prior_rows):
        return shrink_log_location(x, g, min_prior_rows)
    return clustered


def _middle_level_helps(x: np.ndarray, g: np.ndarray, min_prior_rows: float) -> bool:
    """Whether clusters predict each group's other half better than one prior (2-fold).

    Every group's rows are split alternately into two halves; both shrinkages are fitted
    on one half and scored by the squared distance of their estimates to the other
    half's medians (count-weighted), both ways round. Why: clusters cut from noisy
    medians also appear where the groups' true figures spread evenly, and there one
    prior over all groups is the better model; the held-out half tells them apart.
    """
    half = np.zeros(len(x), dtype=bool)
    for c in np.unique(g):
        rows = np.flatnonzero(g == c)
        half[rows[1::2]] = True
    err = {"flat": 0.0, "clustered": 0.0}
    for fit_rows in (~half, half):
        held = ~fit_rows
        fit_x, fit_g = x[fit_rows], g[fit_rows]
        if len(np.unique(fit_g)) < 3 or not held.any():
            return False
        flat = shrink_log_location(fit_x, fit_g, min_prior_rows)
        clustered = _clustered_shrinkage(fit_x, fit_g, min_prior_rows) or flat
        for c in np.unique(g[held]):
            if c not in flat.estimate:
                continue
            target = float(np.median(x[held & (g == c)]))
            w = float(np.sum(held & (g == c)))
            err["flat"] += w * (flat.estimate[c] - target) ** 2
            err["clustered"] += w * (clustered.estimate[c] - target) ** 2
    return err["clustered"] < err["flat"]


def _clustered_shrinkage(
    x: np.ndarray, g: np.ndarray, min_prior_rows: float
) -> ShrunkLocations | None:
    """Industry → cluster → pooled shrinkage; None when the groups form one cluster."""
    codes = np.unique(g)
    pooled = float(np.median(x))
    med = {c: float(np.median(x[g == c])) for c in codes}
    n = {c: int(np.sum(g == c)) for c in codes}
    centred = np.concatenate([x[g == c] - med[c] for c in codes])
    sigma2 = _mad_sigma(centred) ** 2
    clusters = _cluster_groups(med, n, sigma2)
    if len(clusters) == 1:
        return None
    # Cluster level: each cluster's median of all its rows, shrunk towards the pooled one.
    names = [f"cluster{i}" for i in range(len(clusters))]
    member = {c: names[i] for i, cl in enumerate(clusters) for c in cl}
    cl_med = {names[i]: float(np.median(x[np.isin(g, cl)])) for i, cl in enumerate(clusters)}
    cl_n = {names[i]: int(sum(n[c] for c in cl)) for i, cl in enumerate(clusters)}
    k_between = _prior_rows(cl_med, cl_n, dict.fromkeys(cl_med, pooled), sigma2, min_prior_rows)
    cl_est = {k: (cl_n[k] * cl_med[k] + k_between * pooled) / (cl_n[k] + k_between) for k in cl_med}
    # Group level: each group towards its cluster's figure.
    k_within = _prior_rows(med, n, {c: cl_med[member[c]] for c in codes}, sigma2, min_prior_rows)
    weight = {c: n[c] / (n[c] + k_within) for c in codes}
    estimate = {c: weight[c] * med[c] + (1.0 - weight[c]) * cl_est[member[c]] for c in codes}
    return ShrunkLocations(pooled, estimate, weight, n, k_within)
