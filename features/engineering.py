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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from features.catalog import OTHER_INDUSTRY, Category, load_catalog, unknown_code_message
from features.contract import (
    BOOLEAN_FALSE_WORDS,
    BOOLEAN_TRUE_WORDS,
    TWO_PART_TARIFF_MIN_KVA,
    tier_at_or_above,
)
from features.density import density_outside_range
from features.density import installed_w_m2 as installed_density_w_m2
from features.schemas import Application, DesignOptions, EquipmentItem, LoadClass, Phase
from features.trusted import trusted

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
        P30 (or the predicted peak) up to and including this is supplied single-phase at
        220 V.
    lv_max_kw
        P30 (or the predicted peak) up to and including this is supplied at 0.4 kV; above
        it at 10 kV.
    mv_max_kva
        A capacity (transformer, or recommended kVA) above this is suggested 35 kV or
        higher (:func:`supply_voltage`).
    capacity_price_yuan_per_kva_month
        Capacity price (基本电费) of the two-part tariff, yuan per kVA per month.
    tariff_threshold_kva
        Capacity from which the two-part tariff (两部制电价) applies.
    single_phase_balanced_share
        Single-phase loads whose installed total is at most this share of the three-phase
        installed total are treated as balanced three-phase load; above it they are
        converted to an equivalent three-phase load, 3 × the most loaded phase
        (《工业与民用供配电设计手册》 4th ed. §1.6: 15 %).
    contingency_max_load_rate
        Highest load rate of the remaining transformer when the other is out (class I/II).
    max_start_dip
        Largest allowed bus-voltage dip when the largest motor starts: GB 50055-2011
        §2.2.2 asks for at least 85 % of nominal voltage at infrequent starts (90 % at
        frequent ones).
    motor_start_multiple, motor_efficiency_pf
        Direct-on-line starting current as a multiple of rated current, and η·cos φ of the
        motor at rated load: starting kVA = multiple × PN / (η·cos φ).
    uk_small, uk_large, uk_small_max_kva
        Short-circuit impedance of the transformer: ``uk_small`` up to ``uk_small_max_kva``
        (GB/T 6451 / GB/T 10228: 4 % up to 630 kVA), ``uk_large`` above (6 %, dry type).
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
    single_phase_balanced_share: float = Field(default=0.15, ge=0, le=1)
    contingency_max_load_rate: float = Field(default=1.0, gt=0, le=1.5)
    max_start_dip: float = Field(default=0.15, gt=0, lt=1)
    motor_start_multiple: float = Field(default=6.0, gt=1, le=10)
    motor_efficiency_pf: float = Field(default=0.8, gt=0, le=1)
    uk_small: float = Field(default=0.04, gt=0, lt=0.2)
    uk_large: float = Field(default=0.06, gt=0, lt=0.2)
    uk_small_max_kva: float = Field(default=630.0, gt=0)

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


REFERENCE_DUTY: dict[str, float] = {"crane": 0.25, "arc_welder": 1.0, "resistance_welder": 1.0}
"""Reference duty cycle ε_ref to which an intermittent load's rating is converted.

刘介才《工厂供电》 §2.2 (and 《工业与民用供配电设计手册》 4th ed. §1.2): crane motors are
referred to ε = 25 %, welders to ε = 100 %; any other category with a rated duty cycle is
referred to continuous duty (100 %), the same equivalent-heating rule.
"""

MOTOR_CATEGORIES: frozenset[str] = frozenset(
    {
        "machine_tool",
        "hot_working_machine",
        "injection_molding",
        "fan",
        "pump",
        "air_compressor",
        "conveyor",
        "crane",
        "chiller",
        "refrigeration_compressor",
        "textile_machinery",
        "mixer_crusher",
        "printing_press",
        "woodworking_machine",
        "other_motor",
    }
)
"""Categories whose units are driven by one induction motor each (the motor-start check)."""


def reference_duty(category: str) -> float:
    """The reference duty cycle a category's ratings are converted to (see REFERENCE_DUTY)."""
    return REFERENCE_DUTY.get(category, 1.0)


def duty_converted_kw(rated_kw: float, duty_cycle: float | None, category: str) -> float:
    """Installed capacity at the reference duty: ``Pe = PN·√(εN/ε_ref)``.

    Equal heating of the winding: a motor rated PN at duty εN carries
    ``PN·√(εN/ε)`` at duty ε. No duty cycle given means the rating is already at the
    reference duty.
    """
    if duty_cycle is None:
        return rated_kw
    return rated_kw * math.sqrt(duty_cycle / reference_duty(category))


