"""Contract-conformant histories made differently from :mod:`training.synth.history`.

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
* :func:`coincidence_world`: units switch on and off at random, so the peak is the mean
  plus z standard deviations of a sum of on/off loads (coincidence like √n, one large
  unit setting its customer's peak); cooling-dominated industries peak in summer with the
  climate zone, some with their air-conditioners off the list; industries drawn with Zipf
  frequencies (small groups).

All write ``customers.csv`` and ``equipment.csv`` (and ``oracle.csv``: the world's own
expected peak, for the oracle baseline) with the contract's columns.

With ``existing_share`` > 0 the first two also emit existing customers (增容 / 减容 / 暂停: the
contract's ``application_type``, ``existing_capacity_kva``, equipment ``change`` and a
``meter_readings.csv``), each under its own law between the metered year and the peak,
neither the one of :mod:`training.synth.existing`:

* small groups: a Velander law ``peak = a·E + b·√E`` per industry between the annual
  energy and the peak, a sinusoidal season per industry, demand meters from 315 kVA, the
  existing capacity the (oversized) capacity the world's customer once applied for.
* utilisation: a load factor per industry with heavy noise, a flat year with a summer
  quarter and month-to-month noise, the monthly maximum unrelated to the month's energy,
  demand meters from 500 kVA only, the existing capacity a multiple of the peak.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.catalog import load_catalog
from features.contract import (
    MULTI_TRANSFORMER_STEP_KVA,
    STANDARD_SERIES_KVA,
    tier_at_or_above,
)


@dataclass(frozen=True)
class World:
    """A generated history: contract frames and the world's expected peak per customer."""

    customers: pd.DataFrame
    equipment: pd.DataFrame
    oracle: pd.DataFrame
    meter_readings: pd.DataFrame | None = None
    """``meter_readings.csv`` rows when the world has existing customers, else None."""

    def write(self, out_dir: Path | str) -> Path:
        """Write the world's CSV files; returns the folder.

        ``customers.csv``, ``equipment.csv``, ``oracle.csv``, and ``meter_readings.csv``
        when the world has readings.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.customers.to_csv(out / "customers.csv", index=False)
        self.equipment.to_csv(out / "equipment.csv", index=False)
        self.oracle.to_csv(out / "oracle.csv", index=False)
        if self.meter_readings is not None:
            self.meter_readings.to_csv(out / "meter_readings.csv", index=False)
        return out

    def split(self, n_first: int) -> tuple[World, World]:
        """The first ``n_first`` customers and the rest, each with its equipment."""
        ids = self.customers["customer_id"]
        first = set(ids.iloc[:n_first])

        def part(mask_c: pd.Series) -> World:
            keep = set(ids[mask_c])
            readings = self.meter_readings
            return World(
                self.customers[mask_c].reset_index(drop=True),
                self.equipment[self.equipment["customer_id"].isin(keep)].reset_index(drop=True),
                self.oracle[self.oracle["customer_id"].isin(keep)].reset_index(drop=True),
                None
                if readings is None
                else readings[readings["customer_id"].isin(keep)].reset_index(drop=True),
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
    existing_share: float = 0.0,
    existing_type_share: tuple[float, float, float] = (0.50, 0.35, 0.15),
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
    existing_share, existing_type_share
        Share of existing customers and the relative shares of increase, reduce and
        suspend among them (:func:`_small_groups_existing`; 0 leaves the world as it was).
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
    world = World(
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
    if existing_share > 0:
        world = _small_groups_existing(
            world, seed, existing_share, existing_type_share, favourites, kx,
            small_group_units, small_group_factor, missing_share, missing_industry,
        )  # fmt: skip
    return world


def utilisation_world(
    n: int,
    seed: int,
    *,
    noise: float = 0.22,
    area_only_share: float = 0.06,
    existing_share: float = 0.0,
    existing_type_share: tuple[float, float, float] = (0.50, 0.35, 0.15),
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
    existing_share, existing_type_share
        Share of existing customers and the relative shares of increase, reduce and
        suspend among them (:func:`_utilisation_existing`; 0 leaves the world as it was).
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
    world = World(
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
    if existing_share > 0:
        world = _utilisation_existing(
            world, seed, existing_share, existing_type_share, cats, util, ind_factor
        )
    return world


# --------------------------------------------------------------------------------------
# Existing customers (增容 / 减容 / 暂停): each world's own law, applied after its draws
# from a random stream of their own, so ``existing_share=0`` leaves a world as it was.
# --------------------------------------------------------------------------------------

_EXISTING_TYPES = ("increase", "reduce", "suspend")
_READING_COLUMNS = ["customer_id", "period", "energy_kwh", "max_demand_kw"]


def _draw_types(
    rng: np.random.Generator, n: int, share: float, type_share: tuple[float, float, float]
) -> np.ndarray:
    p = np.asarray(type_share, dtype=float)
    if p.size != 3 or p.min() < 0 or p.sum() <= 0:
        raise ValueError(f"existing_type_share must be three shares >= 0; received {type_share}")
    existing = rng.random(n) < share
    kind = rng.choice(3, size=n, p=p / p.sum())
    return np.where(existing, np.array(_EXISTING_TYPES, dtype=object)[kind], "new")


def _tier_below(kva: float) -> float:
    """The next smaller standard capacity (the smallest stays itself)."""
    series = STANDARD_SERIES_KVA
    if kva > series[-1]:
        return float(max(kva - MULTI_TRANSFORMER_STEP_KVA, series[-1]))
    smaller = [t for t in series if t < kva]
    return float(smaller[-1] if smaller else series[0])


def _tier(kva: float) -> float:
    return float(tier_at_or_above(max(kva, 1.0))[0])


def _lines_by_customer(equipment: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for line in equipment.to_dict("records"):
        out.setdefault(str(line["customer_id"]), []).append(line)
    return out


def _applied(
    rng: np.random.Generator, kind: str, peak: float, capacity: float, added_kw: float
) -> float:
    """What the customer applies for under today's habits."""
    if kind == "increase":
        return _tier(capacity + added_kw * rng.uniform(1.0, 1.5) / 0.85)
    if kind == "reduce":
        return min(_tier(peak / 0.9 * rng.uniform(1.2, 2.0)), _tier_below(capacity))
    return min(_tier(capacity * rng.uniform(0.4, 0.7)), _tier_below(capacity))


