"""Existing customers of the synthetic history: 增容, 减容, 暂停 and their meter readings.

:func:`training.synth.history.generate_history` calls these functions when
``SynthConfig.existing_share`` is above zero. A customer drawn by the generator is then
either a new applicant (as before) or an existing one:

* ``increase`` (增容): the drawn equipment list is the installation after the change; some
  lines (or some units of a line) are the added ones, the rest was already running. The
  application lists only the added lines.
* ``reduce`` (减容) and ``suspend`` (暂停): the drawn list is the installation before the
  change; some applications take lines (or units) out of service and list them as
  ``remove``, most list nothing.

The peak before and after the change come from the generator's own law applied to the
installation before and after (same latent utilisation, ramp-up and noise), so an added
unit adds its utilised, diversified share, never its rating. Meter readings sample the
peak before the change. Every assumption is in ``docs/synthetic_history.md`` §9.

All draws here come from a random stream of their own (seeded by the config's seed), so
a history without existing customers is byte for byte what it was before they existed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.contract import (
    EXISTING_CUSTOMER_COLUMN_NAMES,
    METER_COLUMN_NAMES,
    STANDARD_SERIES_KVA,
    TWO_PART_TARIFF_MIN_KVA,
    tier_at_or_above,
)
from training.synth.tables import Industry, SynthTables

# The contract's names (features.contract), in the generator's order: the kind number
# indexes APPLICATION_TYPES (new, increase, reduce, suspend).
EXISTING_CUSTOMER_COLUMNS: tuple[str, ...] = EXISTING_CUSTOMER_COLUMN_NAMES
EXISTING_EQUIPMENT_COLUMNS: tuple[str, ...] = ("change",)
METER_COLUMNS: tuple[str, ...] = METER_COLUMN_NAMES

EXISTING_STREAM = 21
"""Second word of the seed of the existing customers' random stream (issue 21)."""

DEMAND_METER_MIN_KVA = TWO_PART_TARIFF_MIN_KVA
"""Two-part tariff threshold: only customers at or above it have a demand meter."""
DEMAND_METER_P = 0.9
"""Share of those whose export carries the monthly maximum demand."""

_REMOVE_P = {2: 0.35, 3: 0.25}
"""Probability that a 减容 (2) / 暂停 (3) application lists lines taken out of service."""
_TOUCH_FRACTION = {1: (0.2, 0.6), 2: (0.1, 0.4), 3: (0.1, 0.4)}
"""Range of the per-customer probability that a running line is part of the change."""
_GROWTH = {1: (0.02, 0.08), 2: (-0.02, 0.08), 3: (-0.10, 0.12)}
"""(median, σ) of the log growth between the peak after the change and before it."""
_LOAD_RATE_INVERSE = {
    1: ((1.1, 3.0), 0.10, (0.80, 1.0)),
    2: ((1.6, 5.0), 0.03, (1.0, 1.5)),
    3: ((1.6, 5.0), 0.03, (1.0, 1.5)),
}
"""Existing capacity over peak/0.9: log-uniform range, share drawn from the second range."""

_APPLICATION_MONTHS = (2024 * 12, 2026 * 12 + 6)
"""Applications fall between 2024-01 and 2026-06 (month index year·12 + month − 1)."""
_SPRING_FESTIVAL_MONTH = {2022: 2, 2023: 1, 2024: 2, 2025: 1, 2026: 2}
_LOAD_FACTOR_SIGMA = 0.12
_MONTH_ENERGY_SIGMA = 0.03
_MONTH_PEAK_SIGMA = 0.05
_DEMAND_READING_SIGMA = 0.02
_MAX_MEAN_OVER_PEAK = 0.92
"""A month's mean demand stays below this share of the month's 15-min maximum."""
_FLAT_OUT_SHARE = 0.85
"""Clean energy stays below this share of (existing kVA × hours): below flat out even at pf 0.9."""
_ZERO_MONTH_P = 0.04
_METER_CHANGE_P = 0.05
_GAP_P = 0.12

_METER_DIRTY_KINDS: tuple[str, ...] = (
    "negative_energy_kwh",
    "bad_period",
    "readings_for_new_customer",
    "energy_above_capacity",
)


@dataclass(frozen=True)
class ChangePlan:
    """Which customers are existing and which lines (units) the application changes.

    Attributes
    ----------
    kind
        Per customer: index into :data:`APPLICATION_TYPES`.
    qty_before, qty_after
        Per line: units installed before and after the change.
    listed_qty
        Per line: units the application lists (0: the line is not in equipment.csv).
    removed
        Per line: listed as ``remove``.
    """

    kind: np.ndarray
    qty_before: np.ndarray
    qty_after: np.ndarray
    listed_qty: np.ndarray
    removed: np.ndarray