class SheetLine(BaseModel):
    """One equipment line as the calculation used it (for the document)."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(..., description="Position in the application's equipment list")
    name: str | None
    category: str
    rated_kw: float = Field(..., description="PN of one unit, kW")
    quantity: int
    standby: bool
    duty_cycle: float | None = Field(..., description="Rated duty cycle εN, or None")
    reference_duty: float | None = Field(..., description="ε_ref the rating is converted to")
    phase: Phase | None
    installed_kw: float = Field(..., description="Pe = quantity × PN·√(εN/ε_ref), kW")
    group: str = Field(..., description="Category code, 'single_phase' (converted) or 'excluded'")


class SinglePhaseLine(BaseModel):
    """A single-phase load after duty conversion, before the phase allocation."""

    model_config = ConfigDict(frozen=True)

    category: str
    phase: Phase
    installed_kw: float


class EquipmentGroups(BaseModel):
    """Groups built from an equipment list, plus the lines that were left out."""

    model_config = ConfigDict(frozen=True)

    groups: list[GroupInput]
    excluded: list[ExcludedItem]
    single_phase: list[SinglePhaseLine] = Field(default_factory=list)
    lines: list[SheetLine] = Field(default_factory=list)
    largest_motor_kw: float | None = None
    largest_motor_category: str | None = None


def groups_from_equipment(
    items: Sequence[EquipmentItem],
    config: EngineeringConfig | None = None,
    categories: Sequence[str | None] | None = None,
) -> EquipmentGroups:
    """Sum equipment lines into one group per category, leaving out spares.

    Standby items and fire pumps are excluded (they do not run in normal operation) and
    listed with the reason. Intermittent loads with a rated duty cycle are converted to
    their reference duty (:func:`duty_converted_kw`). Single-phase lines are kept apart
    when their installed total exceeds ``config.single_phase_balanced_share`` of the
    three-phase total (the sheet converts them to an equivalent three-phase load);
    otherwise they join their category's group as balanced load. Groups keep the order in
    which their category first appears.

    Parameters
    ----------
    items
        Equipment lines; each must have ``category`` set (resolve free-text names with
        the name matcher first).
    config
        Method defaults (the single-phase share); :data:`DEFAULT_ENGINEERING` when omitted.
    categories
        Each line's category when it is not the line's own ``category`` (names resolved
        by the matcher), one per item; None: the items' own.

    Returns
    -------
    EquipmentGroups
        The groups, the single-phase loads, the excluded lines, every line with its group
        and the largest running motor.

    Raises
    ------
    ValueError
        If an item has no category (nor one in ``categories``).
    """
    config = config or DEFAULT_ENGINEERING
    three: dict[str, float] = {}
    single: list[tuple[int, SinglePhaseLine]] = []
    excluded: list[ExcludedItem] = []
    line_group: list[str] = []
    line_kw: list[float] = []
    largest: tuple[float, str] | None = None
    codes = [item.category for item in items] if categories is None else list(categories)
    if len(codes) != len(items):
        raise ValueError(f"categories: expected one per item ({len(items)}); received {len(codes)}")
    for position, (item, category) in enumerate(zip(items, codes, strict=True)):
        if category is None:
            raise ValueError(
                f"equipment item {position} (name {item.name!r}) has no category: expected a "
                "category code; map free-text names to categories before the calculation"
            )
        installed = duty_converted_kw(item.rated_kw, item.duty_cycle, category) * item.quantity
        line_kw.append(installed)
        if item.standby:
            reason = "standby (installed spare, does not run in normal operation)"
        elif category == FIRE_PUMP_CATEGORY:
            reason = "fire pump (runs only in a fire, when normal load is shed)"
        else:
            if item.phase is None:
                three[category] = three.get(category, 0.0) + installed
                line_group.append(category)
                if category in MOTOR_CATEGORIES and (largest is None or item.rated_kw > largest[0]):
                    largest = (item.rated_kw, category)
            else:
                single.append(
                    (
                        position,
                        SinglePhaseLine(
                            category=category, phase=item.phase, installed_kw=installed
                        ),
                    )
                )
                line_group.append("single_phase")
            continue
        line_group.append("excluded")
        excluded.append(
            ExcludedItem(category=category, name=item.name, installed_kw=installed, reason=reason)
        )
    single_total = sum(s.installed_kw for _, s in single)
    balanced = single_total <= config.single_phase_balanced_share * sum(three.values())
    if single and balanced:
        # Small single-phase share: spread over the phases, counted as balanced load.
        for position, line in single:
            three[line.category] = three.get(line.category, 0.0) + line.installed_kw
            line_group[position] = line.category
        single = []
    # Codes of validated lines and positive kW (rated_kw > 0, quantity >= 1): what
    # GroupInput's validation would check holds, so it is not run 20 times per answer.
    groups = [
        trusted(GroupInput, category=code, installed_kw=float(kw), kx=None, cos_phi=None, name=None)
        for code, kw in three.items()
    ]
    lines = [
        # Every value is of its field's type already (validated lines, floats computed
        # here): no second validation, 30 lines per answer.
        trusted(
            SheetLine,
            index=i,
            name=item.name,
            category=str(codes[i]),
            rated_kw=item.rated_kw,
            quantity=item.quantity,
            standby=item.standby,
            duty_cycle=item.duty_cycle,
            reference_duty=(reference_duty(str(codes[i])) if item.duty_cycle is not None else None),
            phase=item.phase,
            installed_kw=line_kw[i],
            group=line_group[i],
        )
        for i, item in enumerate(items)
    ]
    return EquipmentGroups(
        groups=groups,
        excluded=excluded,
        single_phase=[line for _, line in single],
        lines=lines,
        largest_motor_kw=largest[0] if largest else None,
        largest_motor_category=largest[1] if largest else None,
    )


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
    if industry == OTHER_INDUSTRY:
        return _all_industry_density()
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


def supply_voltage(
    peak_kw: np.ndarray | Sequence[float] | float,
    capacity_kva: np.ndarray | Sequence[float] | float,
    config: EngineeringConfig,
) -> np.ndarray:
    """The supply-voltage suggestion for each (peak or P30, capacity) pair: the one rule.

    Called by the calculation sheet (P30 and its transformer) and by the served answer
    (predicted peak and the recommended capacity), so one customer is never told two
    voltages. Every threshold is inclusive (the largest value still supplied at that
    level), in the order checked:

    * ``peak_kw <= single_phase_max_kw``: ``220V`` (10 kW itself is single-phase: the
      config documents the limit as "up to", like the other two);
    * ``peak_kw <= lv_max_kw``: ``0.4kV``;
    * ``capacity_kva <= mv_max_kva``: ``10kV``; otherwise ``35kV+``.

    The 35 kV step reads the capacity, not the compensated load S30': the utility fixes
    the supply voltage from the capacity applied for (the provincial 供电营业规则 limits
    are receiving-transformer totals, 受电变压器总容量), and the capacity is the one
    number the sheet (its transformer) and the answer (its recommendation) share. A
    load of 7,000 kVA on an 8,750 kVA transformer is therefore 35 kV+, where comparing
    S30' said 10 kV while the served answer said 35 kV+. Both thresholds below it read
    the active load (P30 or the predicted peak), as both callers always did.

    Parameters
    ----------
    peak_kw
        P30 of the sheet, or the predicted peak of the served answer (kW).
    capacity_kva
        The transformer of the sheet, or the recommended capacity (kVA).
    config
        The thresholds (``single_phase_max_kw``, ``lv_max_kw``, ``mv_max_kva``).

    Returns
    -------
    numpy.ndarray
        Object array of :data:`SupplyVoltage` codes, ``None`` where either input is not
        finite.
    """
    p = np.atleast_1d(np.asarray(peak_kw, dtype=float))
    c = np.atleast_1d(np.asarray(capacity_kva, dtype=float))
    p, c = np.broadcast_arrays(p, c)
    # The rule per pair in plain Python, for every size: a single answer asks for one
    # to three values, where five masked assignments cost ~20 µs each call (issue-27
    # profile); a 10,000-row batch pays a few milliseconds.
    single, lv, mv = config.single_phase_max_kw, config.lv_max_kw, config.mv_max_kva
    levels = [
        _voltage_of(pk, ck, single, lv, mv)
        for pk, ck in zip(p.ravel().tolist(), c.ravel().tolist(), strict=True)
    ]
    voltage = np.empty(p.shape, dtype=object)
    voltage.ravel()[:] = levels
    return voltage


def _voltage_of(
    peak_kw: float, capacity_kva: float, single_max_kw: float, lv_max_kw: float, mv_max_kva: float
) -> SupplyVoltage | None:
    """:func:`supply_voltage` of one pair: the lowest level whose threshold holds."""
    if not (math.isfinite(peak_kw) and math.isfinite(capacity_kva)):
        return None
    if peak_kw <= single_max_kw:
        return "220V"
    if peak_kw <= lv_max_kw:
        return "0.4kV"
    if capacity_kva <= mv_max_kva:
        return "10kV"
    return "35kV+"


def _finish(p30: np.ndarray, q30: np.ndarray, config: EngineeringConfig) -> dict[str, np.ndarray]:
    """Compensation, transformer, voltage and tariff from P30/Q30 (vectorised, NaN-safe).

    Shared by the sheet and the frame so their numbers are identical by construction.
    """
    p30 = np.asarray(p30, dtype=float)
    q30 = np.asarray(q30, dtype=float)
    valid = np.isfinite(p30) & np.isfinite(q30)
    s30 = np.hypot(p30, q30)
    # Qc = P30 (tan φ1 − tan φ2); written as Q30 − P30 tan φ2 so that P30 = 0 needs no
    # division, and clipped at 0: a load already at or above the target needs none.
    # tan φ2 as _tan_phi computes it, on a Python float (the same IEEE operations).
    cos_target = float(config.target_cos_phi)
    q_target = p30 * (math.sqrt(1.0 - cos_target * cos_target) / cos_target)
    qc = np.maximum(q30 - q_target, 0.0)
    q30_comp = q30 - qc
    s30_comp = np.hypot(p30, q30_comp)
    root3_u = math.sqrt(3.0) * config.voltage_kv
    i30 = s30 / root3_u
    i30_comp = s30_comp / root3_u
    kva = np.full(p30.shape, np.nan)
    if valid.any():
        kva[valid] = tier_at_or_above(s30_comp[valid] / config.max_load_rate)
    # One error-state block for both ratios (entering one costs about a microsecond,
    # as much as the arithmetic of a single answer's row).
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_natural = np.where(s30 > 0, p30 / s30, np.nan)
        load_rate = s30_comp / kva
    voltage = supply_voltage(p30, kva, config)
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
    kind: Literal["group", "single_phase_equivalent"] = Field(
        "group",
        description="A category group, or the single-phase loads as an equivalent "
        "three-phase load (3 × the most loaded phase; Kx and cos φ are then effective values)",
    )


class PhaseLoad(BaseModel):
    """Calculated load of one phase from the single-phase lines."""

    model_config = ConfigDict(frozen=True)

    phase: Literal["A", "B", "C"]
    p_kw: float
    q_kvar: float


class SinglePhaseSummary(BaseModel):
    """Single-phase loads converted to an equivalent three-phase load."""

    model_config = ConfigDict(frozen=True)

    installed_kw: float = Field(..., description="ΣPe of the single-phase lines")
    phases: list[PhaseLoad]
    max_phase: Literal["A", "B", "C"]
    p_kw: float = Field(..., description="3 × P of the most loaded phase")
    q_kvar: float = Field(..., description="3 × Q of the most loaded phase")


class SupplyPlan(BaseModel):
    """Transformers and sources the load class needs (GB 50052-2009, GB 50053-2013)."""

    model_config = ConfigDict(frozen=True)

    load_class: LoadClass
    sources: int = Field(..., description="Independent sources (I) or circuits (II) required")
    transformer_count: int
    unit_kva: float
    total_kva: float
    design_kva: float = Field(..., description="S30 after compensation × (1 + growth)")
    critical_kva: float = Field(..., description="Class I/II part one transformer must carry")
    normal_load_rate: float = Field(..., description="design_kva / total_kva")
    contingency_load_rate: float | None = Field(
        ..., description="critical_kva / unit_kva with one transformer out (None: one unit)"
    )


class MotorStartCheck(BaseModel):
    """Bus-voltage dip when the largest motor starts direct-on-line."""

    model_config = ConfigDict(frozen=True)

    motor_kw: float
    category: str
    starting_kva: float = Field(..., description="multiple × PN / (η·cos φ)")
    transformer_kva: float = Field(..., description="The unit the motor is fed from")
    uk: float = Field(..., description="Transformer short-circuit impedance (p.u.)")
    short_circuit_kva: float = Field(..., description="S_T / uk (infinite upstream network)")
    other_load_kvar: float = Field(..., description="Reactive load already on the bus")
    voltage_during_start: float = Field(..., description="S_k / (S_k + Q_L + S_st), p.u.")
    dip: float = Field(..., description="1 − voltage during start")
    limit: float
    exceeds: bool


STANDARDS: tuple[str, ...] = (
    "GB 50052-2009 供配电系统设计规范 (load classes, sources)",
    "GB 50053-2013 20kV及以下变电所设计规范 (transformers carry class I/II load with one out)",
    "GB 51348-2019 民用建筑电气设计标准 (transformer load rate about 85 %)",
    "GB 50055-2011 通用用电设备配电设计规范 (bus voltage during motor start)",
    "《工业与民用供配电设计手册》第4版 (demand coefficients Kx, cos φ, K∑, single-phase conversion)",
    "刘介才《工厂供电》 (duty-cycle conversion, worked examples)",
)
"""The standards and manuals the sheet follows (printed on the document)."""


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
    lines: list[SheetLine] = Field(default_factory=list, description="Every equipment line")
    single_phase: SinglePhaseSummary | None = None
    growth_pct: float = 0.0
    qc_bank_kvar: float | None = Field(
        None, description="Compensation rounded up to whole capacitor steps (None: no step)"
    )
    capacitor_step_kvar: float | None = None
    supply: SupplyPlan | None = None
    motor_start: MotorStartCheck | None = None
    standards: list[str] = Field(default_factory=lambda: list(STANDARDS))


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
    *,
    single_phase: Sequence[SinglePhaseLine] = (),
    lines: Sequence[SheetLine] = (),
    design: DesignOptions | None = None,
    largest_motor: tuple[float, str] | None = None,
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
    single_phase
        Single-phase loads to convert to an equivalent three-phase load (3 × the most
        loaded phase, after their demand coefficients); see :func:`groups_from_equipment`.
    lines
        Every equipment line with its group, carried into the sheet for display.
    design
        The planner's choices: per-category Kx / cos φ overrides (for groups that carry
        none of their own), K∑ (when ``k_sum_p`` / ``k_sum_q`` are not given), load class,
        growth allowance, motor-start limit and capacitor step.
    largest_motor
        (rated kW, category) of the largest running motor, for the starting check.

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

    design = design or DesignOptions()
    if k_sum_p is None:
        k_sum_p = design.k_sum_p
    if k_sum_q is None:
        k_sum_q = design.k_sum_q
    coefficients = _coefficient_lookup(design, config)

    single_summary = _single_phase_summary(single_phase, coefficients)
    if groups or single_summary is not None:
        method: Method = "demand_coefficient"
        rows = _group_rows(groups, coefficients, design)
        if single_summary is not None:
            rows.append(_single_phase_row(single_summary))
            notes.append(
                f"Single-phase loads ({single_summary.installed_kw:g} kW installed) converted to "
                f"an equivalent three-phase load: 3 × phase {single_summary.max_phase} = "
                f"{single_summary.p_kw:.1f} kW, {single_summary.q_kvar:.1f} kvar."
            )
        loads = _demand_loads(rows, k_sum_p, k_sum_q, config, notes)
    elif density is not None and floor_area_m2 is not None:
        method = "area_density"
        loads = _area_loads(density, floor_area_m2, config, notes)
    else:
        raise ValueError(
            "nothing to calculate: expected at least one equipment group, or both industry and "
            f"floor_area_m2 for the area-density method; received 0 groups, industry={industry!r}, "
            f"floor_area_m2={floor_area_m2!r}"
        )
    installed_kw, sum_p, sum_q, ksp, ksq, p30, q30 = loads
    notes.extend(_line_notes(excluded, lines))

    out = _finish(np.array([p30]), np.array([q30]), config)
    cos_natural = float(out["cos_natural"][0])
    qc = float(out["qc"][0])
    qc_bank = _compensation(qc, cos_natural, design, config, notes)
    s30_comp = float(out["s30_comp"][0])
    supply = supply_plan(s30_comp, design, config)
    kva = supply.total_kva
    notes.extend(_supply_notes(supply, design))
    motor = (
        motor_start_check(
            largest_motor[0],
            largest_motor[1],
            supply.unit_kva,
            float(out["q30_comp"][0]),
            design.max_start_dip if design.max_start_dip is not None else config.max_start_dip,
            config,
        )
        if largest_motor is not None and method == "demand_coefficient"
        else None
    )
    if motor is not None and motor.exceeds:
        notes.append(
            f"Starting the largest motor ({motor.motor_kw:g} kW) direct-on-line dips the bus "
            f"voltage by {motor.dip:.1%}, above the {motor.limit:.0%} limit: use a soft "
            "starter, star-delta or variable-frequency start, or a larger transformer."
        )
    two_part = kva >= config.tariff_threshold_kva
    installed_w_m2, outside = _density_check(installed_kw, density, industry, floor_area_m2, notes)

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
        load_rate=s30_comp / kva,
        # The rule on the sheet's own transformer total (growth and load class included).
        supply_voltage=supply_voltage(p30, kva, config)[0],
        two_part_tariff=two_part,
        capacity_charge_yuan_month=(
            kva * config.capacity_price_yuan_per_kva_month if two_part else 0.0
        ),
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
        lines=list(lines),
        single_phase=single_summary,
        growth_pct=design.growth_pct,
        qc_bank_kvar=qc_bank,
        capacitor_step_kvar=design.capacitor_step_kvar,
        supply=supply,
        motor_start=motor,
    )


_LINE_TO_LINE: dict[str, tuple[Literal["A", "B", "C"], Literal["A", "B", "C"]]] = {
    "AB": ("A", "B"),
    "BC": ("B", "C"),
    "CA": ("C", "A"),
}


_Loads = tuple[float | None, float, float, float, float, float, float]
"""(installed kW or None, ΣP, ΣQ, K∑p, K∑q, P30, Q30) of a sheet."""


def _coefficient_lookup(
    design: DesignOptions, config: EngineeringConfig
) -> Callable[[str, float | None, float | None], tuple[float, float]]:
    """(Kx, cos φ) of a category: the line's own, else the design override, else the catalog."""
    catalog = load_catalog()
    override = {o.category: o for o in design.overrides}

    def coefficients(code: str, kx: float | None, cos_phi: float | None) -> tuple[float, float]:
        category = catalog.categories[code]
        o = override.get(code)
        if kx is None and o is not None:
            kx = o.kx
        if cos_phi is None and o is not None:
            cos_phi = o.cos_phi
        return (
            kx if kx is not None else _kx_default(category, config.kx_choice),
            cos_phi if cos_phi is not None else category.cos_phi,
        )

    return coefficients


