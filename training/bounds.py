"""Learning the sanity bounds from the training history (see :mod:`serving.model.bounds`)."""

from __future__ import annotations

import numpy as np

from serving.model.bounds import BASES, POOLED, BoundsConfig, LearnedBounds, RatioBound


def _ratio_table(
    ratio: np.ndarray,
    industry: np.ndarray,
    tail: float,
    config: BoundsConfig,
) -> dict[str, RatioBound]:
    """Shrunk low/high quantiles of one ratio per industry, plus the pooled figure."""
    ok = np.isfinite(ratio) & (ratio > 0)
    if ok.sum() < config.min_rows:
        return {}
    log_r = np.log(ratio[ok])
    ind = industry[ok]
    n_all = len(log_r)
    q_lo, q_hi = np.quantile(log_r, [tail, 1.0 - tail])
    table = {POOLED: RatioBound(float(np.exp(q_lo)), float(np.exp(q_hi)), n_all, n_all, POOLED)}
    for code in np.unique(ind):
        r = log_r[ind == code]
        if len(r) < config.min_rows:
            continue
        lo, hi = np.quantile(r, [tail, 1.0 - tail])
        # Extreme quantiles of a small group are its few most extreme customers: shrink in
        # log space towards the pooled tail in proportion to the data behind each.
        w = len(r) / (len(r) + config.shrink_rows)
        table[str(code)] = RatioBound(
            float(np.exp(w * lo + (1 - w) * q_lo)),
            float(np.exp(w * hi + (1 - w) * q_hi)),
            len(r),
            n_all,
            str(code),
        )
    return table


def fit_bounds(
    peak_kw: np.ndarray,
    industry: np.ndarray,
    basis: np.ndarray,
    total_kw: np.ndarray,
    s30_kva: np.ndarray,
    config: BoundsConfig,
    tail: float | None = None,
) -> LearnedBounds:
    """Ratio quantiles per industry from training customers (labels and their applications).

    Parameters
    ----------
    peak_kw
        Metered peaks of the training customers.
    industry, basis
        Industry code and basis (``equipment``/``area``/``industry``) per customer.
    total_kw
        Non-standby installed kW (0 without an equipment list).
    s30_kva
        Demand-coefficient S30 (compensated), NaN where there is none.
    config
        Quantile level, shrinkage and the physical rule's base load.
    tail
        Overrides ``config.tail`` (the fit widens it to respect ``max_clamp_share``).
    """
    tail = config.tail if tail is None else tail
    peak = np.asarray(peak_kw, dtype=float)
    industry = np.asarray(industry).astype(str)
    basis = np.asarray(basis).astype(str)
    total = np.asarray(total_kw, dtype=float)
    s30 = np.asarray(s30_kva, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        by_s30 = peak / s30
        by_kw = np.where(total > 0, peak / total, np.nan)
    table: dict[str, dict[str, RatioBound]] = {}
    for b in BASES:
        rows = basis == b
        t = _ratio_table(by_s30[rows], industry[rows], tail, config)
        if t:
            table[f"s30|{b}"] = t
    rows = basis == "equipment"
    t = _ratio_table(by_kw[rows], industry[rows], tail, config)
    if t:
        table["installed|equipment"] = t
    return LearnedBounds((tail, 1.0 - tail), table, config.base_load_share)