def plan_changes(
    rng: np.random.Generator,
    existing_share: float,
    type_share: tuple[float, float, float],
    customer: np.ndarray,
    slot: np.ndarray,
    quantity: np.ndarray,
    standby: np.ndarray,
    area_only: np.ndarray,
    n: int,
) -> ChangePlan:
    """Draw application types and the lines each existing customer's application changes.

    An increase needs an installation of at least two units (one stays, one is added);
    the increase probability of those customers is raised so that the overall share
    stays the configured one. Lines are ordered by customer.
    """
    q = quantity.astype(int)
    running = (~standby) & (slot >= 0)
    units = np.bincount(customer[running], weights=q[running], minlength=n)
    eligible = (~area_only) & (units >= 2)

    p = np.asarray(type_share, dtype=float)
    p = p / p.sum()
    frac = float(eligible.mean()) if n else 1.0
    p_inc = np.where(eligible, min(1.0, p[0] / max(frac, 1e-9)), 0.0)
    rest = p[1:] / p[1:].sum() if p[1:].sum() > 0 else np.array([1.0, 0.0])
    is_existing = rng.random(n) < existing_share
    u = rng.random(n)
    kind = np.where(u < p_inc, 1, np.where(u < p_inc + (1.0 - p_inc) * rest[0], 2, 3))
    kind = np.where(is_existing, kind, 0)

    remove_p = np.select([kind == 2, kind == 3], [_REMOVE_P[2], _REMOVE_P[3]], 0.0)
    with_remove = (rng.random(n) < remove_p) & eligible
    touch_p = np.where(
        kind == 1,
        rng.uniform(*_TOUCH_FRACTION[1], n),
        rng.uniform(*_TOUCH_FRACTION[2], n),
    )
    changing = (kind == 1) | with_remove
    n_lines = q.size
    touch = running & changing[customer] & (rng.random(n_lines) < touch_p[customer])
    whole = (q == 1) | (rng.random(n_lines) < 0.5)
    part = rng.integers(1, np.maximum(q, 2))
    delta = np.where(touch, np.where(whole, q, np.minimum(part, q)), 0)

    # Every changing customer changes something and keeps at least one running unit.
    starts = np.searchsorted(customer, np.arange(n), side="left")
    ends = np.searchsorted(customer, np.arange(n), side="right")
    touched = np.bincount(customer[touch], minlength=n)
    for c in np.flatnonzero(changing & (touched == 0)):
        idx = np.flatnonzero(running[starts[c] : ends[c]]) + starts[c]
        delta[idx[0]] = q[idx[0]]
    remaining = units - np.bincount(customer, weights=delta, minlength=n)
    for c in np.flatnonzero(changing & (remaining <= 0)):
        seg = np.arange(starts[c], ends[c])
        top = seg[np.argmax(delta[seg])]
        delta[top] = delta[top] - 1 if delta[top] >= 2 else 0

    # A spare of a slot that grows is listed with the added units (it is new too).
    inc_line = kind[customer] == 1
    n_slots = int(slot.max()) + 1 if slot.size else 0
    slot_grows = np.zeros(n_slots, dtype=bool)
    grows = (delta > 0) & (slot >= 0) & inc_line
    slot_grows[slot[grows]] = True
    spare_added = inc_line & standby & (slot >= 0) & slot_grows[np.maximum(slot, 0)]
    added = np.where(spare_added, q, delta)

    existing_line = kind[customer] > 0
    qty_before = np.where(inc_line, q - added, q)
    qty_after = np.where(inc_line | ~existing_line, q, q - delta)
    listed = np.where(~existing_line, q, np.where(inc_line, added, delta))
    removed = existing_line & ~inc_line & (delta > 0)
    return ChangePlan(kind.astype(int), qty_before, qty_after, listed.astype(int), removed)