def _export_rows(
    rng: np.random.Generator,
    cid: str,
    first_month: int,
    energy: np.ndarray,
    demand: np.ndarray | None,
    peak_month: int,
    *,
    gap_p: float,
    zero_p: float,
    change_p: float,
) -> list[tuple[str, str, float, float]]:
    """12 months as a utility exports them: a shutdown month, a meter change, gaps."""
    energy = energy.copy()
    md = np.full(12, np.nan) if demand is None else demand.copy()
    if rng.random() < zero_p:
        i = (peak_month + int(rng.integers(1, 12))) % 12
        energy[i] = 0.0
        md[i] = np.nan
    if rng.random() < change_p:
        j = (peak_month + int(rng.integers(1, 12))) % 12
        if energy[j] > 0:
            energy[j] *= rng.uniform(0.2, 0.8)
            md[j] = np.nan
    keep = np.ones(12, dtype=bool)
    if rng.random() < gap_p:
        keep[rng.choice(12, size=12 - int(rng.integers(3, 12)), replace=False)] = False
    rows = []
    for k in np.flatnonzero(keep):
        year, month = divmod(first_month + int(k), 12)
        rows.append((cid, f"{year:04d}-{month + 1:02d}", float(np.round(energy[k])), float(md[k])))
    return rows


