"""The demand-coefficient method (需要系数法) calculation sheet and its vectorised twin.

The classical design-institute method: per equipment group the calculated load is
``Pjs = Kx * Pe`` and ``Qjs = Pjs * tan(phi)``; over the groups the simultaneity factors
(同时系数) give ``P30 = K∑p * ΣPjs`` and ``Q30 = K∑q * ΣQjs``; reactive compensation to a
target power factor then gives the apparent load the transformer must carry, and the
transformer is the smallest standard capacity whose load rate stays at or below the
target (GB 51348: about 85 %).

When an application has no equipment list, the unit-area load-density method
(单位面积负荷密度法) stands in: ``P30 = design_w_m2 * floor_area / 1000`` with the
industry's design density from ``features/data/industries.csv``.

:func:`calculation_sheet` explains one application line by line (for the API and the web
page); :func:`engineering_estimate_frame` computes the same numbers for a whole history at
once (for training features and the engineering baseline). Both run the same final
arithmetic (:func:`_finish`) so they cannot drift apart. The method, defaults and worked
examples are documented in ``docs/engineering_method.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from features.catalog import Category, load_catalog, unknown_code_message
from features.contract import (
    BOOLEAN_FALSE_WORDS,
    BOOLEAN_TRUE_WORDS,
    TWO_PART_TARIFF_MIN_KVA,
    tier_at_or_above,
)
from features.schemas import Application, EquipmentItem

Method = Literal["demand_coefficient", "area_density"]
SupplyVoltage = Literal["220V", "0.4kV", "10kV", "35kV+"]

FIRE_PUMP_CATEGORY = "fire_pump"
"""Fire pumps run only in a fire, when normal load is shed, so they never add to P30."""


class EngineeringConfig(BaseModel):
    """Defaults of the demand-coefficient method; every field can be overridden.

    Parameters
    ----------
    kx_choice
        Which point of each category's published Kx range is the default demand
        coefficient: its low end, middle or high end.
    k_sum_p, k_sum_q
        Simultaneity factors (同时系数) K∑p and K∑q, applied when there are two or more
        groups; a single group uses 1.0 unless the caller overrides it.
    target_cos_phi
        Power factor that reactive compensation aims for; equals the contract's
        compensated power factor (0.9).
    max_load_rate
        Highest allowed ``S30_after_compensation / capacity`` when choosing the
        transformer (GB 51348 recommends about 85 %).
    voltage_kv
        Line voltage for the calculated current I30 (0.38 kV at the 0.4 kV bus).
    area_cos_phi
        Natural power factor assumed by the area-density method, before compensation.
    single_phase_max_kw
        P30 up to this is supplied single-phase at 220 V.
    lv_max_kw
        P30 up to this is supplied at 0.4 kV; above it at 10 kV.
    mv_max_kva
        Compensated S30 above this is suggested 35 kV or higher.
    capacity_price_yuan_per_kva_month
        Capacity price (基本电费) of the two-part tariff, yuan per kVA per month.
    tariff_threshold_kva
        Capacity from which the two-part tariff (两部制电价) applies.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kx_choice: Literal["low", "mid", "high"] = "mid"
    k_sum_p: float = Field(default=0.9, gt=0, le=1)
    k_sum_q: float = Field(default=0.95, gt=0, le=1)
    target_cos_phi: float = Field(default=0.9, gt=0, le=1)
    max_load_rate: float = Field(default=0.85, gt=0, le=1)
    voltage_kv: float = Field(default=0.38, gt=0)
    area_cos_phi: float = Field(default=0.85, gt=0, le=1)
    single_phase_max_kw: float = Field(default=10.0, ge=0)
    lv_max_kw: float = Field(default=160.0, gt=0)
    mv_max_kva: float = Field(default=8000.0, gt=0)
    capacity_price_yuan_per_kva_month: float = Field(default=22.0, ge=0)
    tariff_threshold_kva: float = Field(default=TWO_PART_TARIFF_MIN_KVA, gt=0)

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> EngineeringConfig:
        if self.single_phase_max_kw >= self.lv_max_kw:
            raise ValueError(
                f"single_phase_max_kw ({self.single_phase_max_kw}) must be below "
                f"lv_max_kw ({self.lv_max_kw})"
            )
        return self