def _group_rows(
    groups: Sequence[GroupInput],
    coefficients: Callable[[str, float | None, float | None], tuple[float, float]],
    design: DesignOptions,
) -> list[SheetRow]:
    """One sheet row per three-phase group: Kx, cos φ (and whether overridden), P, Q."""
    override = {o.category: o for o in design.overrides}
    rows: list[SheetRow] = []
    for group in groups:
        kx, cos_phi = coefficients(group.category, group.kx, group.cos_phi)
        o = override.get(group.category)
        tan_phi = math.sqrt(1.0 - cos_phi * cos_phi) / cos_phi  # as _tan_phi, one value
        p_kw = kx * group.installed_kw
        rows.append(
            # Every value is a float or bool from validated inputs: no second validation.
            trusted(
                SheetRow,
                category=group.category,
                name=group.name,
                installed_kw=group.installed_kw,
                kx=kx,
                kx_overridden=group.kx is not None or (o is not None and o.kx is not None),
                cos_phi=cos_phi,
                cos_phi_overridden=group.cos_phi is not None
                or (o is not None and o.cos_phi is not None),
                tan_phi=tan_phi,
                p_kw=p_kw,
                q_kvar=p_kw * tan_phi,
                kind="group",
            )
        )
    return rows


def _demand_loads(
    rows: Sequence[SheetRow],
    k_sum_p: float | None,
    k_sum_q: float | None,
    config: EngineeringConfig,
    notes: list[str],
) -> _Loads:
    """Sums over the rows and P30/Q30 after the simultaneity factors (K∑ 1.0 for one row)."""
    installed_kw = sum(row.installed_kw for row in rows)
    sum_p = sum(row.p_kw for row in rows)
    sum_q = sum(row.q_kvar for row in rows)
    several = len(rows) >= 2
    ksp = k_sum_p if k_sum_p is not None else (config.k_sum_p if several else 1.0)
    ksq = k_sum_q if k_sum_q is not None else (config.k_sum_q if several else 1.0)
    if not several and k_sum_p is None and k_sum_q is None:
        notes.append("Single group: simultaneity factors K∑p = K∑q = 1.0.")
    return installed_kw, sum_p, sum_q, ksp, ksq, ksp * sum_p, ksq * sum_q


