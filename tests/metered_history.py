"""A small history with existing customers (增容 / 减容 / 暂停) for the tests of the metered path.

The session fixture history (``tests/conftest.py``) has no existing customers, so a model
trained on it refuses meter readings. This helper turns part of a small synthetic history
into existing customers whose twelve monthly readings are drawn from their own labelled
peak (a load factor and a seasonal swing per customer, a demand meter on about a third of
them), with a capacity in service that is, by construction, far too large for some, far
too small for others and about right for the rest: the installed-base review must tell
those apart, and a model that ignored the readings could not.

Nothing here is a product default: the figures are the test world's, chosen to be varied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.contract import DEFAULT_SIZING, EXISTING_TYPES, tier_at_or_above
from features.metering import hours_in_month
from training.synth.history import SynthConfig, generate_history, write_history

YEAR = 2025
EXISTING_SHARE = 0.45
"""Share of the history turned into existing customers."""
LOAD_RATE_TODAY = {"oversized": (0.12, 0.30), "right": (0.55, 0.85), "undersized": (1.15, 1.6)}
"""Peak / (capacity × pf) of the capacity in service, per built-in group."""


def write_metered_history(out: Path, n: int = 1500, seed: int = 5) -> dict[str, Path]:
    """Write customers.csv, equipment.csv and meter_readings.csv of a metered history.

    Returns the three paths (keys ``customers``, ``equipment``, ``meter_readings``) and
    ``truth``: a CSV of each existing customer's built-in group (``oversized``, ``right``,
    ``undersized`` against its capacity in service).
    """
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "raw"
    write_history(generate_history(SynthConfig(n=n, seed=seed)), raw)
    customers = pd.read_csv(raw / "customers.csv", dtype=str, keep_default_na=False)
    equipment = pd.read_csv(raw / "equipment.csv", dtype=str, keep_default_na=False)
    peak = pd.to_numeric(customers["peak_demand_kw"], errors="coerce")
    # Only well-formed labelled rows become existing customers (the synthetic history
    # carries deliberately dirty rows; those stay new and are rejected as before).
    ok = peak.notna() & (peak > 5) & (peak < 3000)
    ok &= ~customers["customer_id"].duplicated(keep=False)
    pick = rng.random(len(customers)) < EXISTING_SHARE
    existing = (ok & pick).to_numpy()
    idx = np.flatnonzero(existing)
    groups = rng.choice(list(LOAD_RATE_TODAY), size=len(idx), p=[0.4, 0.4, 0.2])
    rate = np.array([rng.uniform(*LOAD_RATE_TODAY[g]) for g in groups])
    peak_kw = peak.to_numpy(dtype=float)[idx]
    capacity = tier_at_or_above(peak_kw / (DEFAULT_SIZING.power_factor * rate))
    customers["application_type"] = "new"
    customers["existing_capacity_kva"] = ""
    customers.loc[idx, "application_type"] = rng.choice(list(EXISTING_TYPES), size=len(idx))
    customers.loc[idx, "existing_capacity_kva"] = [f"{c:g}" for c in capacity]
    # An existing customer's equipment lists only its change: here none (sized from the meter).
    ids = set(customers.loc[idx, "customer_id"])
    equipment = equipment[~equipment["customer_id"].isin(ids)]

    months = np.arange(1, 13)
    hours = hours_in_month(np.full(12, YEAR), months)
    rows = []
    for k, i in enumerate(idx):
        load_factor = rng.uniform(0.25, 0.6)
        swing = rng.uniform(0.0, 0.3)
        phase = rng.uniform(0, 2 * np.pi)
        shape = 1.0 + swing * np.cos(2 * np.pi * months / 12 + phase)
        mean = peak_kw[k] * load_factor * shape / shape.max()
        demand_meter = rng.random() < 0.35
        for m, h, mu in zip(months, hours, mean, strict=True):
            noise = rng.uniform(0.92, 1.0)
            demand = peak_kw[k] * noise * (mu / mean.max()) ** 0.5 if demand_meter else None
            rows.append(
                {
                    "customer_id": customers.at[i, "customer_id"],
                    "period": f"{YEAR}-{m:02d}",
                    "energy_kwh": round(float(mu * h), 1),
                    "max_demand_kw": ""
                    if demand is None
                    else round(float(max(demand, mu * 1.05)), 1),
                }
            )
    paths = {
        "customers": out / "customers.csv",
        "equipment": out / "equipment.csv",
        "meter_readings": out / "meter_readings.csv",
        "truth": out / "truth.csv",
    }
    customers.to_csv(paths["customers"], index=False)
    equipment.to_csv(paths["equipment"], index=False)
    pd.DataFrame(rows).to_csv(paths["meter_readings"], index=False)
    pd.DataFrame(
        {"customer_id": customers.loc[idx, "customer_id"].to_numpy(), "group": groups}
    ).to_csv(paths["truth"], index=False)
    return paths