DEFAULT_ENGINEERING = EngineeringConfig()


def _check_category(value: str) -> str:
    codes = load_catalog().category_codes
    if value not in codes:
        raise ValueError(unknown_code_message("category", value, codes))
    return value


class GroupInput(BaseModel):
    """One equipment group: the non-standby installed capacity Pe of one category.

    ``kx`` and ``cos_phi`` override the catalog defaults for this group only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: str = Field(..., description="Category code from categories.csv.")
    installed_kw: float = Field(..., gt=0, description="Pe: non-standby installed kW.")
    kx: float | None = Field(default=None, ge=0, le=1, description="Demand coefficient override.")
    cos_phi: float | None = Field(default=None, gt=0, le=1, description="Power factor override.")
    name: str | None = Field(default=None, max_length=200, description="Optional display label.")

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        return _check_category(value)


class ExcludedItem(BaseModel):
    """An equipment line left out of the calculation, with the reason."""

    model_config = ConfigDict(frozen=True)

    category: str | None
    name: str | None
    installed_kw: float
    reason: str


class EquipmentGroups(BaseModel):
    """Groups built from an equipment list, plus the lines that were left out."""

    model_config = ConfigDict(frozen=True)

    groups: list[GroupInput]
    excluded: list[ExcludedItem]


def groups_from_equipment(items: Sequence[EquipmentItem]) -> EquipmentGroups:
    """Sum equipment lines into one group per category, leaving out spares.

    Standby items and fire pumps are excluded (they do not run in normal operation) and
    listed with the reason. Groups keep the order in which their category first appears.

    Parameters
    ----------
    items
        Equipment lines; each must have ``category`` set (resolve free-text names with
        the name matcher first).

    Returns
    -------
    EquipmentGroups
        The groups and the excluded lines.

    Raises
    ------
    ValueError
        If an item has no category.
    """
    totals: dict[str, float] = {}
    excluded: list[ExcludedItem] = []
    for position, item in enumerate(items):
        if item.category is None:
            raise ValueError(
                f"equipment item {position} (name {item.name!r}) has no category: expected a "
                "category code; map free-text names to categories before the calculation"
            )
        installed = item.rated_kw * item.quantity
        if item.standby:
            reason = "standby (installed spare, does not run in normal operation)"
        elif item.category == FIRE_PUMP_CATEGORY:
            reason = "fire pump (runs only in a fire, when normal load is shed)"
        else:
            totals[item.category] = totals.get(item.category, 0.0) + installed
            continue
        excluded.append(
            ExcludedItem(
                category=item.category, name=item.name, installed_kw=installed, reason=reason
            )
        )
    groups = [GroupInput(category=code, installed_kw=kw) for code, kw in totals.items()]
    return EquipmentGroups(groups=groups, excluded=excluded)


@dataclass(frozen=True)
class IndustryDensity:
    """Load-density figures of one industry (W per m² of floor area)."""

    design_w_m2: float
    installed_w_m2_low: float
    installed_w_m2_high: float


def industry_density(industry: str) -> IndustryDensity:
    """The design load density and plausible installed-density range of an industry.

    Raises
    ------
    ValueError
        If the industry code is unknown or its row lacks the density columns.
    """
    catalog = load_catalog()
    if industry not in catalog.industries:
        raise ValueError(unknown_code_message("industry", industry, catalog.industry_codes))
    extra = catalog.industries[industry].extra
    try:
        return IndustryDensity(
            design_w_m2=float(extra["design_w_m2"]),
            installed_w_m2_low=float(extra["installed_w_m2_low"]),
            installed_w_m2_high=float(extra["installed_w_m2_high"]),
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"industries.csv row '{industry}' lacks a numeric design_w_m2 / installed_w_m2_low "
            f"/ installed_w_m2_high (received {extra!r})"
        ) from exc


def _kx_default(category: Category, choice: str) -> float:
    if choice == "low":
        return category.kx_low
    if choice == "high":
        return category.kx_high
    return category.kx_default


def _tan_phi(cos_phi: float | np.ndarray) -> np.ndarray:
    cos = np.asarray(cos_phi, dtype=float)
    return np.asarray(np.sqrt(1.0 - cos * cos) / cos, dtype=float)


def _finish(p30: np.ndarray, q30: np.ndarray, config: EngineeringConfig) -> dict[str, np.ndarray]:
    """Compensation, transformer, voltage and tariff from P30/Q30 (vectorised, NaN-safe).

    Shared by the sheet and the frame so their numbers are identical by construction.
    """
    p30 = np.asarray(p30, dtype=float)
    q30 = np.asarray(q30, dtype=float)
    valid = np.isfinite(p30) & np.isfinite(q30)
    s30 = np.hypot(p30, q30)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_natural = np.where(s30 > 0, p30 / s30, np.nan)
    # Qc = P30 (tan φ1 − tan φ2); written as Q30 − P30 tan φ2 so that P30 = 0 needs no
    # division, and clipped at 0: a load already at or above the target needs none.
    q_target = p30 * float(_tan_phi(config.target_cos_phi))
    qc = np.maximum(q30 - q_target, 0.0)
    q30_comp = q30 - qc
    s30_comp = np.hypot(p30, q30_comp)
    root3_u = math.sqrt(3.0) * config.voltage_kv
    i30 = s30 / root3_u
    i30_comp = s30_comp / root3_u
    kva = np.full(p30.shape, np.nan)
    if valid.any():
        kva[valid] = tier_at_or_above(s30_comp[valid] / config.max_load_rate)
    with np.errstate(invalid="ignore", divide="ignore"):
        load_rate = s30_comp / kva
    # Assigned from the highest voltage down so that the lowest matching level wins.
    voltage = np.full(p30.shape, "35kV+", dtype=object)
    voltage[s30_comp <= config.mv_max_kva] = "10kV"
    voltage[p30 <= config.lv_max_kw] = "0.4kV"
    voltage[p30 <= config.single_phase_max_kw] = "220V"
    voltage[~valid] = None
    two_part = valid & (kva >= config.tariff_threshold_kva)
    charge = np.where(two_part, kva * config.capacity_price_yuan_per_kva_month, 0.0)
    charge = np.where(valid, charge, np.nan)
    return {
        "s30": s30,
        "cos_natural": cos_natural,
        "qc": qc,
        "q30_comp": q30_comp,
        "s30_comp": s30_comp,
        "i30": i30,
        "i30_comp": i30_comp,
        "kva": kva,
        "load_rate": load_rate,
        "voltage": voltage,
        "two_part": two_part,
        "charge": charge,
    }


class SheetRow(BaseModel):
    """One group's line of the calculation sheet."""

    model_config = ConfigDict(frozen=True)

    category: str
    name: str | None
    installed_kw: float = Field(..., description="Pe, kW")
    kx: float
    kx_overridden: bool
    cos_phi: float
    cos_phi_overridden: bool
    tan_phi: float
    p_kw: float = Field(..., description="Pjs = Kx·Pe, kW")
    q_kvar: float = Field(..., description="Qjs = Pjs·tanφ, kvar")