def _area_loads(
    density: IndustryDensity, floor_area_m2: float, config: EngineeringConfig, notes: list[str]
) -> _Loads:
    """P30/Q30 of the unit-area load-density method (no simultaneity factor)."""
    p30 = density.design_w_m2 * floor_area_m2 / 1000.0
    q30 = p30 * float(_tan_phi(config.area_cos_phi))
    notes.append(
        f"No equipment groups: unit-area load-density method, P30 = {density.design_w_m2:g} "
        f"W/m² × {floor_area_m2:g} m² / 1000, natural cos φ {config.area_cos_phi:g} before "
        "compensation; no simultaneity factor (the design density already includes it)."
    )
    return None, p30, q30, 1.0, 1.0, p30, q30


def _line_notes(excluded: Sequence[ExcludedItem], lines: Sequence[SheetLine]) -> list[str]:
    """Notes for the excluded lines and the duty-cycle conversions."""
    notes = [
        f"Excluded {item.category} {item.installed_kw:g} kW: {item.reason}." for item in excluded
    ]
    for line in lines:
        if line.duty_cycle is not None and line.reference_duty is not None:
            notes.append(
                f"Line {line.index + 1} ({line.category}): rated at ε = {line.duty_cycle:.0%}, "
                f"converted to ε = {line.reference_duty:.0%}: Pe = {line.quantity} × "
                f"{line.rated_kw:g} × √({line.duty_cycle:g}/{line.reference_duty:g}) = "
                f"{line.installed_kw:.2f} kW."
            )
    return notes