def _month_days(first_month: int) -> np.ndarray:
    days = []
    for k in range(12):
        year, month = divmod(first_month + k, 12)
        days.append(calendar.monthrange(year, month + 1)[1])
    return np.asarray(days, dtype=float)


def _assemble(
    world: World,
    types: np.ndarray,
    outcome: dict[str, tuple[float, float, float, float]],
    change_rows: list[dict[str, object]],
    readings: list[tuple[str, str, float, float]],
) -> World:
    """The world with its existing customers: columns, change lines, labels, readings.

    ``outcome`` maps an existing customer to (existing kVA, applied kVA, peak after,
    oracle); the equipment keeps the new customers' lines and the change lines only.
    """
    customers = world.customers.copy()
    ids = customers["customer_id"]
    existing = types != "new"
    values = np.array([outcome[c] for c in ids[existing]], dtype=float).reshape(-1, 4)
    capacity = np.full(len(customers), np.nan)
    capacity[existing] = values[:, 0]
    applied = customers["applied_capacity_kva"].to_numpy(dtype=float).copy()
    applied[existing] = values[:, 1]
    peak = customers["peak_demand_kw"].to_numpy(dtype=float).copy()
    peak[existing] = np.round(values[:, 2], 2)
    customers["applied_capacity_kva"] = applied
    customers["peak_demand_kw"] = peak
    customers["application_type"] = types
    customers["existing_capacity_kva"] = capacity

    oracle = world.oracle.copy()
    known = oracle["customer_id"].isin(outcome).to_numpy()
    expected = oracle["oracle_peak_kw"].to_numpy(dtype=float).copy()
    expected[known] = [outcome[c][3] for c in oracle["customer_id"][known]]
    oracle["oracle_peak_kw"] = expected

    new_ids = set(ids[~existing])
    kept = world.equipment[world.equipment["customer_id"].isin(new_ids)].assign(change="add")
    changes = pd.DataFrame(change_rows, columns=list(kept.columns))
    equipment = pd.concat([kept, changes], ignore_index=True)
    order = pd.Series(np.arange(len(ids)), index=ids)
    equipment = equipment.iloc[
        np.argsort(order[equipment["customer_id"]].to_numpy(), kind="stable")
    ].reset_index(drop=True)
    return World(customers, equipment, oracle, pd.DataFrame(readings, columns=_READING_COLUMNS))