class CalculationSheet(BaseModel):
    """The demand-coefficient (or area-density) calculation, line by line."""

    model_config = ConfigDict(frozen=True)

    method: Method
    rows: list[SheetRow]
    excluded: list[ExcludedItem]
    installed_kw: float | None = Field(..., description="ΣPe of the groups (None: area method)")
    sum_p_kw: float = Field(..., description="ΣPjs (area method: P30)")
    sum_q_kvar: float = Field(..., description="ΣQjs (area method: Q30)")
    k_sum_p: float
    k_sum_q: float
    p30_kw: float
    q30_kvar: float
    s30_kva: float
    i30_a: float = Field(..., description="S30/(√3·U) before compensation")
    cos_phi_natural: float | None = Field(..., description="P30/S30; None when S30 = 0")
    target_cos_phi: float
    qc_kvar: float = Field(..., description="Compensation Qc = P30·(tanφ1 − tanφ2), ≥ 0")
    q30_comp_kvar: float
    s30_comp_kva: float
    i30_comp_a: float
    max_load_rate: float
    transformer_kva: float
    load_rate: float = Field(..., description="S30 after compensation / transformer_kva")
    supply_voltage: SupplyVoltage
    two_part_tariff: bool
    capacity_charge_yuan_month: float
    industry: str | None
    floor_area_m2: float | None
    design_w_m2: float | None
    installed_w_m2: float | None = Field(..., description="ΣPe·1000/floor area")
    installed_w_m2_range: tuple[float, float] | None
    density_outside_range: bool | None = Field(
        ..., description="Installed density far outside the industry's range: review manually"
    )
    notes: list[str]
    config: EngineeringConfig


