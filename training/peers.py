"""Peer statistics from the training history (aggregates only, stored in the bundle)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from serving.model.peers import QUANTILES, scale_band


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