def _compensation(
    qc: float,
    cos_natural: float,
    design: DesignOptions,
    config: EngineeringConfig,
    notes: list[str],
) -> float | None:
    """Notes on the reactive compensation; the capacitor bank rounded up to whole steps."""
    if qc > 0:
        notes.append(
            f"Reactive compensation Qc = {qc:.1f} kvar raises cos φ from {cos_natural:.3f} "
            f"to {config.target_cos_phi:g}."
        )
    if design.capacitor_step_kvar is None:
        return None
    step = design.capacitor_step_kvar
    qc_bank = math.ceil(qc / step - 1e-9) * step if qc > 0 else 0.0
    notes.append(f"Capacitor bank: {qc_bank / step:.0f} steps × {step:g} kvar = {qc_bank:g} kvar.")
    return qc_bank


def _supply_notes(supply: SupplyPlan, design: DesignOptions) -> list[str]:
    """Notes on the growth allowance and on a two-transformer supply."""
    notes = []
    if design.growth_pct > 0:
        notes.append(
            f"Growth allowance {design.growth_pct:g} %: the transformer is chosen for "
            f"{supply.design_kva:.1f} kVA."
        )
    if supply.transformer_count > 1:
        notes.append(
            f"Load class {supply.load_class}: {supply.transformer_count} × {supply.unit_kva:g} kVA "
            f"from {supply.sources} {'sources' if supply.load_class == 'I' else 'circuits'}; "
            f"with one transformer out the other carries {supply.critical_kva:.1f} kVA "
            f"({supply.contingency_load_rate or 0:.0%})."
        )
    return notes