def _small_groups_existing(
    world: World,
    seed: int,
    share: float,
    type_share: tuple[float, float, float],
    favourites: dict[str, np.ndarray],
    kx: dict[str, float],
    small_group_units: int,
    small_group_factor: tuple[float, float],
    missing_share: float,
    missing_industry: str,
) -> World:
    """Existing customers under a Velander law between annual energy and peak.

    The world's drawn peak is the peak before the change and its applied capacity the
    capacity in service (granted at connection, so nameplate-oversized). An increase adds
    1–3 lines drawn like the world's lines and contributing by the world's own small-group
    law; 40 % of 减容 and 30 % of 暂停 remove whole lines or some units of the list. The
    annual energy solves ``peak = a·E + b·√E`` (a, b per industry) with 12 % noise; the
    months follow a sinusoidal season per industry; demand meters from 315 kVA (85 %).
    """
    rng = np.random.default_rng([seed, 2101])
    cats = sorted(kx)
    industries = sorted(favourites)
    a = {i: rng.uniform(1.6e-4, 3.2e-4) for i in industries}  # kW per kWh/year
    b = {i: rng.uniform(0.01, 0.05) for i in industries}  # kW per sqrt(kWh/year)
    amplitude = {i: rng.uniform(0.0, 0.35) for i in industries}
    phase = {i: float(rng.choice([1.0, 7.5])) for i in industries}
    growth = {"increase": (0.03, 0.10), "reduce": (-0.03, 0.10), "suspend": (-0.15, 0.15)}
    remove_p = {"reduce": 0.4, "suspend": 0.3}
    mid_factor = sum(small_group_factor) / 2

    customers = world.customers
    types = _draw_types(rng, len(customers), share, type_share)
    rows = customers.to_dict("records")
    lines = _lines_by_customer(world.equipment)
    outcome: dict[str, tuple[float, float, float, float]] = {}
    change_rows: list[dict[str, object]] = []
    readings: list[tuple[str, str, float, float]] = []

    def contribution(ind: str, cat: str, kw: float, qty: int, expected: bool) -> float:
        if qty <= small_group_units:
            factor = mid_factor if expected else rng.uniform(*small_group_factor)
        else:
            factor = 0.95 if expected else rng.uniform(0.85, 1.05)
        value = min(kx[cat] * factor, 1.0) * kw * qty * 0.9
        return value / (1.0 - missing_share) if ind == missing_industry else value

    for i in np.flatnonzero(types != "new"):
        row = rows[i]
        cid, ind, kind = str(row["customer_id"]), str(row["industry"]), str(types[i])
        peak0 = float(row["peak_demand_kw"])
        capacity = float(row["applied_capacity_kva"])
        delta = expected_delta = added_kw = 0.0
        if kind == "increase":
            pool = np.unique(np.concatenate([favourites[ind], rng.choice(cats, size=3)]))
            for _ in range(int(rng.integers(1, 4))):
                cat = str(rng.choice(pool))
                kw = float(np.round(np.exp(rng.normal(2.6, 1.1)), 1)) + 0.5
                qty = int(rng.choice([1, 1, 2, 2, 3, 4, 6, 8]))
                change_rows.append(
                    {"customer_id": cid, "category": cat, "rated_kw": kw, "quantity": qty,
                     "standby": False, "change": "add"}
                )  # fmt: skip
                delta += contribution(ind, cat, kw, qty, expected=False)
                expected_delta += contribution(ind, cat, kw, qty, expected=True)
                added_kw += kw * qty
        elif cid in lines and rng.random() < remove_p[kind]:
            running = [line for line in lines[cid] if not bool(line["standby"])]
            if len(running) >= 2:
                take = rng.choice(len(running), size=int(rng.integers(1, len(running))),
                                  replace=False)  # fmt: skip
                for k in take:
                    line = running[int(k)]
                    qty = int(rng.integers(1, int(line["quantity"]) + 1))
                    cat, kw = str(line["category"]), float(line["rated_kw"])
                    change_rows.append(
                        {"customer_id": cid, "category": cat, "rated_kw": kw,
                         "quantity": qty, "standby": False, "change": "remove"}
                    )  # fmt: skip
                    delta -= contribution(ind, cat, kw, qty, expected=False)
                    expected_delta -= contribution(ind, cat, kw, qty, expected=True)
        mu, sigma = growth[kind]
        after = max(peak0 + delta, 0.3 * peak0)
        label = after * float(np.exp(rng.normal(mu, sigma)))
        oracle = max(peak0 + expected_delta, 0.3 * peak0) * float(np.exp(mu))
        applied = _applied(rng, kind, peak0, capacity, added_kw)
        outcome[cid] = (capacity, applied, max(label, 0.5), max(oracle, 0.5))

        # Meter readings: the Velander law gives the year's energy from the peak.
        root = (-b[ind] + np.sqrt(b[ind] ** 2 + 4 * a[ind] * peak0)) / (2 * a[ind])
        annual = float(root**2) * float(np.exp(rng.normal(0.0, 0.12)))
        first = int(rng.integers(2023 * 12 + 6, 2026 * 12)) - 12
        days = _month_days(first)
        month = (first + np.arange(12)) % 12 + 1
        season = 1.0 + amplitude[ind] * np.cos(2 * np.pi * (month - phase[ind]) / 12)
        weights = season * days * np.exp(rng.normal(0.0, 0.05, 12))
        energy = annual * weights / weights.sum()
        relative = (season / season.max()) ** 0.6 * np.exp(rng.normal(0.0, 0.04, 12))
        peak_month = int(np.argmax(relative))
        month_peak = peak0 * relative / relative.max()
        energy = np.minimum(energy, 0.9 * month_peak * days * 24)
        energy = np.minimum(energy, 0.85 * capacity * days * 24)
        demand = None
        if capacity >= 315 and rng.random() < 0.85:
            demand = np.round(month_peak * np.exp(rng.normal(0.0, 0.03, 12)), 1)
        readings += _export_rows(
            rng, cid, first, energy, demand, peak_month, gap_p=0.15, zero_p=0.05, change_p=0.04
        )
    return _assemble(world, types, outcome, change_rows, readings)


