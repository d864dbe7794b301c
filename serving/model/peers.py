"""Peer statistics as served: same industry, same scale band ("同行业、同规模").

The statistics are built from the training history (:mod:`training.peers`) and stored in
the model bundle as aggregates only (counts and quantiles): no customer's identity or
individual record leaves training. This module holds what both sides share: the scale
bands and the percentile lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SCALE_BANDS_KW: tuple[float, ...] = (0.0, 100.0, 315.0, 1000.0, 3000.0, 10000.0, float("inf"))
"""Scale bands on non-standby installed kW (area-only customers: on floor area)."""
SCALE_BANDS_M2: tuple[float, ...] = (0.0, 1000.0, 5000.0, 20000.0, 80000.0, float("inf"))
QUANTILES: tuple[float, ...] = (0.05, 0.10, 0.50, 0.90, 0.95)


def _band_labels(edges: tuple[float, ...], unit: str) -> list[str]:
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        labels.append(f"{lo:g}+ {unit}" if np.isinf(hi) else f"{lo:g}-{hi:g} {unit}")
    return labels


_KW_LABELS = np.array(_band_labels(SCALE_BANDS_KW, "kW"), dtype=object)
_M2_LABELS = np.array(_band_labels(SCALE_BANDS_M2, "m2"), dtype=object)


def scale_band(total_kw: np.ndarray, floor_area_m2: np.ndarray) -> np.ndarray:
    """Scale band label per row: by installed kW, or by floor area when there is no list."""
    kw = np.asarray(total_kw, dtype=float)
    area = np.asarray(floor_area_m2, dtype=float)
    kw_labels, m2_labels = _KW_LABELS, _M2_LABELS
    kw_idx = np.clip(np.searchsorted(SCALE_BANDS_KW, kw, side="right") - 1, 0, len(kw_labels) - 1)
    m2_idx = np.clip(
        np.searchsorted(SCALE_BANDS_M2, np.nan_to_num(area), side="right") - 1,
        0,
        len(m2_labels) - 1,
    )
    out = np.where(kw > 0, kw_labels[kw_idx], m2_labels[m2_idx])
    out = np.where((kw <= 0) & ~(area > 0), "unknown scale", out)
    return out.astype(object)


def percentile_in(value: float, q: dict[str, float] | None) -> float | None:
    """Approximate percentile of ``value`` within peers by interpolating their quantiles."""
    if q is None or not np.isfinite(value):
        return None
    xs = [q["p5"], q["p10"], q["p50"], q["p90"], q["p95"]]
    ys = [5.0, 10.0, 50.0, 90.0, 95.0]
    if value <= xs[0]:
        return 5.0 if value == xs[0] else 2.5
    if value >= xs[-1]:
        return 95.0 if value == xs[-1] else 97.5
    return float(np.interp(value, xs, ys))


def percentiles_in(values: np.ndarray, q: dict[str, float] | None) -> np.ndarray:
    """:func:`percentile_in` of each of ``values`` within one cell (NaN for None)."""
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), np.nan)
    if q is None:
        return out
    xs = [q["p5"], q["p10"], q["p50"], q["p90"], q["p95"]]
    finite = np.isfinite(values)
    low = finite & (values <= xs[0])
    high = finite & ~low & (values >= xs[-1])
    middle = finite & ~low & ~high
    out[low] = np.where(values[low] == xs[0], 5.0, 2.5)
    out[high] = np.where(values[high] == xs[-1], 95.0, 97.5)
    # np.interp on an array computes each point as it does a scalar: the same floats.
    out[middle] = np.interp(values[middle], xs, [5.0, 10.0, 50.0, 90.0, 95.0])
    return out


MIN_PEERS = 20
"""Fewest customers a (industry, scale) cell needs before the industry as a whole is used."""


@dataclass
class PeerLookup:
    """Per row: the peer cell used and where the prediction falls within it."""

    band: np.ndarray  # scale band label
    level: np.ndarray  # industry_and_scale, industry or none
    n: np.ndarray  # customers in the cell
    cells: list[dict[str, Any] | None]
    per_kw: np.ndarray  # predicted peak ÷ installed kW (NaN without a list)
    per_m2: np.ndarray  # predicted W/m² (NaN without an area)
    pct_kw: np.ndarray  # percentile among the peers (NaN where not comparable)
    pct_m2: np.ndarray
    outside: np.ndarray  # outside the peers' P5–P95 on either measure
    too_few: np.ndarray  # fewer than min_peers peers


def peer_lookup(
    stats: dict[str, Any],
    industry: np.ndarray,
    total_kw: np.ndarray,
    floor_area_m2: np.ndarray,
    peak_kw: np.ndarray,
    min_peers: int = MIN_PEERS,
) -> PeerLookup:
    """Compare each row's predicted peak with its same-industry, same-scale peers."""
    industry = np.asarray(industry).astype(str)
    total = np.asarray(total_kw, dtype=float)
    area = np.asarray(floor_area_m2, dtype=float)
    peak = np.asarray(peak_kw, dtype=float)
    n_rows = len(industry)
    band = scale_band(total, area)
    cells = stats.get("cells", {})
    industries = stats.get("industries", {})
    chosen: list[dict[str, Any] | None] = []
    level = np.empty(n_rows, dtype=object)
    for i in range(n_rows):
        cell = cells.get(f"{industry[i]}|{band[i]}")
        lvl = "industry_and_scale"
        if cell is None or cell["n"] < min_peers:
            cell = industries.get(industry[i])
            lvl = "industry" if cell is not None else "none"
        chosen.append(cell)
        level[i] = lvl
    with np.errstate(divide="ignore", invalid="ignore"):
        per_kw = np.where(total > 0, peak / total, np.nan)
        per_m2 = np.where(area > 0, peak * 1000.0 / area, np.nan)
    pct_kw = np.full(n_rows, np.nan)
    pct_m2 = np.full(n_rows, np.nan)
    # One vectorised lookup per cell (a batch has tens of cells for thousands of rows).
    rows_of: dict[int, list[int]] = {}
    cell_of: dict[int, dict[str, Any]] = {}
    for i, cell in enumerate(chosen):
        if cell is not None:
            rows_of.setdefault(id(cell), []).append(i)
            cell_of[id(cell)] = cell
    for key, members in rows_of.items():
        rows = np.array(members, dtype=np.int64)
        cell = cell_of[key]
        pct_kw[rows] = percentiles_in(per_kw[rows], cell.get("peak_per_installed_kw"))
        pct_m2[rows] = percentiles_in(per_m2[rows], cell.get("peak_w_per_m2"))
    with np.errstate(invalid="ignore"):
        outside = (pct_kw < 5) | (pct_kw > 95) | (pct_m2 < 5) | (pct_m2 > 95)
    n = np.array([0 if c is None else int(c["n"]) for c in chosen], dtype=np.int64)
    return PeerLookup(
        band=band,
        level=level,
        n=n,
        cells=chosen,
        per_kw=per_kw,
        per_m2=per_m2,
        pct_kw=pct_kw,
        pct_m2=pct_m2,
        outside=outside,
        too_few=n < min_peers,
    )