def _density_check(
    installed_kw: float | None,
    density: IndustryDensity | None,
    industry: str | None,
    floor_area_m2: float | None,
    notes: list[str],
) -> tuple[float | None, bool | None]:
    """Installed W/m² and whether it is outside the industry's range (None: not judged)."""
    if installed_kw is None or density is None or floor_area_m2 is None:
        return None, None
    installed_w_m2 = float(installed_density_w_m2(installed_kw, floor_area_m2))
    outside = bool(
        density_outside_range(
            installed_kw, floor_area_m2, density.installed_w_m2_low, density.installed_w_m2_high
        )
    )
    if outside:
        notes.append(
            f"Installed density {installed_w_m2:.0f} W/m² is far outside the {industry} "
            f"range {density.installed_w_m2_low:g}–{density.installed_w_m2_high:g} W/m²: "
            "check the equipment list and floor area (manual review)."
        )
    return installed_w_m2, outside


def line_to_line_coefficients(cos_phi: float) -> tuple[float, float, float, float]:
    """Share of a line-to-line load's active power that each phase carries.

    For a load P on phases XY with power factor cos φ the current lags U_XY by φ, so
    phase X sees it at φ − 30° and phase Y at φ + 30°:
    ``p_X = cos(φ − 30°) / (√3 cos φ)``, ``q_X = sin(φ − 30°) / (√3 cos φ)``,
    ``p_Y = cos(φ + 30°) / (√3 cos φ)``, ``q_Y = sin(φ + 30°) / (√3 cos φ)`` (P_X = p_X·P,
    Q_X = q_X·P). These are the 相间负荷换算为相负荷的系数 tabulated in
    《工业与民用供配电设计手册》 and 刘介才《工厂供电》 (cos φ 0.7: 0.8, 0.2, 0.22, 0.8).

    Returns
    -------
    tuple of float
        ``(p_X, q_X, p_Y, q_Y)``.
    """
    phi = math.acos(cos_phi)
    root3_cos = math.sqrt(3.0) * cos_phi
    deg30 = math.pi / 6
    return (
        math.cos(phi - deg30) / root3_cos,
        math.sin(phi - deg30) / root3_cos,
        math.cos(phi + deg30) / root3_cos,
        math.sin(phi + deg30) / root3_cos,
    )