def _utilisation_existing(
    world: World,
    seed: int,
    share: float,
    type_share: tuple[float, float, float],
    cats: list[str],
    util: dict[str, float],
    ind_factor: dict[str, float],
) -> World:
    """Existing customers under a per-industry load factor with heavy noise.

    The world's drawn peak is the peak before the change; the capacity in service is a
    multiple of it (log-uniform 1.2–4.5 × peak/0.9, 8 % undersized). An increase adds 1–4
    lines contributing ``util × kW × units × industry factor`` (no diversity, 20 % noise
    per line); 30 % of 减容 / 暂停 remove whole lines. Annual energy = peak × load factor of
    the industry × 8,760 h with 30 % noise; a flat year with a summer quarter and 15 %
    month-to-month noise; demand meters from 500 kVA only, whose monthly maxima are
    unrelated to the month's energy (70–97 % of the peak, one month at the peak).
    """
    rng = np.random.default_rng([seed, 2102])
    industries = sorted(ind_factor)
    load_factor = {i: rng.uniform(0.2, 0.65) for i in industries}
    summer = {i: rng.uniform(-0.1, 0.3) for i in industries}
    growth = {"increase": (0.05, 0.15), "reduce": (0.0, 0.15), "suspend": (-0.2, 0.2)}

    customers = world.customers
    types = _draw_types(rng, len(customers), share, type_share)
    rows = customers.to_dict("records")
    lines = _lines_by_customer(world.equipment)
    outcome: dict[str, tuple[float, float, float, float]] = {}
    change_rows: list[dict[str, object]] = []
    readings: list[tuple[str, str, float, float]] = []
    for i in np.flatnonzero(types != "new"):
        row = rows[i]
        cid, ind, kind = str(row["customer_id"]), str(row["industry"]), str(types[i])
        peak0 = float(row["peak_demand_kw"])
        multiple = (
            rng.uniform(0.85, 1.0)
            if rng.random() < 0.08
            else float(np.exp(rng.uniform(np.log(1.2), np.log(4.5))))
        )
        capacity = _tier(peak0 / 0.9 * multiple)
        delta = expected_delta = added_kw = 0.0
        if kind == "increase":
            for cat in rng.choice(cats, size=int(rng.integers(1, 5)), replace=False):
                kw = float(np.round(np.exp(rng.normal(2.5, 1.0)), 1)) + 0.5
                qty = int(rng.integers(1, 12))
                change_rows.append(
                    {"customer_id": cid, "category": str(cat), "rated_kw": kw,
                     "quantity": qty, "change": "add"}
                )  # fmt: skip
                base = util[str(cat)] * kw * qty * ind_factor[ind]
                delta += base * float(np.exp(rng.normal(0.0, 0.2)))
                expected_delta += base
                added_kw += kw * qty
        elif cid in lines and len(lines[cid]) >= 2 and rng.random() < 0.3:
            own = lines[cid]
            for k in rng.choice(len(own), size=int(rng.integers(1, len(own))), replace=False):
                line = own[int(k)]
                cat, kw, qty = str(line["category"]), float(line["rated_kw"]), int(line["quantity"])
                change_rows.append(
                    {"customer_id": cid, "category": cat, "rated_kw": kw, "quantity": qty,
                     "change": "remove"}
                )  # fmt: skip
                base = util[cat] * kw * qty * ind_factor[ind]
                delta -= base * float(np.exp(rng.normal(0.0, 0.2)))
                expected_delta -= base
        mu, sigma = growth[kind]
        after = max(peak0 + delta, 0.25 * peak0)
        label = after * float(np.exp(rng.normal(mu, sigma)))
        oracle = max(peak0 + expected_delta, 0.25 * peak0) * float(np.exp(mu))
        applied = _applied(rng, kind, peak0, capacity, added_kw)
        outcome[cid] = (capacity, applied, max(label, 0.5), max(oracle, 0.5))

        # Meter readings: energy from the industry's load factor; maxima on their own.
        lf = min(load_factor[ind] * float(np.exp(rng.normal(0.0, 0.3))), 0.85)
        first = int(rng.integers(2023 * 12 + 6, 2026 * 12)) - 12
        days = _month_days(first)
        month = (first + np.arange(12)) % 12 + 1
        weights = days * (1.0 + summer[ind] * np.isin(month, (7, 8, 9)))
        weights = weights * np.exp(rng.normal(0.0, 0.15, 12))
        energy = peak0 * lf * 8760.0 * weights / weights.sum()
        month_peak = peak0 * rng.uniform(0.70, 0.97, 12)
        peak_month = int(rng.integers(12))
        month_peak[peak_month] = peak0
        energy = np.minimum(energy, 0.9 * month_peak * days * 24)
        energy = np.minimum(energy, 0.85 * capacity * days * 24)
        demand = None
        if capacity >= 500 and rng.random() < 0.95:
            demand = np.round(month_peak * np.exp(rng.normal(0.0, 0.05, 12)), 1)
        readings += _export_rows(
            rng, cid, first, energy, demand, peak_month, gap_p=0.10, zero_p=0.03, change_p=0.03
        )
    return _assemble(world, types, outcome, change_rows, readings)


