"""Which loads the customers of an industry list, from the training history (bundle time).

For each industry: how many of its customers have an equipment list, and for each
category the share of those whose list has it (running, non-standby units) and, among
them, the median of the category's kW relative to the rest of their running load. The
service (:mod:`serving.model.completeness`) uses it to say that a data centre lists no
cooling or a hotel no kitchen, how much such peers typically add, and to offer adding it.

Stored in the bundle's ``peers.json`` under ``"completeness"`` (aggregates only).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.build import EXCLUDED_CATEGORIES, HistoryFrames

COMPLETENESS_VERSION = 1


def build_completeness(frames: HistoryFrames) -> dict[str, Any]:
    """Per industry and category: share of listing customers and typical relative kW.

    Parameters
    ----------
    frames
        The training customers and their equipment lines (contract frames).

    Returns
    -------
    dict
        ``{"version": 1, "industries": {industry: {"n": customers with a list,
        "categories": {category: {"share": s, "median_ratio": r, "median_kw": k}}}}}``
        where ``r`` is the category's running kW over the customer's other running kW.
    """
    eq = frames.equipment
    empty: dict[str, Any] = {"version": COMPLETENESS_VERSION, "industries": {}}
    if len(eq) == 0:
        return empty  # an area-only history: no list to compare with
    customers = frames.customers[["customer_id", "industry"]].astype(str)
    running = eq[~eq["standby"].astype(bool) & ~eq["category"].isin(EXCLUDED_CATEGORIES)]
    if len(running) == 0:
        return empty
    kw = (running["rated_kw"].astype(float) * running["quantity"].astype(float)).rename("kw")
    per_cat = (
        pd.concat([running[["customer_id", "category"]].astype(str), kw], axis=1)
        .groupby(["customer_id", "category"], as_index=False)["kw"]
        .sum()
    )
    per_cat = per_cat[per_cat["kw"] > 0]
    if len(per_cat) == 0:
        return empty
    total = per_cat.groupby("customer_id")["kw"].sum().rename("total")
    per_cat = per_cat.join(total, on="customer_id").merge(customers, on="customer_id")
    other = per_cat["total"] - per_cat["kw"]
    per_cat["ratio"] = np.where(other > 0, per_cat["kw"] / other.where(other > 0, 1.0), np.nan)
    listing = per_cat.groupby("industry")["customer_id"].nunique()
    out: dict[str, Any] = {}
    for (industry, category), g in per_cat.groupby(["industry", "category"]):
        n = int(listing[industry])
        cell = out.setdefault(str(industry), {"n": n, "categories": {}})
        ratios = g["ratio"].to_numpy(dtype=float)
        ratios = ratios[np.isfinite(ratios)]
        cell["categories"][str(category)] = {
            "share": float(g["customer_id"].nunique() / n),
            "median_ratio": float(np.median(ratios)) if len(ratios) else None,
            "median_kw": float(np.median(g["kw"].to_numpy(dtype=float))),
        }
    return {"version": COMPLETENESS_VERSION, "industries": out}