def _check_k_sum(name: str, value: float | None) -> None:
    if value is not None and not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be in (0, 1]; received {value}")


def calculation_sheet(
    groups: Sequence[GroupInput],
    config: EngineeringConfig | None = None,
    k_sum_p: float | None = None,
    k_sum_q: float | None = None,
    industry: str | None = None,
    floor_area_m2: float | None = None,
    excluded: Sequence[ExcludedItem] = (),
) -> CalculationSheet:
    """Compute the demand-coefficient calculation sheet of one application.

    Parameters
    ----------
    groups
        Equipment groups (see :func:`groups_from_equipment`); may be empty when
        ``industry`` and ``floor_area_m2`` are given (area-density method).
    config
        Method defaults; :data:`DEFAULT_ENGINEERING` when omitted.
    k_sum_p, k_sum_q
        Simultaneity-factor overrides; by default ``config``'s values with two or more
        groups and 1.0 with a single group.
    industry, floor_area_m2
        Used by the area-density method, and with groups for the plausibility check of
        the installed density (flagged when far outside the industry's range).
    excluded
        Lines left out of the calculation, carried into the sheet for display.

    Returns
    -------
    CalculationSheet
        Every intermediate value, the transformer, voltage and tariff suggestions.

    Raises
    ------
    ValueError
        With no groups and not both industry and floor area; for an unknown industry,
        a non-positive floor area or a simultaneity factor outside (0, 1].
    """
    config = config or DEFAULT_ENGINEERING
    _check_k_sum("k_sum_p", k_sum_p)
    _check_k_sum("k_sum_q", k_sum_q)
    if floor_area_m2 is not None and not (math.isfinite(floor_area_m2) and floor_area_m2 > 0):
        raise ValueError(f"floor_area_m2 must be a positive number; received {floor_area_m2}")
    density = industry_density(industry) if industry is not None else None
    notes: list[str] = []
    rows: list[SheetRow] = []
    catalog = load_catalog()

    if groups:
        method: Method = "demand_coefficient"
        for group in groups:
            category = catalog.categories[group.category]
            kx = group.kx if group.kx is not None else _kx_default(category, config.kx_choice)
            cos_phi = group.cos_phi if group.cos_phi is not None else category.cos_phi
            tan_phi = math.sqrt(1.0 - cos_phi * cos_phi) / cos_phi  # as _tan_phi, one value
            p_kw = kx * group.installed_kw
            rows.append(
                # Every value is a float or bool from validated inputs: no second validation.
                SheetRow.model_construct(
                    category=group.category,
                    name=group.name,
                    installed_kw=group.installed_kw,
                    kx=kx,
                    kx_overridden=group.kx is not None,
                    cos_phi=cos_phi,
                    cos_phi_overridden=group.cos_phi is not None,
                    tan_phi=tan_phi,
                    p_kw=p_kw,
                    q_kvar=p_kw * tan_phi,
                )
            )
        installed_kw: float | None = sum(row.installed_kw for row in rows)
        sum_p = sum(row.p_kw for row in rows)
        sum_q = sum(row.q_kvar for row in rows)
        several = len(rows) >= 2
        ksp = k_sum_p if k_sum_p is not None else (config.k_sum_p if several else 1.0)
        ksq = k_sum_q if k_sum_q is not None else (config.k_sum_q if several else 1.0)
        if not several and k_sum_p is None and k_sum_q is None:
            notes.append("Single group: simultaneity factors K∑p = K∑q = 1.0.")
        p30 = ksp * sum_p
        q30 = ksq * sum_q
    elif density is not None and floor_area_m2 is not None:
        method = "area_density"
        installed_kw = None
        p30 = density.design_w_m2 * floor_area_m2 / 1000.0
        q30 = p30 * float(_tan_phi(config.area_cos_phi))
        sum_p, sum_q, ksp, ksq = p30, q30, 1.0, 1.0
        notes.append(
            f"No equipment groups: unit-area load-density method, P30 = {density.design_w_m2:g} "
            f"W/m² × {floor_area_m2:g} m² / 1000, natural cos φ {config.area_cos_phi:g} before "
            "compensation; no simultaneity factor (the design density already includes it)."
        )
    else:
        raise ValueError(
            "nothing to calculate: expected at least one equipment group, or both industry and "
            f"floor_area_m2 for the area-density method; received 0 groups, industry={industry!r}, "
            f"floor_area_m2={floor_area_m2!r}"
        )

    for item in excluded:
        notes.append(f"Excluded {item.category} {item.installed_kw:g} kW: {item.reason}.")

    out = _finish(np.array([p30]), np.array([q30]), config)
    kva = float(out["kva"][0])
    cos_natural = float(out["cos_natural"][0])
    qc = float(out["qc"][0])
    if qc > 0:
        notes.append(
            f"Reactive compensation Qc = {qc:.1f} kvar raises cos φ from {cos_natural:.3f} "
            f"to {config.target_cos_phi:g}."
        )

    installed_w_m2: float | None = None
    outside: bool | None = None
    if installed_kw is not None and density is not None and floor_area_m2 is not None:
        installed_w_m2 = installed_kw * 1000.0 / floor_area_m2
        outside = not (density.installed_w_m2_low <= installed_w_m2 <= density.installed_w_m2_high)
        if outside:
            notes.append(
                f"Installed density {installed_w_m2:.0f} W/m² is far outside the {industry} "
                f"range {density.installed_w_m2_low:g}–{density.installed_w_m2_high:g} W/m²: "
                "check the equipment list and floor area (manual review)."
            )

    return CalculationSheet(
        method=method,
        rows=rows,
        excluded=list(excluded),
        installed_kw=installed_kw,
        sum_p_kw=sum_p,
        sum_q_kvar=sum_q,
        k_sum_p=ksp,
        k_sum_q=ksq,
        p30_kw=p30,
        q30_kvar=q30,
        s30_kva=float(out["s30"][0]),
        i30_a=float(out["i30"][0]),
        cos_phi_natural=None if math.isnan(cos_natural) else cos_natural,
        target_cos_phi=config.target_cos_phi,
        qc_kvar=qc,
        q30_comp_kvar=float(out["q30_comp"][0]),
        s30_comp_kva=float(out["s30_comp"][0]),
        i30_comp_a=float(out["i30_comp"][0]),
        max_load_rate=config.max_load_rate,
        transformer_kva=kva,
        load_rate=float(out["load_rate"][0]),
        supply_voltage=out["voltage"][0],
        two_part_tariff=bool(out["two_part"][0]),
        capacity_charge_yuan_month=float(out["charge"][0]),
        industry=industry,
        floor_area_m2=floor_area_m2,
        design_w_m2=density.design_w_m2 if density is not None else None,
        installed_w_m2=installed_w_m2,
        installed_w_m2_range=(
            (density.installed_w_m2_low, density.installed_w_m2_high)
            if density is not None
            else None
        ),
        density_outside_range=outside,
        notes=notes,
        config=config,
    )