def _single_phase_summary(
    lines: Sequence[SinglePhaseLine],
    coefficients: Callable[[str, float | None, float | None], tuple[float, float]],
) -> SinglePhaseSummary | None:
    """Per-phase calculated loads and the equivalent three-phase load (3 × the largest)."""
    if not lines:
        return None
    p = {"A": 0.0, "B": 0.0, "C": 0.0}
    q = {"A": 0.0, "B": 0.0, "C": 0.0}
    for line in lines:
        kx, cos_phi = coefficients(line.category, None, None)
        pjs = kx * line.installed_kw
        if line.phase in p:
            p[line.phase] += pjs
            q[line.phase] += pjs * math.sqrt(1.0 - cos_phi * cos_phi) / cos_phi
        else:
            x, y = _LINE_TO_LINE[line.phase]
            px, qx, py, qy = line_to_line_coefficients(cos_phi)
            p[x] += px * pjs
            q[x] += qx * pjs
            p[y] += py * pjs
            q[y] += qy * pjs
    top = max(("A", "B", "C"), key=lambda ph: p[ph])
    phases = [PhaseLoad(phase=ph, p_kw=p[ph], q_kvar=q[ph]) for ph in ("A", "B", "C")]
    return SinglePhaseSummary(
        installed_kw=sum(line.installed_kw for line in lines),
        phases=phases,
        max_phase=top,
        p_kw=3.0 * p[top],
        q_kvar=3.0 * q[top],
    )


def _single_phase_row(summary: SinglePhaseSummary) -> SheetRow:
    """The sheet line of the equivalent three-phase load (effective Kx, cos φ)."""
    s = math.hypot(summary.p_kw, summary.q_kvar)
    cos_phi = summary.p_kw / s if s > 0 else 1.0
    return trusted(
        SheetRow,
        category="single_phase",
        name=f"3 × {summary.max_phase}",
        installed_kw=summary.installed_kw,
        kx=summary.p_kw / summary.installed_kw if summary.installed_kw > 0 else 0.0,
        kx_overridden=False,
        cos_phi=cos_phi,
        cos_phi_overridden=False,
        tan_phi=summary.q_kvar / summary.p_kw if summary.p_kw > 0 else 0.0,
        p_kw=summary.p_kw,
        q_kvar=summary.q_kvar,
        kind="single_phase_equivalent",
    )