def post_change_peak(
    rng: np.random.Generator, kind: np.ndarray, after: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The label (peak in the 12 months after the change) and its expectation (oracle).

    ``after`` is the generator's law applied to the installation after the change (the
    peak before the change plus the change's diversified contribution); growth or
    decline noise multiplies it. The oracle knows ``after`` but not that noise.
    """
    mu = np.select([kind == 1, kind == 2, kind == 3], [_GROWTH[k][0] for k in (1, 2, 3)], 0.0)
    sigma = np.select([kind == 1, kind == 2, kind == 3], [_GROWTH[k][1] for k in (1, 2, 3)], 0.0)
    growth = np.exp(mu + sigma * rng.standard_normal(kind.size))
    label = np.maximum(np.round(after * growth, 1), 0.1)
    oracle = np.round(after * np.exp(mu), 2)
    return label, oracle


def existing_capacity(rng: np.random.Generator, kind: np.ndarray, before: np.ndarray) -> np.ndarray:
    """The standard capacity in service before the application (NaN for ``new``).

    Drawn as a multiple of ``peak / 0.9`` (the inverse of the load rate): mostly
    oversized, a few undersized; 减容 and 暂停 applicants are the heavily oversized ones.
    """
    n = kind.size
    multiple = np.ones(n)
    u = rng.random(n)
    main = rng.random(n)
    low = rng.random(n)
    for k, ((lo, hi), p_other, (o_lo, o_hi)) in _LOAD_RATE_INVERSE.items():
        mine = kind == k
        log_uniform = np.exp(np.log(lo) + main * (np.log(hi) - np.log(lo)))
        other = o_lo + low * (o_hi - o_lo)
        multiple = np.where(mine, np.where(u < p_other, other, log_uniform), multiple)
    kva = tier_at_or_above(np.maximum(before / 0.9 * multiple, 1.0))
    return np.where(kind > 0, kva, np.nan)


def tier_below(kva: np.ndarray) -> np.ndarray:
    """The next smaller standard capacity (the smallest one stays itself)."""
    series = np.asarray(STANDARD_SERIES_KVA, dtype=float)
    idx = np.clip(np.searchsorted(series, kva, side="left") - 1, 0, series.size - 1)
    below = series[idx]
    above = kva > series[-1]
    return np.where(above, np.maximum(kva - 1250.0, series[-1]), below)


def applied_capacity(
    rng: np.random.Generator,
    kind: np.ndarray,
    before: np.ndarray,
    capacity: np.ndarray,
    added_nameplate_kw: np.ndarray,
    status_quo: np.ndarray,
) -> np.ndarray:
    """What an existing customer applies for under today's habits (NaN stays NaN).

    增容: today's capacity plus the added nameplate with a margin; 减容: the metered peak
    with a generous margin, at least one tier below today's; 暂停: roughly one of two
    transformers (35–70 % of today's capacity).
    """
    n = kind.size
    increase = tier_at_or_above(capacity + added_nameplate_kw * rng.uniform(1.1, 1.5, n) / 0.85)
    reduce = np.minimum(
        tier_at_or_above(np.maximum(before / 0.9 * rng.uniform(1.3, 2.2, n), 1.0)),
        tier_below(capacity),
    )
    suspend = np.minimum(
        tier_at_or_above(capacity * rng.uniform(0.35, 0.7, n)), tier_below(capacity)
    )
    applied = np.select([kind == 1, kind == 2, kind == 3], [increase, reduce, suspend], status_quo)
    return np.where(np.isnan(status_quo), np.nan, applied)


# ---------------------------------------------------------------------------------------
# Meter readings
# ---------------------------------------------------------------------------------------


def _month_tables(first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Days and weekday counts (Mon..Sun) of months ``first..last`` (month indices)."""
    days = np.zeros(last - first + 1)
    counts = np.zeros((last - first + 1, 7))
    for i, m in enumerate(range(first, last + 1)):
        year, month = divmod(m, 12)
        n_days = calendar.monthrange(year, month + 1)[1]
        days[i] = n_days
        first_weekday = calendar.weekday(year, month + 1, 1)
        for d in range(n_days):
            counts[i, (first_weekday + d) % 7] += 1
    return days, counts


@dataclass(frozen=True)
class MeterReadings:
    """The readings frame (contract columns) and the events drawn into it."""

    readings: pd.DataFrame
    events: pd.DataFrame
    """``customer_id, period, event`` with event ``zero_month`` or ``meter_change``."""


def meter_readings(
    rng: np.random.Generator,
    tables: SynthTables,
    industry_codes: list[str],
    ids: np.ndarray,
    industry: np.ndarray,
    zone: np.ndarray,
    shifts: np.ndarray,
    peak_before: np.ndarray,
    capacity: np.ndarray,
) -> MeterReadings:
    """The 12 (or, with gaps, 3–11) monthly readings before each existing customer's application.

    Parameters
    ----------
    rng
        The existing customers' random stream.
    tables, industry_codes
        The generator's tables and the industry codes ``industry`` indexes.
    ids, industry, zone, shifts, peak_before, capacity
        One entry per existing customer: id, industry index, climate-zone index
        (:data:`~features.contract.CLIMATE_ZONES` order), shifts 1–3, the true 15-min peak
        of the 12 months before the application (kW) and the capacity in service (kVA).
    """
    m = ids.size
    profiles: list[Industry] = [tables.industries[c] for c in industry_codes]
    shapes = [tables.load_shapes[c] for c in industry_codes]
    app = rng.integers(*_APPLICATION_MONTHS, size=m)
    months = app[:, None] - 12 + np.arange(12)[None, :]
    first = int(_APPLICATION_MONTHS[0]) - 12
    days_t, counts_t = _month_tables(first, int(_APPLICATION_MONTHS[1]))
    days = days_t[months - first]
    counts = counts_t[months - first]
    year, month = months // 12, months % 12 + 1

    lf_table = np.array([s.load_factor for s in shapes])[industry, shifts - 1]
    load_factor = np.clip(
        lf_table * np.exp(_LOAD_FACTOR_SIGMA * rng.standard_normal(m)), 0.05, 0.85
    )
    summer = np.array([s.summer_share for s in shapes])[industry][:, None]
    winter = np.array([s.winter_share for s in shapes])[industry][:, None]
    ac = np.asarray(tables.climate_ac)[zone][:, None]
    heat = np.asarray(tables.climate_heating)[zone][:, None]
    cooling_curve = np.maximum(0.0, np.cos(2 * np.pi * (month - 7.5) / 12))
    heating_curve = np.maximum(0.0, np.cos(2 * np.pi * (month - 1.0) / 12))
    season = (
        (1.0 - summer - winter)
        + summer * (0.25 + 1.5 * ac * cooling_curve)
        + winter * (0.25 + 1.5 * heat * heating_curve)
    )

    # Weekly structure: working days at full load, the others at the idle share.
    production = np.array([p.production for p in profiles])[industry]
    work_days = np.array([s.work_days for s in shapes])[industry]
    extra = np.asarray([0.0, 0.5, 1.5])[shifts - 1]
    per_week = np.minimum(7.0, work_days + np.where(production, extra, 0.0))
    idle = np.array([s.idle_share for s in shapes])[industry]
    k = np.arange(7)[None, :]
    whole = np.floor(per_week)[:, None]
    weight = np.where(
        k < whole,
        1.0,
        np.where(k == whole, idle[:, None] + (per_week[:, None] - whole) * (1 - idle[:, None]),
                 idle[:, None]),
    )  # fmt: skip
    work = (counts * weight[:, None, :]).sum(axis=2) / days
    new_year = np.array([s.new_year_days for s in shapes])[industry][:, None]
    festival = month == np.vectorize(_SPRING_FESTIVAL_MONTH.get)(year)
    work = np.maximum(work - festival * new_year * (1.0 - idle[:, None]) / days, idle[:, None])

    profile = season * work
    mean_kw = (
        peak_before[:, None]
        * load_factor[:, None]
        * profile
        / profile.mean(axis=1, keepdims=True)
        * np.exp(_MONTH_ENERGY_SIGMA * rng.standard_normal((m, 12)))
    )
    relative_peak = (
        season
        / season.max(axis=1, keepdims=True)
        * (work / work.max(axis=1, keepdims=True)) ** 0.3
        * np.exp(_MONTH_PEAK_SIGMA * rng.standard_normal((m, 12)))
    )
    relative_peak /= relative_peak.max(axis=1, keepdims=True)
    month_peak = peak_before[:, None] * relative_peak
    mean_kw = np.minimum(mean_kw, _MAX_MEAN_OVER_PEAK * month_peak)
    hours = days * 24.0
    energy = np.minimum(mean_kw * hours, _FLAT_OUT_SHARE * capacity[:, None] * hours)
    has_meter = (capacity >= DEMAND_METER_MIN_KVA) & (rng.random(m) < DEMAND_METER_P)
    demand = month_peak * np.exp(_DEMAND_READING_SIGMA * rng.standard_normal((m, 12)))
    demand = np.where(has_meter[:, None], np.round(demand, 1), np.nan)

    # A month of zero (shutdown) and a meter change (partial month), never in the peak
    # month: the year's peak is the peak month's maximum.
    peak_month = np.argmax(relative_peak, axis=1)
    offset_zero = rng.integers(1, 12, m)
    offset_change = rng.integers(1, 11, m)
    offset_change = np.where(offset_change >= offset_zero, offset_change + 1, offset_change)
    zero_month = (peak_month + offset_zero) % 12
    change_month = (peak_month + offset_change) % 12
    zero = rng.random(m) < _ZERO_MONTH_P
    change = rng.random(m) < _METER_CHANGE_P
    partial = rng.uniform(0.15, 0.75, m)
    demand_partial = np.where(rng.random(m) < 0.5, np.nan, rng.uniform(0.6, 1.0, m))
    rows = np.arange(m)
    energy[rows[change], change_month[change]] *= partial[change]
    demand[rows[change], change_month[change]] *= demand_partial[change]
    energy[rows[zero], zero_month[zero]] = 0.0
    demand[rows[zero], zero_month[zero]] = np.nan

    # Gaps: a recent start of the export (the last 3–11 months) or months missing at random.
    keep = np.ones((m, 12), dtype=bool)
    gap = rng.random(m) < _GAP_P
    late = rng.random(m) < 0.5
    n_keep = rng.integers(3, 12, m)
    position = np.arange(12)[None, :]
    keep &= ~((gap & late)[:, None] & (position < (12 - n_keep)[:, None]))
    rank = np.argsort(np.argsort(rng.random((m, 12)), axis=1), axis=1)
    keep &= ~((gap & ~late)[:, None] & (rank < (12 - n_keep)[:, None]))

    period = np.char.add(np.char.add(year.astype(str), "-"), np.char.zfill(month.astype(str), 2))
    cust = np.repeat(ids[:, None], 12, axis=1)
    readings = pd.DataFrame(
        {
            "customer_id": cust[keep],
            "period": period[keep].astype(object),
            "energy_kwh": np.round(energy[keep], 0),
            "max_demand_kw": demand[keep],
        }
    )
    events = []
    for flag, when, name in (
        (zero, zero_month, "zero_month"),
        (change, change_month, "meter_change"),
    ):
        sel = flag & keep[rows, when]
        events.append(
            pd.DataFrame(
                {"customer_id": ids[sel], "period": period[rows[sel], when[sel]], "event": name}
            )
        )
    return MeterReadings(readings, pd.concat(events, ignore_index=True))


def make_dirty_readings(
    rng: np.random.Generator,
    rate: float,
    readings: pd.DataFrame,
    new_ids: np.ndarray,
    capacity_by_id: pd.Series,
) -> tuple[pd.DataFrame, list[tuple[str, int, str]]]:
    """Corrupt a share of the readings the way exports are corrupted; log which rows.

    Kinds: a negative month, a period not in ``YYYY-MM``, a row for a ``new`` customer
    (inserted), a month with more energy than the capacity could deliver flat out.
    """
    n_rows = len(readings)
    n_dirty = int(round(rate * n_rows))
    kinds = rng.choice(len(_METER_DIRTY_KINDS), size=n_dirty)
    if new_ids.size == 0:
        kinds = kinds[kinds != 2]
    n_insert = int((kinds == 2).sum())
    edit_kinds = kinds[kinds != 2]
    targets = rng.choice(n_rows, size=min(edit_kinds.size, n_rows), replace=False)
    readings = readings.copy()
    energy = readings["energy_kwh"].to_numpy(dtype=object).copy()
    period = readings["period"].to_numpy(dtype=object).copy()
    cid = readings["customer_id"].to_numpy(dtype=object)
    log: list[tuple[int, str]] = []
    for row, kind in zip(targets, edit_kinds, strict=False):
        name = _METER_DIRTY_KINDS[int(kind)]
        if kind == 0:
            value = float(energy[row])
            energy[row] = -value if value > 0 else -float(rng.integers(1, 500))
        elif kind == 1:
            y, mo = str(period[row]).split("-")
            forms = (f"{y}-13", f"{y}/{mo}", f"{y}{mo}", f"{y[2:]}-{mo}", f"{y}-00")
            period[row] = forms[int(rng.integers(len(forms)))]
        else:
            year_text, month_text = str(period[row]).split("-")
            hours = calendar.monthrange(int(year_text), int(month_text))[1] * 24.0
            energy[row] = float(
                np.round(float(capacity_by_id[cid[row]]) * hours * rng.uniform(1.3, 3.0))
            )
        log.append((int(row), name))
    readings["energy_kwh"] = pd.Series(energy, index=readings.index).astype(float)
    readings["period"] = pd.Series(period, dtype=object, index=readings.index)

    source = rng.choice(n_rows, size=n_insert) if n_rows else np.zeros(0, dtype=int)
    inserted = readings.iloc[source].copy()
    inserted["customer_id"] = rng.choice(new_ids, size=n_insert) if n_insert else []
    inserted["max_demand_kw"] = np.nan
    position = np.concatenate(
        [np.arange(n_rows, dtype=float), rng.uniform(-0.5, n_rows - 0.5, n_insert)]
    )
    combined = pd.concat([readings, inserted], ignore_index=True)
    order = np.argsort(position, kind="stable")
    readings = combined.iloc[order].reset_index(drop=True)
    new_row = np.empty(order.size, dtype=int)
    new_row[order] = np.arange(order.size)
    records = [
        ("meter_readings.csv", int(r), "readings_for_new_customer") for r in new_row[n_rows:]
    ]
    records += [("meter_readings.csv", int(new_row[r]), name) for r, name in log]
    return readings, records


def make_dirty_removals(
    rng: np.random.Generator,
    rate: float,
    equipment: pd.DataFrame,
    dirty: pd.DataFrame,
    capacity_by_id: pd.Series,
) -> tuple[pd.DataFrame, list[tuple[str, int, str]]]:
    """Inflate a share of the (still clean) ``remove`` lines beyond what the customer had.

    The quantity becomes such that the removed nameplate is 5–20 × the capacity in
    service: no customer of that capacity could have had it. Rows keep their position.
    """
    taken = set(dirty.loc[dirty["file"] == "equipment.csv", "row_number"].astype(int))
    ids = equipment["customer_id"].to_numpy(dtype=object)
    known = pd.Index(capacity_by_id.index)
    candidates = [
        i
        for i in np.flatnonzero(equipment["change"].to_numpy(dtype=object) == "remove")
        if int(i) not in taken and ids[i] in known
    ]
    n_dirty = min(len(candidates), int(round(rate * len(candidates))) or (1 if rate > 0 else 0))
    rows = rng.choice(np.asarray(candidates, dtype=int), size=n_dirty, replace=False)
    equipment = equipment.copy()
    quantity = equipment["quantity"].to_numpy(dtype=object).copy()
    for i in rows:
        rated = float(equipment["rated_kw"].iloc[int(i)])
        kva = float(capacity_by_id[ids[i]])
        quantity[i] = int(np.ceil(kva * rng.uniform(5.0, 20.0) / rated))
    equipment["quantity"] = pd.array(quantity, dtype="Int64")
    return equipment, [("equipment.csv", int(i), "remove_larger_than_capacity") for i in rows]


_TYPE_SLIPS = ("增容", "Increase", "capacity_increase", "减容", "reduction", "暂停", "pause")


def make_dirty_customers(
    rng: np.random.Generator, rate: float, customers: pd.DataFrame, dirty: pd.DataFrame
) -> tuple[pd.DataFrame, list[tuple[str, int, str]]]:
    """Blank the existing capacity or misspell the type of a share of existing customers.

    Only rows not already dirty and customers without a duplicate are edited, so each
    logged row has exactly one defect.
    """
    taken = set(dirty.loc[dirty["file"] == "customers.csv", "row_number"].astype(int))
    ids = customers["customer_id"]
    single = ~ids.duplicated(keep=False).to_numpy()
    kind = customers["application_type"].to_numpy(dtype=object)
    candidates = np.flatnonzero(single & (kind != "new"))
    candidates = np.asarray([i for i in candidates if int(i) not in taken], dtype=int)
    n_dirty = min(candidates.size, int(round(rate * candidates.size)))
    rows = np.sort(rng.choice(candidates, size=n_dirty, replace=False))
    which = rng.random(n_dirty) < 0.5
    customers = customers.copy()
    capacity = customers["existing_capacity_kva"].to_numpy(dtype=float).copy()
    capacity[rows[which]] = np.nan
    kind = kind.copy()
    kind[rows[~which]] = rng.choice(np.asarray(_TYPE_SLIPS, dtype=object), size=int((~which).sum()))
    customers["existing_capacity_kva"] = capacity
    customers["application_type"] = pd.Series(kind, dtype=object, index=customers.index)
    records = [("customers.csv", int(r), "missing_existing_capacity") for r in rows[which]]
    records += [("customers.csv", int(r), "unknown_application_type") for r in rows[~which]]
    return customers, records
