"""Peer statistics: same industry, same scale band ("同行业、同规模").

Computed from the training history and stored in the model bundle as aggregates only
(counts and quantiles): no customer's identity or individual record leaves training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SCALE_BANDS_KW: tuple[float, ...] = (0.0, 100.0, 315.0, 1000.0, 3000.0, 10000.0, float("inf"))
"""Scale bands on non-standby installed kW (area-only customers: on floor area)."""
SCALE_BANDS_M2: tuple[float, ...] = (0.0, 1000.0, 5000.0, 20000.0, 80000.0, float("inf"))
QUANTILES: tuple[float, ...] = (0.05, 0.10, 0.50, 0.90, 0.95)


def _band_labels(edges: tuple[float, ...], unit: str) -> list[str]:
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        labels.append(f"{lo:g}+ {unit}" if np.isinf(hi) else f"{lo:g}-{hi:g} {unit}")
    return labels


def scale_band(total_kw: np.ndarray, floor_area_m2: np.ndarray) -> np.ndarray:
    """Scale band label per row: by installed kW, or by floor area when there is no list."""
    kw = np.asarray(total_kw, dtype=float)
    area = np.asarray(floor_area_m2, dtype=float)
    kw_labels = np.array(_band_labels(SCALE_BANDS_KW, "kW"), dtype=object)
    m2_labels = np.array(_band_labels(SCALE_BANDS_M2, "m2"), dtype=object)
    kw_idx = np.clip(np.searchsorted(SCALE_BANDS_KW, kw, side="right") - 1, 0, len(kw_labels) - 1)
    m2_idx = np.clip(
        np.searchsorted(SCALE_BANDS_M2, np.nan_to_num(area), side="right") - 1,
        0,
        len(m2_labels) - 1,
    )
    out = np.where(kw > 0, kw_labels[kw_idx], m2_labels[m2_idx])
    out = np.where((kw <= 0) & ~(area > 0), "unknown scale", out)
    return out.astype(object)


def _quantiles(values: pd.Series) -> dict[str, float] | None:
    v = values[np.isfinite(values) & (values > 0)]
    if len(v) == 0:
        return None
    qs = np.quantile(v.to_numpy(), QUANTILES)
    return {f"p{int(round(q * 100))}": float(x) for q, x in zip(QUANTILES, qs, strict=True)}


def build_peer_stats(
    industry: np.ndarray,
    total_kw: np.ndarray,
    floor_area_m2: np.ndarray,
    peak_kw: np.ndarray,
) -> dict[str, Any]:
    """Aggregate peer statistics per (industry, scale band) and per industry."""
    frame = pd.DataFrame(
        {
            "industry": np.asarray(industry).astype(str),
            "band": scale_band(total_kw, floor_area_m2),
            "total_kw": np.asarray(total_kw, dtype=float),
            "area": np.asarray(floor_area_m2, dtype=float),
            "peak": np.asarray(peak_kw, dtype=float),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["per_kw"] = np.where(frame["total_kw"] > 0, frame["peak"] / frame["total_kw"], np.nan)
        frame["per_m2"] = np.where(
            frame["area"] > 0, frame["peak"] * 1000.0 / frame["area"], np.nan
        )

    def summarise(g: pd.DataFrame) -> dict[str, Any]:
        return {
            "n": int(len(g)),
            "peak_kw": _quantiles(g["peak"]),
            "peak_per_installed_kw": _quantiles(g["per_kw"]),
            "peak_w_per_m2": _quantiles(g["per_m2"]),
        }

    cells = {
        f"{ind}|{band}": summarise(g) for (ind, band), g in frame.groupby(["industry", "band"])
    }
    industries = {str(ind): summarise(g) for ind, g in frame.groupby("industry")}
    return {"cells": cells, "industries": industries, "quantiles": list(QUANTILES)}


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