def supply_plan(
    s30_comp_kva: float, design: DesignOptions, config: EngineeringConfig
) -> SupplyPlan:
    """Transformers for the load class, sized for the growth allowance.

    Class III: one transformer, the smallest standard capacity with load rate at most
    ``max_load_rate``. Class I and II: two transformers (GB 50052-2009 §3.0.2: class I
    from two independent sources; §3.0.7: class II preferably from two circuits), each the
    smallest standard capacity such that both together run at most at ``max_load_rate``
    and one alone carries the class I/II part (``critical_share`` of the load, default
    all of it) at most at ``contingency_max_load_rate`` when the other is out
    (GB 50053-2013 §3.3.2).
    """
    design_kva = s30_comp_kva * (1.0 + design.growth_pct / 100.0)
    if design.load_class == "III":
        unit = float(tier_at_or_above(design_kva / config.max_load_rate)[0])
        return SupplyPlan(
            load_class="III",
            sources=1,
            transformer_count=1,
            unit_kva=unit,
            total_kva=unit,
            design_kva=design_kva,
            critical_kva=0.0,
            normal_load_rate=design_kva / unit,
            contingency_load_rate=None,
        )
    share = design.critical_share if design.critical_share is not None else 1.0
    critical = share * design_kva
    need = max(
        design_kva / (2.0 * config.max_load_rate), critical / config.contingency_max_load_rate
    )
    unit = float(tier_at_or_above(need)[0])
    return SupplyPlan(
        load_class=design.load_class,
        sources=2,
        transformer_count=2,
        unit_kva=unit,
        total_kva=2.0 * unit,
        design_kva=design_kva,
        critical_kva=critical,
        normal_load_rate=design_kva / (2.0 * unit),
        contingency_load_rate=critical / unit,
    )


def transformer_uk(unit_kva: float, config: EngineeringConfig) -> float:
    """Short-circuit impedance of a distribution transformer of this size (p.u.)."""
    return config.uk_small if unit_kva <= config.uk_small_max_kva else config.uk_large


def motor_start_check(
    motor_kw: float,
    category: str,
    unit_kva: float,
    other_load_kvar: float,
    limit: float,
    config: EngineeringConfig,
) -> MotorStartCheck:
    """Bus voltage while the largest motor starts direct-on-line from the transformer.

    《工业与民用供配电设计手册》 4th ed. §6.5 (simplified, infinite upstream network):
    ``u = S_k / (S_k + Q_L + S_st)`` with the bus short-circuit capacity
    ``S_k = S_T / uk``, the reactive load already on the bus ``Q_L`` and the starting
    apparent power ``S_st = k_st · PN / (η·cos φ)``. The dip ``1 − u`` is flagged above
    ``limit`` (GB 50055-2011 §2.2.2: at least 85 % of nominal voltage at infrequent
    starts).
    """
    uk = transformer_uk(unit_kva, config)
    s_k = unit_kva / uk
    s_st = config.motor_start_multiple * motor_kw / config.motor_efficiency_pf
    u = s_k / (s_k + other_load_kvar + s_st)
    return MotorStartCheck(
        motor_kw=motor_kw,
        category=category,
        starting_kva=s_st,
        transformer_kva=unit_kva,
        uk=uk,
        short_circuit_kva=s_k,
        other_load_kvar=other_load_kvar,
        voltage_during_start=u,
        dip=1.0 - u,
        limit=limit,
        exceeds=1.0 - u > limit,
    )


def sheet_for_items(
    items: Sequence[EquipmentItem],
    config: EngineeringConfig | None = None,
    industry: str | None = None,
    floor_area_m2: float | None = None,
    design: DesignOptions | None = None,
    categories: Sequence[str | None] | None = None,
) -> CalculationSheet:
    """Calculation sheet of equipment lines that all have a category (see below).

    ``categories``: each line's resolved category when it is not its own (see
    :func:`groups_from_equipment`).
    """
    config = config or DEFAULT_ENGINEERING
    built = groups_from_equipment(items, config, categories)
    return calculation_sheet(
        built.groups,
        config,
        industry=industry,
        floor_area_m2=floor_area_m2,
        excluded=built.excluded,
        single_phase=built.single_phase,
        lines=built.lines,
        design=design,
        largest_motor=(
            (built.largest_motor_kw, built.largest_motor_category)
            if built.largest_motor_kw is not None and built.largest_motor_category is not None
            else None
        ),
    )


def sheet_for_application(
    application: Application, config: EngineeringConfig | None = None
) -> CalculationSheet:
    """Calculation sheet of an application whose equipment lines all have a category.

    Falls back to the area-density method when every line is excluded or the list is
    empty (and a floor area is given).
    """
    return sheet_for_items(
        application.equipment,
        config,
        industry=application.industry,
        floor_area_m2=application.floor_area_m2,
        design=application.design,
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
def _all_industry_density() -> IndustryDensity:
    """The 其他 (not listed) industry's density: all listed industries' together.

    The median of their design W/m² (a catalog figure, nothing fitted) and the widest
    plausible range (an unknown trade is never called implausible by a listed one's range).
    """
    listed = [industry_density(code) for code in load_catalog().industries]
    return IndustryDensity(
        design_w_m2=float(np.median([d.design_w_m2 for d in listed])),
        installed_w_m2_low=min(d.installed_w_m2_low for d in listed),
        installed_w_m2_high=max(d.installed_w_m2_high for d in listed),
    )


@lru_cache(maxsize=1)
def _design_densities() -> dict[str, float]:
    """Design W/m² per industry code, 其他 included (read from the catalog once).

    Cached like the catalog itself (:func:`load_catalog`): rebuilt per call it was 26
    density lookups of every single answer (issue-27 profile). Callers only read it.
    """
    codes = (*load_catalog().industries, OTHER_INDUSTRY)
    return {code: industry_density(code).design_w_m2 for code in codes}


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
