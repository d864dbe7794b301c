"""Contract-conformant histories made differently from :mod:`training.synth`.

Our generator is a demo and a test fixture, not the truth: a model, a bound or a policy
tuned to it may fail on a utility's real history. These worlds share nothing with it but
the contract and the catalog's codes, and each breaks one of its assumptions on purpose.
Tests and benchmarks train and score on them; nothing here is used at run time.

* :func:`small_groups_world`: groups of few units run at 1.3–1.6 × the catalog's Kx (a
  single compressor or oven runs near its rating; the Kx tables assume many units), and
  in one industry the equipment lists miss a third of the load (lighting, sockets and
  HVAC left off a workshop's list).
* :func:`utilisation_world`: every category has a utilisation of its own unrelated to
  the catalog's Kx, every industry a factor, no diversity law, no optional columns, more
  noise.

Both write ``customers.csv`` and ``equipment.csv`` (and ``oracle.csv``: the world's own
expected peak, for the oracle baseline) with the contract's columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.catalog import load_catalog
from features.contract import tier_at_or_above


@dataclass(frozen=True)
class World:
    """A generated history: contract frames and the world's expected peak per customer."""

    customers: pd.DataFrame
    equipment: pd.DataFrame
    oracle: pd.DataFrame

    def write(self, out_dir: Path | str) -> Path:
        """Write ``customers.csv``, ``equipment.csv`` and ``oracle.csv``; returns the folder."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.customers.to_csv(out / "customers.csv", index=False)
        self.equipment.to_csv(out / "equipment.csv", index=False)
        self.oracle.to_csv(out / "oracle.csv", index=False)
        return out

    def split(self, n_first: int) -> tuple[World, World]:
        """The first ``n_first`` customers and the rest, each with its equipment."""
        ids = self.customers["customer_id"]
        first = set(ids.iloc[:n_first])

        def part(mask_c: pd.Series) -> World:
            keep = set(ids[mask_c])
            return World(
                self.customers[mask_c].reset_index(drop=True),
                self.equipment[self.equipment["customer_id"].isin(keep)].reset_index(drop=True),
                self.oracle[self.oracle["customer_id"].isin(keep)].reset_index(drop=True),
            )

        in_first = ids.isin(first)
        return part(in_first), part(~in_first)


def _codes() -> tuple[list[str], list[str], dict[str, float]]:
    catalog = load_catalog()
    cats = [c for c in catalog.category_codes if c != "fire_pump"]
    industries = list(catalog.industry_codes)
    kx = {c: (catalog.categories[c].kx_low + catalog.categories[c].kx_high) / 2 for c in cats}
    return cats, industries, kx


def small_groups_world(
    n: int,
    seed: int,
    *,
    small_group_units: int = 3,
    small_group_factor: tuple[float, float] = (1.3, 1.6),
    missing_share: float = 1.0 / 3.0,
    missing_industry: str = "machinery",
    area_only_share: float = 0.05,
    noise: float = 0.18,
) -> World:
    """Demand factors above the catalog's Kx for small groups; one industry's lists short.

    Parameters
    ----------
    n, seed
        Customers and seed.
    small_group_units
        A group (category) of at most this many units runs at ``small_group_factor`` × Kx.
    small_group_factor
        Range of the small groups' factor over the catalog's mid Kx (drawn per group).
    missing_share
        Share of the true load that ``missing_industry``'s equipment lists leave out.
    area_only_share
        Share of applications without an equipment list.
    noise
        Customer-level log-normal noise of the metered peak.
    """
    rng = np.random.default_rng(seed)
    cats, industries, kx = _codes()
    # Each industry uses a handful of categories more than others.
    favourites = {ind: rng.choice(cats, size=6, replace=False) for ind in industries}
    density = dict(zip(industries, rng.uniform(25, 140, len(industries)), strict=True))
    customers, equipment, oracle = [], [], []
    for i in range(n):
        cid = f"S{seed}-{i:06d}"
        ind = industries[int(rng.integers(len(industries)))]
        area = float(np.round(np.exp(rng.normal(8.2, 0.9))))
        employees = max(1, int(np.round(np.exp(rng.normal(3.5, 0.9)))))
        shifts = int(rng.integers(1, 4))
        if rng.random() < area_only_share:
            expected = area * density[ind] / 1000.0
            nameplate = expected * 3.0
        else:
            k = int(rng.integers(2, 10))
            pool = np.concatenate([favourites[ind], rng.choice(cats, size=3, replace=False)])
            chosen = rng.choice(np.unique(pool), size=min(k, len(np.unique(pool))), replace=False)
            expected = 0.0
            nameplate = 0.0
            for c in chosen:
                kw = float(np.round(np.exp(rng.normal(2.6, 1.1)), 1)) + 0.5
                qty = int(rng.choice([1, 1, 2, 2, 3, 4, 6, 8, 12, 20]))
                standby = bool(qty == 1 and rng.random() < 0.08)
                equipment.append((cid, c, kw, qty, standby))
                if standby:
                    continue
                factor = (
                    rng.uniform(*small_group_factor)
                    if qty <= small_group_units
                    else rng.uniform(0.85, 1.05)
                )
                expected += min(kx[c] * factor, 1.0) * kw * qty
                nameplate += kw * qty
            expected *= 0.9  # groups do not peak together
            if ind == missing_industry:
                expected /= 1.0 - missing_share  # the list shows two thirds of the load
        peak = max(expected * float(np.exp(rng.normal(0.0, noise))), 0.5)
        applied = float(
            tier_at_or_above(max(nameplate, expected) * rng.uniform(1.0, 1.5) / 0.85)[0]
        )
        customers.append((cid, ind, area, employees, shifts, applied, round(peak, 2)))
        oracle.append((cid, max(expected, 0.5)))
    return World(
        pd.DataFrame(
            customers,
            columns=[
                "customer_id",
                "industry",
                "floor_area_m2",
                "employees",
                "shifts",
                "applied_capacity_kva",
                "peak_demand_kw",
            ],
        ),
        pd.DataFrame(
            equipment, columns=["customer_id", "category", "rated_kw", "quantity", "standby"]
        ),
        pd.DataFrame(oracle, columns=["customer_id", "oracle_peak_kw"]),
    )


def utilisation_world(
    n: int, seed: int, *, noise: float = 0.22, area_only_share: float = 0.06
) -> World:
    """Utilisation per category unrelated to Kx, a factor per industry, no optional columns.

    Parameters
    ----------
    n, seed
        Customers and seed.
    noise
        Customer-level log-normal noise of the metered peak.
    area_only_share
        Share of applications without an equipment list.
    """
    rng = np.random.default_rng(seed)
    cats, all_industries, _ = _codes()
    industries = all_industries[:12]
    util = dict(zip(cats, rng.uniform(0.15, 0.85, len(cats)), strict=True))
    ind_factor = dict(zip(industries, rng.uniform(0.7, 1.3, len(industries)), strict=True))
    density = dict(zip(industries, rng.uniform(20, 120, len(industries)), strict=True))
    customers, equipment, oracle = [], [], []
    for i in range(n):
        cid = f"X{i:05d}"
        ind = industries[int(rng.integers(len(industries)))]
        area = float(np.round(np.exp(rng.normal(8.0, 0.8))))
        if rng.random() < area_only_share:
            expected = area * density[ind] / 1000.0
            nameplate = expected * 2.5
        else:
            k = int(rng.integers(1, 9))
            chosen = rng.choice(cats, size=k, replace=False)
            expected = 0.0
            nameplate = 0.0
            for c in chosen:
                kw = float(np.round(np.exp(rng.normal(2.5, 1.0)), 1)) + 0.5
                qty = int(rng.integers(1, 12))
                equipment.append((cid, c, kw, qty))
                expected += util[c] * kw * qty
                nameplate += kw * qty
            expected *= ind_factor[ind]
        peak = expected * float(np.exp(rng.normal(0.0, noise)))
        applied = float(tier_at_or_above(nameplate * rng.uniform(1.0, 1.4) / 0.85)[0])
        customers.append((cid, ind, area, applied, round(max(peak, 0.5), 2)))
        oracle.append((cid, max(expected, 0.5)))
    # Optional columns (climate_zone, employees, shifts; standby, name) are left out.
    return World(
        pd.DataFrame(
            customers,
            columns=[
                "customer_id",
                "industry",
                "floor_area_m2",
                "applied_capacity_kva",
                "peak_demand_kw",
            ],
        ),
        pd.DataFrame(equipment, columns=["customer_id", "category", "rated_kw", "quantity"]),
        pd.DataFrame(oracle, columns=["customer_id", "oracle_peak_kw"]),
    )


WORLDS = {"small_groups": small_groups_world, "utilisation": utilisation_world}
"""The independent worlds by name (benchmarks iterate over them)."""


def junk_world(
    customers: pd.DataFrame,
    equipment: pd.DataFrame,
    out: Path,
    n: int = 20_000,
    peak_factor: float = 10.0,
) -> tuple[Path, Path]:
    """A corrupt export: one customer's record copied ``n`` times, its peak far above its kW.

    The peak is ``peak_factor`` times the installed kW (issue 26: 20,000 such rows, every
    one flagged, trained to 1.0 on its own holdout and promoted). The promotion gate must
    refuse a model trained on it.

    Parameters
    ----------
    customers, equipment
        Validated contract frames to take the customer from (the first with equipment
        lines and a floor area).
    out
        Folder for ``customers.csv`` and ``equipment.csv``.
    """
    with_eq = set(equipment["customer_id"])
    one = customers[
        customers["customer_id"].isin(with_eq) & customers["floor_area_m2"].notna()
    ].iloc[[0]]
    lines = equipment[equipment["customer_id"] == one["customer_id"].iloc[0]]
    installed = float((lines["rated_kw"] * lines["quantity"]).sum())
    ids = [f"J{i:06d}" for i in range(n)]
    cust = pd.concat([one] * n, ignore_index=True).assign(customer_id=ids)
    cust["peak_demand_kw"] = peak_factor * installed
    eq = pd.concat([lines.assign(customer_id=i) for i in ids], ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    cust.to_csv(out / "customers.csv", index=False)
    eq.to_csv(out / "equipment.csv", index=False)
    return out / "customers.csv", out / "equipment.csv"