def sheet_for_application(
    application: Application, config: EngineeringConfig | None = None
) -> CalculationSheet:
    """Calculation sheet of an application whose equipment lines all have a category.

    Falls back to the area-density method when every line is excluded or the list is
    empty (and a floor area is given).
    """
    built = groups_from_equipment(application.equipment)
    return calculation_sheet(
        built.groups,
        config,
        industry=application.industry,
        floor_area_m2=application.floor_area_m2,
        excluded=built.excluded,
    )


ENGINEERING_COLUMNS: tuple[str, ...] = (
    "eng_p30_kw",
    "eng_q30_kvar",
    "eng_s30_kva",
    "eng_s30_comp_kva",
    "eng_kva",
    "eng_method",
)

_TRUE_STRINGS, _FALSE_STRINGS = set(BOOLEAN_TRUE_WORDS), {*BOOLEAN_FALSE_WORDS, ""}


def _standby_mask(values: pd.Series) -> np.ndarray:
    """Strict boolean parse of the standby column (missing = False)."""
    if pd.api.types.is_bool_dtype(values.dtype) and not values.hasnans:
        return np.asarray(values.to_numpy(dtype=bool), dtype=bool)
    # astype(bool) would turn the string "false" into True, so parse explicitly.
    text = values.astype("string").str.strip().str.lower().fillna("")
    known = text.isin(_TRUE_STRINGS | _FALSE_STRINGS)
    if not known.all():
        bad = sorted(set(values[~known.to_numpy()].astype(str)))[:5]
        raise ValueError(f"standby must be true/false; received {bad}")
    return np.asarray(text.isin(_TRUE_STRINGS).to_numpy(dtype=bool), dtype=bool)


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} frame lacks column(s) {missing}: expected {list(columns)}; "
            f"received {list(frame.columns)}"
        )


