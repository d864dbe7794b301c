"""Synthetic connection-capacity history that follows the data contract.

:func:`generate_history` draws customers (industry, climate zone, floor area, staff,
shifts), the equipment lists they would submit with an application (业扩报装), the metered
12-month peak that such a customer goes on to reach, the capacity it applied for under
today's habits (status quo), and the generator's own expectation of each peak (the
oracle). :func:`write_history` writes ``customers.csv``, ``equipment.csv`` and
``oracle.csv`` (plus ``dirty_rows.csv``, which only tests read), and
``meter_readings.csv`` when the history has existing customers (增容 / 减容 / 暂停,
``SynthConfig.existing_share``; drawn by :mod:`training.synth.existing`).

Every assumption, with its rationale, is documented in ``docs/synthetic_history.md``.
The code is vectorised with numpy: the only per-row Python work is building the
free-text equipment names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.catalog import load_catalog
from features.contract import (
    APPLICATION_TYPES,
    CLIMATE_ZONES,
    CUSTOMER_COLUMN_NAMES,
    EQUIPMENT_COLUMN_NAMES,
    tier_at_or_above,
)
from training.synth import existing as existing
from training.synth.tables import Industry, load_synth_tables

# ---------------------------------------------------------------------------------------
# Configuration and result
# ---------------------------------------------------------------------------------------


DEMO_EXISTING_SHARE = 0.3
"""Share of existing customers (增容 / 减容 / 暂停) in the history of the default model
``make serve`` builds, so the default model answers both kinds. :class:`SynthConfig` and
``capacity synth`` default to 0 (``--existing-share`` opts in): a new-connections history
stays exactly what it was."""


class SynthConfig(BaseModel):
    """Parameters of one synthetic history.

    Only the knobs a user might sensibly turn are here; the engineering tables
    (industry profiles, equipment templates, utilisation factors) are module constants
    documented in ``docs/synthetic_history.md``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(20_000, ge=1, le=2_000_000, description="Number of (clean) customers.")
    seed: int = Field(0, ge=0, description="Seed of the random generator; same seed, same bytes.")
    dirty_row_rate: float = Field(
        0.005, ge=0.0, le=0.2, description="Share of rows of each file that are made dirty."
    )
    missing_climate_zone_rate: float = Field(0.04, ge=0.0, le=1.0)
    missing_floor_area_rate: float = Field(
        0.03, ge=0.0, le=1.0, description="For customers with equipment (area-only keep area)."
    )
    missing_employees_rate: float = Field(0.06, ge=0.0, le=1.0)
    missing_shifts_rate: float = Field(0.04, ge=0.0, le=1.0)
    missing_applied_capacity_rate: float = Field(0.03, ge=0.0, le=1.0)
    missing_standby_rate: float = Field(
        0.10, ge=0.0, le=1.0, description="Share of non-spare lines whose standby cell is empty."
    )
    empty_name_rate: float = Field(0.10, ge=0.0, le=1.0)
    area_only_scale: float = Field(
        1.0, ge=0.0, le=5.0, description="Multiplies every industry's area-only probability."
    )
    noise_sigma: float = Field(
        0.15, ge=0.0, le=1.0, description="Customer-level irreducible log-noise of the peak."
    )
    ramp_up_scale: float = Field(
        0.5, ge=0.0, le=3.0, description="Multiplies every industry's never-ramps-up probability."
    )
    existing_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of applications from existing customers (增容, 减容, 暂停). 0 keeps "
        "the history of new applications only, byte for byte, without the optional columns "
        "and without meter_readings.csv.",
    )
    existing_type_share: tuple[float, float, float] = Field(
        (0.50, 0.35, 0.15),
        description="Relative shares of increase (增容), reduce (减容), suspend (暂停) "
        "among existing customers.",
    )

    @field_validator("existing_type_share")
    @classmethod
    def _shares_are_a_mix(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(value) < 0 or sum(value) <= 0:
            raise ValueError(
                f"existing_type_share must be three shares >= 0 with a positive sum; "
                f"received {value}"
            )
        return value


@dataclass(frozen=True)
class SyntheticHistory:
    """A generated history.

    Attributes
    ----------
    customers
        ``customers.csv`` rows in contract column order (dirty rows included).
    equipment
        ``equipment.csv`` rows in contract column order (dirty rows included);
        ``rated_kw`` is an object column because dirty rows may hold text.
    oracle
        ``customer_id, oracle_peak_kw``: one row per distinct customer.
    dirty_rows
        ``file, row_number, kind``: which rows were made dirty (``row_number`` is the
        0-based data row, header excluded). Never needed by the project itself.
    meter_readings
        ``meter_readings.csv`` rows (dirty rows included) when ``existing_share`` > 0,
        else None (and customers / equipment then have no existing-customer columns).
    meter_events
        ``customer_id, period, event``: the zero months and meter changes drawn into the
        clean readings (tests read it; not written).
    """

    customers: pd.DataFrame
    equipment: pd.DataFrame
    oracle: pd.DataFrame
    dirty_rows: pd.DataFrame
    meter_readings: pd.DataFrame | None = None
    meter_events: pd.DataFrame | None = None


# ---------------------------------------------------------------------------------------
# Engineering tables: training/data/synth_*.csv (training.synth.tables), and the scalars
# ---------------------------------------------------------------------------------------


_SHIFT_FACTOR: tuple[float, float, float] = (0.90, 1.00, 1.08)
"""Peak of shift-sensitive production loads for 1, 2, 3 shifts."""

_BETWEEN_GROUP_B = 0.06
"""``b`` in the coincidence across groups ``1 / (1 + b ln G)``."""
_BASE_KW = 1.0
_BASE_SHARE = 0.02
"""Unlisted base load: controls, small sockets, standby losses (kW + share of installed)."""
_RAMP_LOW, _RAMP_HIGH = 0.45, 0.80
"""Customers who never ramp up reach this fraction (uniform) of their expected peak."""
_AREA_ONLY_SIGMA = 0.40
"""Extra log-spread of an area-only customer's W/m² around its industry's density."""
_INSTALLED_SIGMA = 0.40
"""Log-scatter of installed kW around floor area x industry density."""
_PF_APPLICANT = 0.85

_DIRTY_CATEGORY: dict[str, tuple[str, ...]] = {
    "machine_tool": ("machine-tool", "Machine_Tool", "machinetool", "机床"),
    "pump": ("Pump", "pumps", "water_pump", "泵"),
    "air_compressor": ("air-compressor", "aircompressor", "Air_Compressor"),
    "lighting": ("LED", "lightning", "Lighting ", "照明"),
    "split_ac": ("aircon", "split-ac", "AC"),
    "fan": ("Fan", "fans", "blower"),
}
_GENERIC_DIRTY_CATEGORY: tuple[str, ...] = ("misc", "other", "unknown", "设备", "n/a")
_CUSTOMER_DIRTY_KINDS: tuple[str, ...] = ("duplicate_customer_id", "shifts_out_of_range")
_EQUIPMENT_DIRTY_KINDS: tuple[str, ...] = (
    "nonpositive_rated_kw",
    "unknown_category",
    "orphan_customer_id",
    "nonnumeric_rated_kw",
)


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------


def _check_tables() -> None:
    """Fail loudly when the tables and the project's catalog disagree."""
    catalog = load_catalog()
    if set(load_synth_tables().industries) != set(catalog.industry_codes):
        missing = set(catalog.industry_codes) ^ set(load_synth_tables().industries)
        raise ValueError(f"synthetic industry profiles and catalog differ on {sorted(missing)}")
    if set(load_synth_tables().categories) != set(catalog.category_codes):
        missing = set(catalog.category_codes) ^ set(load_synth_tables().categories)
        raise ValueError(f"synthetic category models and catalog differ on {sorted(missing)}")


def _expected_log_uniform(low: float, high: float) -> float:
    """``E[log U]`` for ``U ~ Uniform(low, high)``."""
    return (high * math.log(high) - high - low * math.log(low) + low) / (high - low)


def _round_kw(values: np.ndarray) -> np.ndarray:
    """Round unit ratings like a nameplate: 0.001 kW below 1 kW, 0.1 kW above."""
    return np.where(values < 1.0, np.round(values, 3), np.round(values, 1))


def _format_kw(value: float) -> str:
    return f"{value:g}"


def _segment_sum(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(groups, weights=values, minlength=n_groups)


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------


@dataclass
class _Customers:
    """Latent (true) customer attributes, one entry per clean customer."""

    industry: np.ndarray  # int index into industry codes
    zone: np.ndarray  # int index into CLIMATE_ZONES
    area: np.ndarray
    employees: np.ndarray
    shifts: np.ndarray  # 1..3
    area_only: np.ndarray
    target_kw: np.ndarray


@dataclass
class _Lines:
    """Clean equipment lines, ordered by customer."""

    customer: np.ndarray
    slot: np.ndarray  # global slot id (per customer x category); -1 for fire pumps
    category: np.ndarray  # int index into category codes
    rated: np.ndarray
    quantity: np.ndarray
    standby: np.ndarray
    name: list[str]


def _draw_customers(cfg: SynthConfig, rng: np.random.Generator, codes: list[str]) -> _Customers:
    n = cfg.n
    profiles = [load_synth_tables().industries[c] for c in codes]
    mix = np.array([p.mix for p in profiles])
    industry = rng.choice(len(codes), size=n, p=mix / mix.sum())
    zone = rng.choice(len(CLIMATE_ZONES), size=n, p=np.asarray(load_synth_tables().climate_share))

    area_median = np.array([p.area_median for p in profiles])[industry]
    area_sigma = np.array([p.area_sigma for p in profiles])[industry]
    area = np.round(area_median * np.exp(area_sigma * rng.standard_normal(n)))
    area = np.maximum(area, 10.0)

    m2_per_emp = np.array([p.m2_per_employee for p in profiles])[industry]
    employees = np.floor(area / m2_per_emp * np.exp(0.4 * rng.standard_normal(n)) + 0.5)

    shifts_p = np.array([p.shifts_p for p in profiles])[industry]
    u = rng.random(n)
    shifts = 1 + (u > shifts_p[:, 0]).astype(int) + (u > shifts_p[:, 0] + shifts_p[:, 1])

    area_only_p = np.array([p.area_only_p for p in profiles])[industry] * cfg.area_only_scale
    area_only = rng.random(n) < np.clip(area_only_p, 0.0, 1.0)

    kw_per_m2 = np.array([p.kw_per_m2 for p in profiles])[industry]
    target_kw = area * kw_per_m2 * np.exp(_INSTALLED_SIGMA * rng.standard_normal(n))
    target_kw = np.maximum(target_kw, 3.0)
    return _Customers(industry, zone, area, employees, shifts.astype(int), area_only, target_kw)


def _draw_slots(
    cust: _Customers, rng: np.random.Generator, codes: list[str], cat_codes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which categories each equipment customer lists, and the kW given to each.

    Returns customer, category, kW, size bias and spare probability per slot, sorted by
    customer and template order.
    """
    cat_index = {c: i for i, c in enumerate(cat_codes)}
    parts: list[tuple[np.ndarray, ...]] = []
    for ind_idx, code in enumerate(codes):
        profile = load_synth_tables().industries[code]
        members = np.flatnonzero((cust.industry == ind_idx) & ~cust.area_only)
        if members.size == 0:
            continue
        slots = profile.slots
        k = len(slots)
        p = np.array([s.p for s in slots])
        weight = np.array([s.weight for s in slots])
        # Small customers list fewer kinds of equipment: the optional categories become
        # less likely below ~300 kW installed and more likely above it.
        scale = np.clip(0.75 + 0.12 * np.log(cust.target_kw[members] / 300.0), 0.35, 1.25)
        p_eff = np.where(p[None, :] >= 1.0, 1.0, np.clip(p[None, :] * scale[:, None], 0, 1))
        include = rng.random((members.size, k)) < p_eff
        # Every list has at least its industry's main category.
        none = ~include.any(axis=1)
        include[none, int(np.argmax(weight))] = True
        w = weight[None, :] * np.exp(0.5 * rng.standard_normal((members.size, k))) * include
        share = w / w.sum(axis=1, keepdims=True)
        kw = share * cust.target_kw[members, None]
        rows, cols = np.nonzero(include)
        spare = np.array(
            [
                s.spare_p
                if s.spare_p is not None
                else load_synth_tables().categories[s.category].spare_p
                for s in slots
            ]
        )
        parts.append(
            (
                members[rows],
                np.array([cat_index[s.category] for s in slots])[cols],
                kw[rows, cols],
                np.array([s.size_bias for s in slots])[cols],
                spare[cols],
                cols,
            )
        )
    if not parts:
        empty_i = np.zeros(0, dtype=int)
        empty_f = np.zeros(0)
        return empty_i, empty_i, empty_f, empty_f, empty_f
    customer = np.concatenate([p[0] for p in parts])
    order_in_template = np.concatenate([p[5] for p in parts])
    order = np.lexsort((order_in_template, customer))
    return (
        customer[order],
        np.concatenate([p[1] for p in parts])[order],
        np.concatenate([p[2] for p in parts])[order],
        np.concatenate([p[3] for p in parts])[order],
        np.concatenate([p[4] for p in parts])[order],
    )


def _draw_lines(
    cust: _Customers,
    rng: np.random.Generator,
    cfg: SynthConfig,
    codes: list[str],
    cat_codes: list[str],
) -> _Lines:
    s_cust, s_cat, s_kw, s_bias, s_spare = _draw_slots(cust, rng, codes, cat_codes)
    n_slots = s_cust.size
    models = [
        np.asarray(load_synth_tables().categories[c].models_kw, dtype=float) for c in cat_codes
    ]
    width = max(m.size for m in models)
    model_table = np.full((len(cat_codes), width), np.nan)
    for i, m in enumerate(models):
        model_table[i, : m.size] = m
    typical = np.array([m[m.size // 2] for m in models])
    size_exp = np.array([load_synth_tables().categories[c].size_exp for c in cat_codes])
    size_sigma = np.array([load_synth_tables().categories[c].size_sigma for c in cat_codes])

    # Bigger allocations are split over more lines (several models, several workshops).
    units = s_kw / typical[s_cat]
    lam = np.clip(0.8 * np.log1p(units) - 0.55, 0.0, 12.0)
    n_lines = 1 + rng.poisson(lam)
    l_slot = np.repeat(np.arange(n_slots), n_lines)
    share = rng.gamma(2.0, size=l_slot.size)
    share /= _segment_sum(share, l_slot, n_slots)[l_slot]
    l_kw = s_kw[l_slot] * share
    l_cat = s_cat[l_slot]

    # Unit size grows with the line's kW; the nearest listed model (in log) is chosen.
    typ = typical[l_cat]
    target = (
        np.log(typ)
        + size_exp[l_cat] * np.log(np.maximum(l_kw / typ, 1e-3))
        + s_bias[l_slot]
        + size_sigma[l_cat] * rng.standard_normal(l_slot.size)
    )
    distance = np.abs(np.log(model_table[l_cat]) - target[:, None])
    distance = np.where(np.isnan(distance), np.inf, distance)
    rated = model_table[l_cat, np.argmin(distance, axis=1)]
    quantity = np.clip(np.floor(l_kw / rated + 0.5), 1, 5000).astype(int)

    # Installed spares: one more unit of the slot's biggest model (N+1), or a third more.
    has_spare = rng.random(n_slots) < s_spare
    biggest = np.zeros(n_slots, dtype=int)
    order = np.lexsort((rated, l_slot))
    last_of_slot = np.r_[l_slot[order][1:] != l_slot[order][:-1], True]
    biggest[l_slot[order][last_of_slot]] = order[last_of_slot]
    spare_slots = np.flatnonzero(has_spare)
    src = biggest[spare_slots]
    spare_qty = np.maximum(1, np.floor(quantity[src] * rng.uniform(0.15, 0.4, src.size)))

    # Fire pumps: duty + standby, both marked standby (they run only in a fire).
    profiles = [load_synth_tables().industries[c] for c in codes]
    fire_p = np.array([p.fire_p for p in profiles])[cust.industry]
    with_equipment = ~cust.area_only
    fire = np.flatnonzero(with_equipment & (rng.random(cust.area.size) < fire_p))
    fire_cat = cat_codes.index("fire_pump")
    fire_models = models[fire_cat]
    fire_idx = np.clip(
        np.floor(1.2 * np.log(cust.area[fire] / 1500.0) + rng.normal(0, 0.8, fire.size)),
        0,
        fire_models.size - 1,
    ).astype(int)
    two_lines = rng.random(fire.size) < 0.5
    fire_cust = np.concatenate([fire, fire[two_lines]])
    fire_rated = np.concatenate([fire_models[fire_idx], fire_models[fire_idx[two_lines]]])
    fire_kind = np.concatenate([np.zeros(fire.size, int), np.ones(int(two_lines.sum()), int)])

    n_normal, n_spare, n_fire = l_slot.size, spare_slots.size, fire_cust.size
    customer = np.concatenate([s_cust[l_slot], s_cust[spare_slots], fire_cust])
    slot = np.concatenate([l_slot, spare_slots, np.full(n_fire, -1)])
    category = np.concatenate([l_cat, s_cat[spare_slots], np.full(n_fire, fire_cat)])
    rated_all = _round_kw(np.concatenate([rated, rated[src], fire_rated]))
    qty_all = np.concatenate([quantity, spare_qty.astype(int), np.full(n_fire, 2)])
    standby = np.concatenate([np.zeros(n_normal, bool), np.ones(n_spare + n_fire, bool)])
    kind = np.concatenate([np.zeros(n_normal, int), np.ones(n_spare, int), 2 + fire_kind])
    sort_slot = np.where(slot < 0, n_slots, slot)
    order = np.lexsort((kind, sort_slot, customer))

    names = _draw_names(
        rng,
        cfg,
        codes,
        cat_codes,
        cust.industry[customer[order]],
        category[order],
        rated_all[order],
        qty_all[order],
        kind[order],
    )
    return _Lines(
        customer=customer[order],
        slot=slot[order],
        category=category[order],
        rated=rated_all[order],
        quantity=qty_all[order],
        standby=standby[order],
        name=names,
    )


def _draw_names(
    rng: np.random.Generator,
    cfg: SynthConfig,
    codes: list[str],
    cat_codes: list[str],
    industry: np.ndarray,
    category: np.ndarray,
    rated: np.ndarray,
    quantity: np.ndarray,
    kind: np.ndarray,
) -> list[str]:
    """Free-text names as customers write them: mostly Chinese, sometimes empty."""
    tables = load_synth_tables()
    stems: list[tuple[str, ...]] = []
    key_of: dict[tuple[int, int], int] = {}
    for i, ind in enumerate(codes):
        for j, cat in enumerate(cat_codes):
            key_of[(i, j)] = len(stems)
            stems.append(tables.name_overrides.get((ind, cat), tables.names[cat]))
    key = np.array([key_of[(int(i), int(j))] for i, j in zip(industry, category, strict=True)])
    counts = np.array([len(s) for s in stems])
    pick = np.floor(rng.random(key.size) * counts[key]).astype(int)
    style = rng.random(key.size)
    empty = rng.random(key.size) < cfg.empty_name_rate
    names: list[str] = []
    for i in range(key.size):
        if empty[i]:
            names.append("")
            continue
        stem = stems[key[i]][pick[i]]
        kw = float(rated[i])
        if "{" in stem:
            stem = stem.format(kw=_format_kw(kw), t=tables.crane_tonnes.get(kw, 5))
        elif style[i] < 0.25:
            stem = f"{stem} {_format_kw(kw)}kW"
        elif style[i] < 0.32 and quantity[i] > 1:
            stem = f"{stem} {int(quantity[i])}台"
        if kind[i] == 1:
            stem = "备用" + stem
        elif kind[i] == 3:
            stem = "喷淋泵" if style[i] < 0.5 else "自动喷水灭火泵"
        names.append(stem)
    return names


@dataclass
class _PeakParts:
    """Per-slot and per-customer quantities shared by the peak and the oracle."""

    slot_customer: np.ndarray
    slot_category: np.ndarray
    slot_installed: np.ndarray
    slot_median: np.ndarray  # installed x median utilisation x within-group diversity
    coincidence: np.ndarray  # per customer
    installed_ns: np.ndarray  # per customer
    base: np.ndarray  # per customer


def _peak_parts(
    lines: _Lines, n: int, cat_codes: list[str], quantity: np.ndarray | None = None
) -> _PeakParts:
    """The peak's ingredients; ``quantity`` replaces the lines' units (before / after a change)."""
    units_of_line = lines.quantity if quantity is None else quantity
    running = (~lines.standby) & (lines.slot >= 0)
    slot_ids = lines.slot[running]
    n_slots = int(lines.slot.max()) + 1 if lines.slot.size else 0
    kw = lines.rated[running] * units_of_line[running]
    slot_installed = _segment_sum(kw, slot_ids, n_slots)
    slot_units = _segment_sum(units_of_line[running].astype(float), slot_ids, n_slots)
    slot_customer = np.zeros(n_slots, dtype=int)
    slot_category = np.zeros(n_slots, dtype=int)
    slot_customer[slot_ids] = lines.customer[running]
    slot_category[slot_ids] = lines.category[running]
    util = np.array([load_synth_tables().categories[c].util for c in cat_codes])
    diversity_a = np.array([load_synth_tables().categories[c].diversity for c in cat_codes])
    a = diversity_a[slot_category]
    within = 1.0 / (1.0 + a * np.log(np.maximum(slot_units, 1.0)))
    slot_median = slot_installed * util[slot_category] * within
    live = slot_installed > 0
    groups = np.bincount(slot_customer[live], minlength=n).astype(float)
    coincidence = 1.0 / (1.0 + _BETWEEN_GROUP_B * np.log(np.maximum(groups, 1.0)))
    installed_ns = _segment_sum(slot_installed, slot_customer, n)
    base = np.where(installed_ns > 0, _BASE_KW + _BASE_SHARE * installed_ns, 0.0)
    return _PeakParts(
        slot_customer, slot_category, slot_installed, slot_median, coincidence, installed_ns, base
    )


def _context_factor(
    cat_codes: list[str], category: np.ndarray, zone: np.ndarray, shifts: np.ndarray
) -> np.ndarray:
    """Climate and shift multiplier of each slot's demand."""
    cooling = np.array([load_synth_tables().categories[c].cooling for c in cat_codes])[category]
    shift_sensitive = np.array(
        [load_synth_tables().categories[c].shift_sensitive for c in cat_codes]
    )[category]
    ac = np.asarray(load_synth_tables().climate_ac)[zone]
    refrigeration = np.asarray(load_synth_tables().climate_refrigeration)[zone]
    climate = np.where(
        cooling == "ac", ac, np.where(cooling == "refrigeration", refrigeration, 1.0)
    )
    shift = np.where(shift_sensitive, np.asarray(_SHIFT_FACTOR)[shifts - 1], 1.0)
    return np.asarray(climate * shift, dtype=float)


def _area_only_context(industry_profiles: list[Industry], industry: np.ndarray,
                       zone: np.ndarray, shifts: np.ndarray) -> np.ndarray:  # fmt: skip
    cooling_share = np.array([p.cooling_share for p in industry_profiles])[industry]
    production = np.array([p.production for p in industry_profiles])[industry]
    shift = np.where(production, np.asarray(_SHIFT_FACTOR)[shifts - 1], 1.0)
    ac = np.asarray(load_synth_tables().climate_ac)[zone]
    return np.asarray((1.0 - cooling_share) * shift + cooling_share * ac, dtype=float)


def _expected_log_equipment_peak(
    parts: _PeakParts,
    cat_codes: list[str],
    zone: np.ndarray,
    shifts: np.ndarray,
    n: int,
) -> np.ndarray:
    """``E[log raw peak]`` over the utilisation draws, given zone and shifts per customer.

    A second-order expansion of ``log(sum_g a_g exp(s_g z_g) + b)`` around ``z = 0``:
    ``log S0 + 0.5 * sum_g s_g**2 * w_g * (1 - w_g)`` with ``w_g = a_g / S0``.
    """
    sigma = np.array([load_synth_tables().categories[c].util_sigma for c in cat_codes])[
        parts.slot_category
    ]
    ctx = _context_factor(
        cat_codes, parts.slot_category, zone[parts.slot_customer], shifts[parts.slot_customer]
    )
    a = parts.coincidence[parts.slot_customer] * parts.slot_median * ctx
    s0 = _segment_sum(a, parts.slot_customer, n) + parts.base
    safe = np.where(s0 > 0, s0, 1.0)
    w = a / safe[parts.slot_customer]
    correction = 0.5 * _segment_sum(sigma**2 * w * (1.0 - w), parts.slot_customer, n)
    return np.asarray(np.log(safe) + correction, dtype=float)


def _marginal_weights(
    observed: np.ndarray, value: np.ndarray, prior: np.ndarray, k: int
) -> np.ndarray:
    """Per-customer weights over ``k`` values: one-hot when observed, else the prior."""
    one_hot = np.zeros((value.size, k))
    one_hot[np.arange(value.size), value] = 1.0
    prior_2d = prior if prior.ndim == 2 else np.broadcast_to(prior, (value.size, k))
    return np.where(observed[:, None], one_hot, prior_2d)


def generate_history(config: SynthConfig) -> SyntheticHistory:
    """Generate a synthetic, contract-conformant connection-capacity history.

    Parameters
    ----------
    config
        Size, seed, dirty-row and missing-field rates.

    Returns
    -------
    SyntheticHistory
        Customers, equipment and oracle frames (and the dirty-row log). The same config
        always gives identical frames.
    """
    _check_tables()
    catalog = load_catalog()
    codes = list(catalog.industry_codes)
    cat_codes = list(catalog.category_codes)
    profiles = [load_synth_tables().industries[c] for c in codes]
    n = config.n
    rng = np.random.Generator(np.random.PCG64(config.seed))

    cust = _draw_customers(config, rng, codes)
    lines = _draw_lines(cust, rng, config, codes, cat_codes)
    parts = _peak_parts(lines, n, cat_codes)

    # --- True peak: latent utilisation draws per group, then customer-level factors.
    sigma = np.array([load_synth_tables().categories[c].util_sigma for c in cat_codes])[
        parts.slot_category
    ]
    ctx = _context_factor(
        cat_codes, parts.slot_category, cust.zone[parts.slot_customer],
        cust.shifts[parts.slot_customer],
    )  # fmt: skip
    utilisation_dev = np.exp(sigma * rng.standard_normal(sigma.size))
    group_demand = parts.coincidence[parts.slot_customer] * parts.slot_median * ctx
    raw_equipment = _segment_sum(group_demand * utilisation_dev, parts.slot_customer, n)
    raw_equipment += parts.base

    density = np.array([p.peak_w_per_m2 for p in profiles])[cust.industry] / 1000.0
    area_ctx = _area_only_context(profiles, cust.industry, cust.zone, cust.shifts)
    raw_area = cust.area * density * area_ctx * np.exp(_AREA_ONLY_SIGMA * rng.standard_normal(n))
    raw = np.where(cust.area_only, raw_area, raw_equipment)

    ramp_p = np.clip(np.array([p.ramp_p for p in profiles]) * config.ramp_up_scale, 0.0, 1.0)
    never_ramps = rng.random(n) < ramp_p[cust.industry]
    ramp = np.where(never_ramps, rng.uniform(_RAMP_LOW, _RAMP_HIGH, n), 1.0)
    noise = np.exp(config.noise_sigma * rng.standard_normal(n))
    peak = np.maximum(np.round(raw * ramp * noise, 1), 0.1)

    # --- Observed fields (missing completely at random).
    zone_seen = rng.random(n) >= config.missing_climate_zone_rate
    shifts_seen = rng.random(n) >= config.missing_shifts_rate
    area_missing_p = (
        config.missing_floor_area_rate
        + np.array([p.missing_area_p for p in profiles])[cust.industry]
    )
    area_seen = cust.area_only | (rng.random(n) >= area_missing_p)
    employees_seen = rng.random(n) >= config.missing_employees_rate

    # --- Oracle: exact marginalisation over unseen zone / shifts (independent of the rest
    # of the application in this generator), latent utilisation, ramp-up and noise
    # replaced by their log-space expectations.
    zone_w = _marginal_weights(
        zone_seen, cust.zone, np.asarray(load_synth_tables().climate_share), len(CLIMATE_ZONES)
    )
    shifts_prior = np.array([p.shifts_p for p in profiles])[cust.industry]
    shift_w = _marginal_weights(shifts_seen, cust.shifts - 1, shifts_prior, 3)
    expected_log = np.zeros(n)
    for z in range(len(CLIMATE_ZONES)):
        for s in range(3):
            w = zone_w[:, z] * shift_w[:, s]
            if not np.any(w > 0):
                continue
            zz = np.full(n, z)
            ss = np.full(n, s + 1)
            eq = _expected_log_equipment_peak(parts, cat_codes, zz, ss, n)
            ao = np.log(cust.area * density * _area_only_context(profiles, cust.industry, zz, ss))
            expected_log += w * np.where(cust.area_only, ao, eq)
    log_ramp = ramp_p * _expected_log_uniform(_RAMP_LOW, _RAMP_HIGH)
    oracle_peak = np.round(np.exp(expected_log + log_ramp[cust.industry]), 2)

    # --- Status quo: what the customer applied for under today's habits.
    applied = _status_quo(rng, config, cust, lines, parts, cat_codes, profiles, n)

    ids = np.array([f"C{i + 1:06d}" for i in range(n)], dtype=object)
    change: _Existing | None = None
    if config.existing_share > 0:
        # Raw equipment peak of the installation with other unit counts, same latent draws.
        def raw_with(quantity: np.ndarray) -> np.ndarray:
            q = _peak_parts(lines, n, cat_codes, quantity)
            demand = q.coincidence[q.slot_customer] * q.slot_median * ctx * utilisation_dev
            equipment_kw = _segment_sum(demand, q.slot_customer, n) + q.base
            return np.asarray(np.where(cust.area_only, raw_area, equipment_kw), dtype=float)

        change = _existing(config, cust, lines, codes, ids, raw_with, ramp * noise, applied)
        peak = np.where(change.plan.kind > 0, change.label, peak)
        oracle_peak = np.where(change.plan.kind > 0, change.oracle, oracle_peak)
        applied = change.applied
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "industry": np.array(codes, dtype=object)[cust.industry],
            "climate_zone": np.where(
                zone_seen, np.array(CLIMATE_ZONES, dtype=object)[cust.zone], None
            ),
            "floor_area_m2": np.where(area_seen, cust.area, np.nan),
            "employees": pd.array(np.where(employees_seen, cust.employees, np.nan), dtype="Int64"),
            "shifts": pd.array(np.where(shifts_seen, cust.shifts, np.nan), dtype="Int64"),
            "applied_capacity_kva": applied,
            "peak_demand_kw": peak,
        }
    )
    standby_blank = (~lines.standby) & (
        rng.random(lines.standby.size) < config.missing_standby_rate
    )
    standby_col = pd.array(lines.standby, dtype="boolean")
    standby_col[standby_blank] = pd.NA
    equipment = pd.DataFrame(
        {
            "customer_id": ids[lines.customer],
            "category": np.array(cat_codes, dtype=object)[lines.category],
            "rated_kw": pd.Series(lines.rated, dtype=object),
            "quantity": pd.array(lines.quantity, dtype="Int64"),
            "standby": standby_col,
            "name": pd.Series(lines.name, dtype=object).replace("", None),
        }
    )
    oracle = pd.DataFrame({"customer_id": ids, "oracle_peak_kw": oracle_peak})
    customer_columns = [c for c in CUSTOMER_COLUMN_NAMES if c not in _X_CUSTOMER_COLUMNS]
    equipment_columns = [c for c in EQUIPMENT_COLUMN_NAMES if c not in _X_EQUIPMENT_COLUMNS]
    if change is not None:
        customers, equipment = _with_existing_columns(customers, equipment, change)
        customer_columns += _X_CUSTOMER_COLUMNS
        equipment_columns += _X_EQUIPMENT_COLUMNS
    customers, equipment, dirty = _make_dirty(rng, config, customers, equipment)
    readings = events = None
    if change is not None:
        new_ids = ids[change.plan.kind == 0]
        readings, records = existing.make_dirty_readings(
            change.rng, config.dirty_row_rate, change.readings.readings, new_ids,
            pd.Series(change.capacity, index=ids),
        )  # fmt: skip
        equipment, more = existing.make_dirty_removals(
            change.rng, config.dirty_row_rate, equipment, dirty,
            pd.Series(change.capacity, index=ids),
        )  # fmt: skip
        records += more
        customers, more = existing.make_dirty_customers(
            change.rng, config.dirty_row_rate, customers, dirty
        )
        records += more
        events = change.readings.events
        dirty = (
            pd.concat(
                [dirty, pd.DataFrame(records, columns=["file", "row_number", "kind"])],
                ignore_index=True,
            )
            .sort_values(["file", "row_number"], kind="stable")
            .reset_index(drop=True)
        )
    return SyntheticHistory(
        customers=customers[customer_columns].reset_index(drop=True),
        equipment=equipment[equipment_columns].reset_index(drop=True),
        oracle=oracle,
        dirty_rows=dirty,
        meter_readings=readings,
        meter_events=events,
    )


_X_CUSTOMER_COLUMNS = list(existing.EXISTING_CUSTOMER_COLUMNS)
_X_EQUIPMENT_COLUMNS = list(existing.EXISTING_EQUIPMENT_COLUMNS)


@dataclass(frozen=True)
class _Existing:
    """The existing customers' part of a history (``existing_share`` > 0)."""

    rng: np.random.Generator
    plan: existing.ChangePlan
    label: np.ndarray
    oracle: np.ndarray
    capacity: np.ndarray
    applied: np.ndarray
    readings: existing.MeterReadings


def _existing(
    cfg: SynthConfig,
    cust: _Customers,
    lines: _Lines,
    codes: list[str],
    ids: np.ndarray,
    raw_with: Callable[[np.ndarray], np.ndarray],
    customer_factor: np.ndarray,
    status_quo: np.ndarray,
) -> _Existing:
    """Types, changes, peaks before / after, capacities and readings of existing customers.

    Draws only from a stream of its own, so the new applicants' draws stay untouched.
    """
    n = cfg.n
    rng = np.random.Generator(np.random.PCG64([cfg.seed, existing.EXISTING_STREAM]))
    plan = existing.plan_changes(
        rng, cfg.existing_share, cfg.existing_type_share, lines.customer, lines.slot,
        lines.quantity, lines.standby, cust.area_only, n,
    )  # fmt: skip
    before = raw_with(plan.qty_before) * customer_factor
    after = raw_with(plan.qty_after) * customer_factor
    label, oracle = existing.post_change_peak(rng, plan.kind, after)
    capacity = existing.existing_capacity(rng, plan.kind, before)
    running_added = ~lines.standby & (plan.kind[lines.customer] == 1)
    added_kw = _segment_sum(
        np.where(running_added, lines.rated * plan.listed_qty, 0.0), lines.customer, n
    )
    applied = existing.applied_capacity(rng, plan.kind, before, capacity, added_kw, status_quo)
    x = plan.kind > 0
    readings = existing.meter_readings(
        rng, load_synth_tables(), codes, ids[x], cust.industry[x], cust.zone[x],
        cust.shifts[x], before[x], capacity[x],
    )  # fmt: skip
    return _Existing(rng, plan, label, oracle, capacity, applied, readings)


def _with_existing_columns(
    customers: pd.DataFrame, equipment: pd.DataFrame, change: _Existing
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the contract's optional columns; keep only the lines the applications list."""
    kind = change.plan.kind
    customers = customers.assign(
        application_type=np.array(APPLICATION_TYPES, dtype=object)[kind],
        existing_capacity_kva=change.capacity,
    )
    listed = change.plan.listed_qty
    quantity = equipment["quantity"].to_numpy(dtype=int)
    names = equipment["name"].to_numpy(dtype=object).copy()
    # "… 6台" in the name of a line listed with fewer units than drawn follows the count.
    for i in np.flatnonzero((listed > 0) & (listed != quantity)):
        text = names[i]
        if isinstance(text, str) and text.endswith(f" {quantity[i]}台"):
            names[i] = text[: -len(f" {quantity[i]}台")] + f" {listed[i]}台"
    equipment = equipment.assign(
        quantity=pd.array(listed, dtype="Int64"),
        name=pd.Series(names, dtype=object, index=equipment.index),
        change=np.where(change.plan.removed, "remove", "add").astype(object),
    )
    return customers, equipment[listed > 0].reset_index(drop=True)


def _status_quo(
    rng: np.random.Generator,
    cfg: SynthConfig,
    cust: _Customers,
    lines: _Lines,
    parts: _PeakParts,
    cat_codes: list[str],
    profiles: list[Industry],
    n: int,
) -> np.ndarray:
    """Applied capacity (kVA) under today's sizing habits, or NaN when left empty."""
    kw = lines.rated * lines.quantity
    standby_kw = _segment_sum(np.where(lines.standby, kw, 0.0), lines.customer, n)
    installed = parts.installed_ns
    kx = np.array([load_catalog().categories[c].kx_default for c in cat_codes])
    kx_demand = _segment_sum(parts.slot_installed * kx[parts.slot_category], parts.slot_customer, n)

    method = rng.random(n)
    with_standby = rng.random(n) < 0.65
    nameplate = (installed + np.where(with_standby, standby_kw, 0.0)) * rng.uniform(1.1, 1.5, n)
    rule_of_thumb = installed * rng.uniform(0.5, 0.85, n) * rng.uniform(1.1, 1.3, n)
    design = kx_demand * 0.9 * rng.uniform(1.05, 1.25, n)
    kw_sized = np.where(method < 0.70, nameplate, np.where(method < 0.88, rule_of_thumb, design))
    kva = kw_sized / _PF_APPLICANT

    design_density = np.array([p.design_va_per_m2 for p in profiles])[cust.industry]
    area_kva = cust.area * design_density / 1000.0 * np.exp(0.25 * rng.standard_normal(n))
    kva = np.where(cust.area_only, area_kva, kva)
    applied = tier_at_or_above(np.maximum(kva, 1.0))
    missing = rng.random(n) < cfg.missing_applied_capacity_rate
    return np.where(missing, np.nan, applied)


def _make_dirty(
    rng: np.random.Generator,
    cfg: SynthConfig,
    customers: pd.DataFrame,
    equipment: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Corrupt a share of rows the way real exports are corrupted; log which rows."""
    records: list[tuple[str, int, str]] = []

    # Customers: in-place edits, then duplicates inserted right after their original.
    n_cust = len(customers)
    n_dirty = int(round(cfg.dirty_row_rate * n_cust))
    kinds = rng.choice(len(_CUSTOMER_DIRTY_KINDS), size=n_dirty)
    targets = rng.choice(n_cust, size=n_dirty, replace=False)
    customers = customers.copy()
    shift_bad = targets[kinds == 1]
    customers.loc[shift_bad, "shifts"] = rng.choice([0, 4, 5, 6], size=shift_bad.size, p=[
        0.2, 0.2, 0.5, 0.1
    ])  # fmt: skip
    dup_src = np.sort(targets[kinds == 0])
    dups = customers.iloc[dup_src].copy()
    # A re-keyed record: the same id with a slightly different area or headcount.
    dups["floor_area_m2"] = np.round(dups["floor_area_m2"] * rng.uniform(0.9, 1.1, len(dups)))
    position = np.concatenate([np.arange(n_cust, dtype=float), dup_src + 0.5])
    combined = pd.concat([customers, dups], ignore_index=True)
    order = np.argsort(position, kind="stable")
    customers = combined.iloc[order].reset_index(drop=True)
    new_row = np.empty(order.size, dtype=int)
    new_row[order] = np.arange(order.size)
    for row in new_row[n_cust:]:
        records.append(("customers.csv", int(row), "duplicate_customer_id"))
    for t in shift_bad:
        records.append(("customers.csv", int(new_row[t]), "shifts_out_of_range"))

    # Equipment: in-place edits and orphan rows inserted at random places.
    n_eq = len(equipment)
    n_dirty = int(round(cfg.dirty_row_rate * n_eq))
    kinds = rng.choice(len(_EQUIPMENT_DIRTY_KINDS), size=n_dirty)
    n_orphan = int((kinds == 2).sum())
    in_place = rng.choice(n_eq, size=n_dirty - n_orphan, replace=False) if n_eq else np.zeros(0)
    edit_kinds = kinds[kinds != 2]
    equipment = equipment.copy()
    rated = equipment["rated_kw"].to_numpy(dtype=object).copy()
    category = equipment["category"].to_numpy(dtype=object).copy()
    edit_log: list[tuple[int, str]] = []
    for row, kind in zip(in_place.astype(int), edit_kinds, strict=True):
        value = float(rated[row])
        if kind == 0:
            rated[row] = 0.0 if rng.random() < 0.4 else -value
            edit_log.append((row, "nonpositive_rated_kw"))
        elif kind == 1:
            code = str(category[row])
            # Typical slips: hyphens for underscores, capitals, plurals, English words.
            options = _DIRTY_CATEGORY.get(code, (code.title(), code.replace("_", "-") + "s"))
            options = options + _GENERIC_DIRTY_CATEGORY[:1]
            category[row] = options[int(rng.integers(len(options)))]
            edit_log.append((row, "unknown_category"))
        else:
            text = _format_kw(value)
            forms = (f"{text}kw", f"{text}KW", f"{text} kW", text.replace(".", ",") + "kw")
            rated[row] = forms[int(rng.integers(len(forms)))]
            edit_log.append((row, "nonnumeric_rated_kw"))
    equipment["rated_kw"] = pd.Series(rated, dtype=object, index=equipment.index)
    equipment["category"] = pd.Series(category, dtype=object, index=equipment.index)

    orphan_src = rng.choice(n_eq, size=n_orphan) if n_eq else np.zeros(0, dtype=int)
    orphans = equipment.iloc[orphan_src].copy()
    orphans["customer_id"] = [f"C{n_cust + 1 + k + int(rng.integers(1000)):06d}X"
                              for k in range(n_orphan)]  # fmt: skip
    position = np.concatenate(
        [np.arange(n_eq, dtype=float), rng.uniform(-0.5, n_eq - 0.5, n_orphan)]
    )
    combined = pd.concat([equipment, orphans], ignore_index=True)
    order = np.argsort(position, kind="stable")
    equipment = combined.iloc[order].reset_index(drop=True)
    new_row = np.empty(order.size, dtype=int)
    new_row[order] = np.arange(order.size)
    for row in new_row[n_eq:]:
        records.append(("equipment.csv", int(row), "orphan_customer_id"))
    for row, kind_name in edit_log:
        records.append(("equipment.csv", int(new_row[row]), kind_name))

    dirty = pd.DataFrame(records, columns=["file", "row_number", "kind"])
    dirty = dirty.sort_values(["file", "row_number"], kind="stable").reset_index(drop=True)
    return customers, equipment, dirty


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def _bool_text(values: pd.Series) -> pd.Series:
    mapped = values.map({True: "true", False: "false"})
    return mapped.astype(object).where(values.notna(), None)


def write_history(history: SyntheticHistory, out_dir: str | Path) -> dict[str, Path]:
    """Write the history as contract CSV files.

    Parameters
    ----------
    history
        The output of :func:`generate_history`.
    out_dir
        Folder to write into (created if needed).

    Returns
    -------
    dict[str, pathlib.Path]
        Paths of ``customers``, ``equipment``, ``oracle`` and ``dirty_rows`` (and
        ``meter_readings`` when the history has existing customers).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    equipment = history.equipment.copy()
    equipment["standby"] = _bool_text(equipment["standby"])
    frames = {
        "customers": history.customers,
        "equipment": equipment,
        "oracle": history.oracle,
        "dirty_rows": history.dirty_rows,
    }
    if history.meter_readings is not None:
        frames["meter_readings"] = history.meter_readings
    paths: dict[str, Path] = {}
    for name, frame in frames.items():
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        paths[name] = path
    return paths