# Catalog categories that cool (their duty follows the season and the climate zone) and
# those that come as few large units in heavy industries.
_COOLING = ("chiller", "split_ac", "refrigeration_compressor")
_LARGE = ("induction_furnace", "air_compressor", "chiller", "mixer_crusher", "resistance_furnace")
# Cooling duty at the summer peak by GB 50176 zone, relative to a hot-summer zone: the
# zones' cooling degree days differ by roughly this much (severe cold to hot summer).
_ZONE_COOLING = {
    "severe_cold": 0.35,
    "cold": 0.6,
    "hot_summer_cold_winter": 0.95,
    "hot_summer_warm_winter": 1.05,
    "mild": 0.55,
}


def coincidence_world(
    n: int,
    seed: int,
    *,
    noise: float = 0.2,
    z_peak: float = 2.3,
    zipf: float = 0.9,
    large_unit_share: float = 0.35,
    unlisted_cooling_share: float = 0.3,
    area_only_share: float = 0.05,
) -> World:
    """Units switch on and off at random: the peak is mean + z·√variance; cooling peaks in summer.

    The law of a sum of independent on/off units (Rusck's coincidence): every unit of a
    running line draws ``load × rating`` with probability ``duty`` at the busiest moment,
    so the customer's expected peak is ``μ + z·σ`` with ``μ = Σ q·r·load·duty`` and
    ``σ² = Σ q·r²·load²·duty·(1 − duty)``, capped at everything on. Coincidence therefore
    grows like √n, and one large unit (a furnace, a compressor, a chiller of hundreds of
    kW) sets most of its customer's peak. What this breaks on purpose:

    * **few large units**: ``large_unit_share`` of the customers of the heavy industries
      (half of the industries, drawn per seed) have one or two units of 150–2,000 kW;
    * **coincidence like √n**: no factor per category; the demand factor of a group falls
      with its number of units and with the spread of the customer's other units;
    * **cooling-dominated loads with seasonal peaks**: a third of the industries cool
      (chillers, split air-conditioners, refrigeration); cooling duty at the summer peak
      scales with the climate zone (:data:`_ZONE_COOLING`; 15 % of customers leave the zone
      empty), and the annual peak is the larger of the summer and the winter peak (no
      cooling, electric heating up); ``unlisted_cooling_share`` of the cooling industries'
      customers leave their split air-conditioners off the list (a load proportional to
      floor area and the zone);
    * **small groups**: industries are drawn with Zipf frequencies (``zipf``; the order
      shuffled per seed), so at 2,000 customers the rarest have a few dozen.

    The oracle is the expected peak given what the application shows: the expectation
    over the draws no application reveals (whether the air-conditioners were left off the
    list, the zone where the file leaves it empty), so that a model can reach it in
    principle; the metered peak carries those draws and the customer-level noise.

    Parameters
    ----------
    n, seed
        Customers and seed.
    noise
        Customer-level log-normal noise of the metered peak around the expected peak (the
        year's highest 15 minutes are themselves a draw).
    z_peak
        Standard deviations above the mean of the year's highest 15 minutes.
    zipf
        Exponent of the industries' frequencies (rank ** -zipf).
    large_unit_share
        Share of the heavy industries' customers with one or two large units.
    unlisted_cooling_share
        Share of the cooling industries' customers whose split air-conditioners are not
        on the list.
    area_only_share
        Share of applications without an equipment list.
    """
    rng = np.random.default_rng([seed, 2303])
    cats, industries, _ = _codes()
    zones = list(_ZONE_COOLING)
    freq = np.arange(1, len(industries) + 1, dtype=float) ** -zipf
    order = rng.permutation(len(industries))
    p_ind = np.empty(len(industries))
    p_ind[order] = freq / freq.sum()
    flags = rng.permutation(len(industries))
    cooling_ind = {industries[i] for i in flags[: len(industries) // 3]}
    heavy_ind = {industries[i] for i in flags[len(industries) // 3 :][::2]}
    # Per category: load at the busiest moment (share of rating) and duty (chance a unit
    # runs then), unrelated to the catalog's Kx.
    load = dict(zip(cats, rng.uniform(0.55, 0.95, len(cats)), strict=True))
    duty = dict(zip(cats, rng.uniform(0.15, 0.85, len(cats)), strict=True))
    favourites = {ind: list(rng.choice(cats, size=5, replace=False)) for ind in industries}
    cooling_w_m2 = dict(zip(industries, rng.uniform(25.0, 70.0, len(industries)), strict=True))
    density = dict(zip(industries, rng.uniform(20.0, 130.0, len(industries)), strict=True))
    installed = dict(zip(industries, rng.uniform(40.0, 400.0, len(industries)), strict=True))
    heating = {c: c in ("other_heating", "resistance_furnace") for c in cats}

    def peak_of(lines: list[tuple[str, float, int]], zone_factor: float) -> float:
        """Expected annual peak of running lines: max of summer and winter μ + z·σ."""
        best = 0.0
        for season in ("summer", "winter"):
            mu = var = full = 0.0
            for c, kw, qty in lines:
                d = duty[c]
                if c in _COOLING:
                    # At the summer peak cooling runs as hot as the zone is; in winter idle.
                    d = min(0.97, 0.9 * zone_factor) if season == "summer" else 0.05
                elif heating[c] and season == "winter":
                    d = min(0.97, d + 0.25)
                unit = kw * load[c]
                mu += qty * unit * d
                var += qty * unit**2 * d * (1.0 - d)
                full += qty * unit
            best = max(best, min(mu + z_peak * np.sqrt(var), full))
        return best

    customers, equipment, oracle = [], [], []
    for i in range(n):
        cid = f"C{seed}-{i:06d}"
        ind = industries[int(rng.choice(len(industries), p=p_ind))]
        zone = zones[int(rng.integers(len(zones)))]
        zone_factor = _ZONE_COOLING[zone]
        blank_zone = bool(rng.random() < 0.15)
        # What the application shows of the zone: the oracle averages over the zones
        # (drawn uniformly) where the file leaves it empty.
        shown = list(_ZONE_COOLING.values()) if blank_zone else [zone_factor]
        area = float(np.round(np.exp(rng.normal(8.0, 0.9))))
        employees = max(1, int(np.round(np.exp(rng.normal(3.3, 1.0)))))
        shifts = int(rng.integers(1, 4))
        cooling = ind in cooling_ind
        if rng.random() < area_only_share:
            expected = area * density[ind] / 1000.0
            nameplate = expected * 2.5
            mean_kw = expected
            if cooling:
                expected += area * cooling_w_m2[ind] * zone_factor / 1000.0
                mean_kw += area * cooling_w_m2[ind] * float(np.mean(shown)) / 1000.0
        else:
            running: list[tuple[str, float, int]] = []
            for c in rng.choice(favourites[ind], size=int(rng.integers(1, 5)), replace=False):
                kw = float(np.round(np.exp(rng.normal(2.3, 1.0)), 1)) + 0.5
                qty = int(rng.choice([1, 1, 2, 3, 4, 6, 10, 16, 30]))
                running.append((str(c), kw, qty))
            if cooling:  # the cooling plant: most of the installed kW
                c = str(rng.choice(_COOLING))
                kw = float(np.round(np.exp(rng.normal(3.2, 0.8)), 1)) + 1.0
                running.append((c, kw, int(rng.choice([1, 2, 4, 8, 16, 30]))))
            if ind in heavy_ind and rng.random() < large_unit_share:
                c = str(rng.choice(_LARGE))
                kw = float(np.round(np.exp(rng.uniform(np.log(150.0), np.log(2000.0)))))
                running.append((c, kw, int(rng.choice([1, 1, 2]))))
            nameplate = sum(kw * qty for _, kw, qty in running)
            # The building follows the plant (installed W/m² per industry, loosely).
            area = float(
                max(
                    20.0, np.round(nameplate * 1000.0 / installed[ind] * np.exp(rng.normal(0, 0.6)))
                )
            )
            # Split units nobody listed: a summer load by floor area and zone. Whether a
            # customer left them off its list no application shows: the oracle carries
            # its expectation (share × load), the metered peak the draw.
            unlisted = area * cooling_w_m2[ind] / 1000.0 if cooling else 0.0
            hidden = unlisted * zone_factor if rng.random() < unlisted_cooling_share else 0.0
            expected = peak_of(running, zone_factor) + hidden
            mean_kw = float(np.mean([peak_of(running, z) for z in shown])) + (
                unlisted_cooling_share * unlisted * float(np.mean(shown))
            )
            for c, kw, qty in running:
                equipment.append((cid, c, kw, qty, False))
            if rng.random() < 0.1:  # an installed spare that does not run
                equipment.append((cid, "fire_pump", float(rng.choice([15, 30, 45, 75])), 1, True))
        expected = max(expected, 0.5)
        mean_kw = max(mean_kw, 0.5)
        peak = max(expected * float(np.exp(rng.normal(0.0, noise))), 0.5)
        applied = float(
            tier_at_or_above(max(nameplate, expected) * rng.uniform(0.9, 1.6) / 0.85)[0]
        )
        customers.append(
            (
                cid,
                ind,
                "" if blank_zone else zone,
                area,
                employees if rng.random() < 0.9 else np.nan,
                shifts,
                applied,
                round(peak, 2),
            )
        )
        oracle.append((cid, mean_kw))
    return World(
        pd.DataFrame(
            customers,
            columns=[
                "customer_id",
                "industry",
                "climate_zone",
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


WORLDS: dict[str, Callable[..., World]] = {
    "small_groups": small_groups_world,
    "utilisation": utilisation_world,
    "coincidence": coincidence_world,
}
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