@lru_cache(maxsize=1)
def _design_densities() -> dict[str, float]:
    """Design W/m² per industry code (read from the catalog once)."""
    return {code: industry_density(code).design_w_m2 for code in load_catalog().industries}


def engineering_estimate_frame(
    equipment: pd.DataFrame,
    customers: pd.DataFrame,
    config: EngineeringConfig | None = None,
) -> pd.DataFrame:
    """Demand-coefficient estimates for every customer of a history, vectorised.

    Gives the same numbers as :func:`calculation_sheet` with catalog defaults (no
    overrides) for each customer: equipment lines are grouped by category, standby
    lines and fire pumps are left out; customers without groups but with a floor area
    use the area-density method; customers with neither get NaN.

    Parameters
    ----------
    equipment
        Columns ``customer_id``, ``category``, ``rated_kw``, ``quantity`` and optionally
        ``standby``. Rows of customers absent from ``customers`` are ignored.
    customers
        Columns ``customer_id`` (unique), ``industry`` and optionally ``floor_area_m2``.
    config
        Method defaults; :data:`DEFAULT_ENGINEERING` when omitted.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` in the order of ``customers``, with the columns of
        :data:`ENGINEERING_COLUMNS`; ``eng_method`` is ``'demand_coefficient'``,
        ``'area_density'`` or missing.

    Raises
    ------
    ValueError
        On missing columns, duplicate customer ids, unknown category or industry codes or
        an unparseable standby value.
    """
    config = config or DEFAULT_ENGINEERING
    _require_columns(equipment, ("customer_id", "category", "rated_kw", "quantity"), "equipment")
    _require_columns(customers, ("customer_id", "industry"), "customers")

    index = pd.Index(customers["customer_id"], name="customer_id")
    if not index.is_unique:
        dupes = index[index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"customer_id must be unique in customers; received duplicates {dupes}")
    n_customers = len(index)
    cat_raw = equipment["category"].to_numpy(dtype=object)
    unknown = _category_positions(cat_raw) < 0
    if unknown.any():
        bad = sorted(set(equipment["category"][unknown].astype(str)))[:5]
        raise ValueError(f"unknown category code(s) {bad}: expected codes from categories.csv")
    cust_pos = index.get_indexer(equipment["customer_id"])
    standby = (
        _standby_mask(equipment["standby"])
        if "standby" in equipment.columns
        else np.zeros(len(equipment), dtype=bool)
    )
    industries = customers["industry"].astype(str)
    if "floor_area_m2" in customers.columns:
        area = pd.to_numeric(customers["floor_area_m2"], errors="coerce").to_numpy(dtype=float)
    else:
        area = np.full(n_customers, np.nan)
    out = engineering_estimate_arrays(
        cat_raw,
        cust_pos,
        standby,
        equipment["rated_kw"].to_numpy(dtype=float),
        equipment["quantity"].to_numpy(dtype=float),
        industries.to_numpy(dtype=object),
        area,
        config,
    )
    return pd.DataFrame(out, index=index)


def _category_positions(categories: Sequence[object] | np.ndarray) -> np.ndarray:
    """Position of each category code in the catalog (-1: unknown)."""
    lookup = _category_lookup()
    return np.fromiter(
        (lookup.get(c, -1) for c in categories),  # type: ignore[arg-type]
        dtype=np.int64,
        count=len(categories),
    )


@lru_cache(maxsize=1)
def _category_lookup() -> dict[str, int]:
    return {c: i for i, c in enumerate(load_catalog().category_codes)}


@lru_cache(maxsize=4)
def _category_defaults(kx_choice: str) -> tuple[np.ndarray, np.ndarray]:
    """Default Kx and tan φ per catalog category position (read once per Kx choice)."""
    catalog = load_catalog()
    categories = [catalog.categories[c] for c in catalog.category_codes]
    kx = np.array([_kx_default(c, kx_choice) for c in categories], dtype=float)
    tan = _tan_phi(np.array([c.cos_phi for c in categories], dtype=float))
    kx.setflags(write=False)
    tan.setflags(write=False)
    return kx, tan


def engineering_estimate_arrays(
    categories: Sequence[object] | np.ndarray,
    customer_pos: np.ndarray,
    standby: np.ndarray,
    rated_kw: np.ndarray,
    quantity: np.ndarray,
    industries: np.ndarray,
    floor_area_m2: np.ndarray,
    config: EngineeringConfig | None = None,
) -> dict[str, np.ndarray]:
    """:func:`engineering_estimate_frame` on arrays: the columns of its frame.

    Equipment lines are given by category code, the row of their customer (-1: ignored),
    standby flag, rating and quantity; customers by industry code (text) and floor area.

    Raises
    ------
    ValueError
        On unknown category or industry codes.
    """
    config = config or DEFAULT_ENGINEERING
    catalog = load_catalog()
    n_customers = len(industries)
    cat_codes = catalog.category_codes
    kx_by_cat, tan_by_cat = _category_defaults(config.kx_choice)
    n_cat = len(cat_codes)
    cat_pos = _category_positions(categories)
    unknown = cat_pos < 0
    if unknown.any():
        bad = sorted({str(c) for c, u in zip(categories, unknown, strict=True) if u})[:5]
        raise ValueError(f"unknown category code(s) {bad}: expected codes from categories.csv")
    cust_pos = np.asarray(customer_pos)
    keep = (~standby) & (cat_pos != cat_codes.index(FIRE_PUMP_CATEGORY)) & (cust_pos >= 0)
    installed = (np.asarray(rated_kw, dtype=float) * np.asarray(quantity, dtype=float))[keep]
    pair = cust_pos[keep].astype(np.int64) * n_cat + cat_pos[keep].astype(np.int64)

    # One group per (customer, category): Pe summed first, then Kx·Pe, as on the sheet.
    pairs, inverse = np.unique(pair, return_inverse=True)
    pe_group = np.bincount(inverse, weights=installed, minlength=len(pairs))
    group_cust = pairs // n_cat
    group_cat = pairs % n_cat
    pjs = kx_by_cat[group_cat] * pe_group
    qjs = pjs * tan_by_cat[group_cat]
    sum_p = np.bincount(group_cust, weights=pjs, minlength=n_customers)
    sum_q = np.bincount(group_cust, weights=qjs, minlength=n_customers)
    n_groups = np.bincount(group_cust, minlength=n_customers)
    several = n_groups >= 2
    p30 = np.where(several, config.k_sum_p, 1.0) * sum_p
    q30 = np.where(several, config.k_sum_q, 1.0) * sum_q

    # Area-density method for customers without groups.
    design_by_industry = _design_densities()
    design = np.fromiter(
        (design_by_industry.get(i, np.nan) for i in industries),
        dtype=float,
        count=n_customers,
    )
    unknown_ind = np.isnan(design)
    if unknown_ind.any():
        bad = sorted(set(industries[unknown_ind]))[:5]
        raise ValueError(f"unknown industry code(s) {bad}: expected codes from industries.csv")
    area = np.asarray(floor_area_m2, dtype=float)
    has_groups = n_groups > 0
    area_ok = ~has_groups & np.isfinite(area) & (area > 0)
    p_area = design * area / 1000.0
    q_area = p_area * float(_tan_phi(config.area_cos_phi))
    p30 = np.where(has_groups, p30, np.where(area_ok, p_area, np.nan))
    q30 = np.where(has_groups, q30, np.where(area_ok, q_area, np.nan))

    out = _finish(p30, q30, config)
    method = np.full(n_customers, None, dtype=object)
    method[area_ok] = "area_density"
    method[has_groups] = "demand_coefficient"
    return {
        "eng_p30_kw": p30,
        "eng_q30_kvar": q30,
        "eng_s30_kva": out["s30"],
        "eng_s30_comp_kva": out["s30_comp"],
        "eng_kva": out["kva"],
        "eng_method": method,
    }
