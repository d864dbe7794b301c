"""API objects, declared once and imported by the service, the web page and the loaders.

An :class:`Application` is one new-connection request (业扩报装): industry, optional scale
fields and an equipment list. Each :class:`EquipmentItem` names a category code, a
free-text name, or both.

Types are strict (a JSON ``true`` or ``"1e5"`` is not a number, ``"on"`` is not a
boolean), texts refuse NUL bytes and lone surrogates, every number has a plausible range
and the application as a whole has plausibility limits on its totals (installed kW, kW
per m² of floor area), all declared once in :mod:`features.contract`. A total beyond its
limit is an error of type ``implausible_total`` naming the field, the value and the limit.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from features.catalog import load_catalog, unknown_code_message
from features.contract import (
    CLIMATE_ZONES,
    CUSTOMER_COLUMNS,
    EQUIPMENT_COLUMNS,
    EXISTING_TYPES,
    FLOOR_AREA_M2_MAX,
    FLOOR_AREA_M2_MIN,
    INSTALLED_KW_MAX,
    INSTALLED_KW_PER_M2_MAX,
    MAX_DEMAND_OVER_CAPACITY_MAX,
    METER_COLUMNS,
    METER_MONTHS_MAX,
    METER_MONTHS_MIN,
    QUANTITY_MAX,
    RATED_KW_MAX,
    RATED_KW_MIN,
    REMOVED_KW_PER_KVA_MAX,
    ApplicationType,
    Change,
    ClimateZone,
    column_spec,
)
from features.matching import industry_matcher
from features.metering import hours_in_month, parse_periods

# The bounds of the API's fields are the contract's column specs (the CSV path checks the
# same ones, features.validation), so a value is accepted on every path or on none.
_RATED = column_spec(EQUIPMENT_COLUMNS, "rated_kw")
_QUANTITY = column_spec(EQUIPMENT_COLUMNS, "quantity")
_AREA = column_spec(CUSTOMER_COLUMNS, "floor_area_m2")
_EMPLOYEES = column_spec(CUSTOMER_COLUMNS, "employees")
_SHIFTS = column_spec(CUSTOMER_COLUMNS, "shifts")
_EXISTING_KVA = column_spec(CUSTOMER_COLUMNS, "existing_capacity_kva")
_ENERGY = column_spec(METER_COLUMNS, "energy_kwh")
_DEMAND = column_spec(METER_COLUMNS, "max_demand_kw")


def _whole(bound: float | None) -> int | None:
    # An integer field's bounds as integers (the JSON Schema and the messages say 1, not 1.0).
    return None if bound is None else int(bound)


MAX_EQUIPMENT_LINES = 500
"""At most this many equipment lines per application."""


_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
"""A NUL byte or a lone surrogate: one regex scan (a Python loop over the characters cost
a second per 10,000-application batch, issue 27)."""


def _plain_text(value: str) -> str:
    """Refuse NUL bytes and lone surrogates (they break logs, CSV answers and JSON errors)."""
    if _BAD_TEXT.search(value) is None:
        return value
    if "\x00" in value:
        raise PydanticCustomError("text_nul", "the text contains a NUL byte (\\u0000)")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise PydanticCustomError(
            "text_surrogate", "the text contains a lone UTF-16 surrogate (not valid Unicode)"
        )
    return value


Text = Annotated[str, Strict(), AfterValidator(_plain_text)]
"""A strict text value (no number or boolean turned into text), no NUL, no lone surrogate."""

UnmatchedPolicy = Literal["other_motor", "other_heating"]
"""How to count equipment lines whose name matches no category (the request says so)."""

MIN_UNDERSIZED_RISK = 0.01
"""Smallest cap on P(undersized) accepted: below it the answer would rest on the fitted
tail beyond the last calibration residuals (and 0 would need an endless capacity)."""
MAX_UNDERSIZED_RISK = 0.5
"""Largest cap accepted (above it the cap cannot bind on any sensible answer)."""

UNDERSIZED_RISK_HELP = (
    f"Cap on the answer's P(undersized), a share from {MIN_UNDERSIZED_RISK:g} to "
    f"{MAX_UNDERSIZED_RISK:g} (0.05 = 5 %, 0.10 = 10 %): the answer is raised to the smallest "
    "standard capacity whose probability of being undersized is at most this, at the cost of "
    "oversizing more often. Empty = the utility's setting, else the policy that maximises "
    "P(appropriate)."
)
UndersizedRiskCap = Annotated[
    float,
    Field(ge=MIN_UNDERSIZED_RISK, le=MAX_UNDERSIZED_RISK, allow_inf_nan=False, strict=True),
]
"""The risk appetite (one declaration for the API, the service settings and the policy)."""

Phase = Literal["A", "B", "C", "AB", "BC", "CA"]
"""Connection of a single-phase load: phase-to-neutral (A, B, C; 220 V) or line-to-line
(AB, BC, CA; 380 V). An item without a phase is a three-phase load."""

LoadClass = Literal["I", "II", "III"]
"""Load class (负荷等级) of GB 50052-2009 §3.0.1."""


class EquipmentItem(BaseModel):
    """One equipment line: identical units of one category."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: Text | None = Field(
        None,
        description="Category code from categories.csv; may be omitted when `name` is given.",
        examples=["machine_tool"],
    )
    name: Text | None = Field(
        None,
        max_length=200,
        description="Free-text name as the customer wrote it, e.g. '数控车床 CK6140 7.5kW'.",
        examples=["数控车床 CK6140"],
    )
    rated_kw: float = Field(
        ...,
        ge=_RATED.limit_min,
        le=_RATED.limit_max,
        allow_inf_nan=False,
        strict=True,
        description=f"Rating of ONE unit in kW ({RATED_KW_MIN:g} to {RATED_KW_MAX:g}).",
        examples=[7.5],
    )
    quantity: int = Field(
        1,
        ge=_whole(_QUANTITY.minimum),
        le=_whole(_QUANTITY.limit_max),
        strict=True,
        description=f"Number of identical units (1 to {QUANTITY_MAX}).",
    )
    standby: bool = Field(
        False, strict=True, description="Installed spare that does not run normally."
    )
    duty_cycle: float | None = Field(
        None,
        ge=0.01,
        le=1,
        allow_inf_nan=False,
        strict=True,
        description=(
            "Rated duty cycle εN (暂载率) of an intermittent load, 0–1 (e.g. 0.4 for 40 %). "
            "The calculation converts its rating to the category's reference duty: "
            "Pe = PN·√(εN/ε_ref), cranes to ε = 25 %, welders and other loads to 100 %."
        ),
        examples=[0.4],
    )
    phase: Phase | None = Field(
        None,
        description=(
            "Single-phase connection: A/B/C (220 V, phase-to-neutral) or AB/BC/CA (380 V, "
            "line-to-line); empty = three-phase."
        ),
    )
    change: Change = Field(
        "add",
        description=(
            "Existing customers only: 'add' (the line is added by this application) or "
            "'remove' (a line in service today, taken out by this application)."
        ),
    )

    @field_validator("phase", mode="before")
    @classmethod
    def _empty_phase(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        catalog = load_catalog()
        # The dict's keys are the codes: no tuple of every code built per line (30 a body).
        if value not in catalog.categories:
            codes = catalog.category_codes
            raise PydanticCustomError(
                "unknown_category",
                unknown_code_message("category", value, codes),
                {"value": value},
            )
        return value

    @model_validator(mode="after")
    def _category_or_name(self) -> EquipmentItem:
        if self.category is None and not self.name:
            raise PydanticCustomError(
                "category_or_name",
                "an equipment item needs a 'category' code or a free-text 'name'; received neither",
            )
        return self


def _known_category_code(value: str) -> str:
    codes = load_catalog().category_codes
    if value not in codes:
        raise ValueError(unknown_code_message("category", value, codes))
    return value


class GroupOverride(BaseModel):
    """A planner's demand coefficient and/or power factor for one category's group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Annotated[Text, AfterValidator(_known_category_code)] = Field(
        ..., description="Category code whose group the override applies to."
    )
    kx: float | None = Field(
        None, ge=0, le=1, allow_inf_nan=False, strict=True, description="Demand coefficient Kx."
    )
    cos_phi: float | None = Field(
        None, ge=0.05, le=1, allow_inf_nan=False, strict=True, description="Power factor cos φ."
    )


class DesignOptions(BaseModel):
    """The planner's choices for the demand-coefficient sheet (all optional).

    Only the classical calculation sheet uses them; the model's answer does not. Bounds
    are inclusive (``ge``/``le``): an exclusive bound becomes a numeric
    ``exclusiveMinimum``, which the served OpenAPI 3.0 document cannot carry (its
    property-based tests could not generate requests from it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    overrides: Annotated[list[GroupOverride], Field(max_length=100)] = Field(
        default_factory=list, description="Per-category Kx / cos φ overrides (one per category)."
    )
    k_sum_p: float | None = Field(
        None, ge=0.05, le=1, allow_inf_nan=False, strict=True, description="K∑p override."
    )
    k_sum_q: float | None = Field(
        None, ge=0.05, le=1, allow_inf_nan=False, strict=True, description="K∑q override."
    )
    load_class: LoadClass = Field(
        "III",
        description="Load class (负荷等级): I and II get two transformers and two sources/circuits.",
    )
    critical_share: float | None = Field(
        None,
        ge=0.01,
        le=1,
        allow_inf_nan=False,
        strict=True,
        description=(
            "Share of the calculated load that is class I/II (one transformer must carry it "
            "when the other is out); default 1.0 for class I/II."
        ),
    )
    growth_pct: float = Field(
        0.0,
        ge=0,
        le=200,
        allow_inf_nan=False,
        strict=True,
        description="Growth allowance on the compensated load before choosing the transformer, %.",
    )
    max_start_dip: float | None = Field(
        None,
        ge=0.01,
        le=0.5,
        allow_inf_nan=False,
        strict=True,
        description="Largest allowed bus-voltage dip when the largest motor starts (default 0.15).",
    )
    capacitor_step_kvar: float | None = Field(
        None,
        ge=0.5,
        le=1000,
        allow_inf_nan=False,
        strict=True,
        description="Capacitor bank step, kvar: the compensation is rounded up to whole steps.",
    )

    @field_validator("overrides")
    @classmethod
    def _one_per_category(cls, value: list[GroupOverride]) -> list[GroupOverride]:
        seen: set[str] = set()
        for item in value:
            if item.category in seen:
                raise ValueError(
                    f"overrides name category '{item.category}' twice; expected at most one "
                    "override per category"
                )
            seen.add(item.category)
        return value


class MeterReading(BaseModel):
    """One month of an existing customer's bill: energy, and maximum demand if metered."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    period: Text = Field(..., description="Billing month, YYYY-MM.", examples=["2026-07"])
    energy_kwh: float = Field(
        ...,
        ge=_ENERGY.minimum,
        le=_ENERGY.limit_max,
        allow_inf_nan=False,
        strict=True,
        description="Active energy of the month, kWh (the bill's 有功电量).",
        examples=[86000.0],
    )
    max_demand_kw: float | None = Field(
        None,
        ge=_DEMAND.limit_min,
        le=_DEMAND.limit_max,
        allow_inf_nan=False,
        strict=True,
        description="The month's highest 15-minute demand, kW (最大需量), where a demand meter "
        "records it; empty otherwise.",
    )

    @field_validator("period")
    @classmethod
    def _month(cls, value: str) -> str:
        _, month = parse_periods([value])
        if month[0] < 0:
            raise PydanticCustomError(
                "meter_period",
                "period must be a billing month written YYYY-MM, e.g. 2026-07; received {value}",
                {"value": value[:20]},
            )
        return value


def _meter_error(code: str, message: str, **params: object) -> PydanticCustomError:
    return PydanticCustomError(code, message, dict(params))


class Application(BaseModel):
    """One application: a new connection (业扩报装) or an existing customer's change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    industry: Text = Field(
        ...,
        description="Industry code from industries.csv, or a name people use for it "
        "(机加工, 写字楼, 宾馆, IDC, cold store…); the answer's `industry_match` says how it was "
        "read.",
        examples=["machinery"],
    )
    climate_zone: ClimateZone | None = Field(
        None, description="GB 50176 climate zone; empty = unknown."
    )
    floor_area_m2: float | None = Field(
        None,
        ge=_AREA.limit_min,
        le=_AREA.limit_max,
        allow_inf_nan=False,
        strict=True,
        description=f"Gross floor area, m² ({FLOOR_AREA_M2_MIN:g} to {FLOOR_AREA_M2_MAX:g}).",
    )
    employees: int | None = Field(
        None,
        ge=_whole(_EMPLOYEES.minimum),
        le=_whole(_EMPLOYEES.limit_max),
        strict=True,
        description="Staff headcount.",
    )
    shifts: int | None = Field(
        None,
        ge=_whole(_SHIFTS.minimum),
        le=_whole(_SHIFTS.maximum),
        strict=True,
        description="Shifts per day (3 = round the clock).",
    )
    equipment: Annotated[list[EquipmentItem], Field(max_length=MAX_EQUIPMENT_LINES)] = Field(
        default_factory=list,
        description=(
            f"Equipment list, at most {MAX_EQUIPMENT_LINES} lines; empty = area-only. In total "
            f"at most {INSTALLED_KW_MAX:g} kW installed (standby included) and at most "
            f"{INSTALLED_KW_PER_M2_MAX:g} kW per m² of floor area."
        ),
    )
    unmatched: UnmatchedPolicy | None = Field(
        None,
        description="How to count equipment lines whose name matches no category: "
        "'other_motor' or 'other_heating'. Without it such a line is an error (HTTP 400 "
        "naming the line): left out, it would make the answer too small.",
    )
    application_type: ApplicationType = Field(
        "new",
        description="new (业扩报装), increase (增容), reduce (减容) or suspend (暂停). Every type "
        "but new needs existing_capacity_kva and meter_readings; its equipment lists only "
        "the change.",
    )
    existing_capacity_kva: float | None = Field(
        None,
        ge=_EXISTING_KVA.limit_min,
        le=_EXISTING_KVA.limit_max,
        allow_inf_nan=False,
        strict=True,
        description="The capacity in service before the application, kVA (existing customers).",
    )
    meter_readings: Annotated[list[MeterReading], Field(max_length=METER_MONTHS_MAX)] = Field(
        default_factory=list,
        description=f"The {METER_MONTHS_MAX} (at least {METER_MONTHS_MIN}) months before the "
        "application, one reading per month (existing customers only).",
    )
    max_undersized_risk: UndersizedRiskCap | None = Field(
        None, examples=[0.1], description=UNDERSIZED_RISK_HELP
    )
    _industry_text: str | None = PrivateAttr(None)

    design: DesignOptions | None = Field(
        None,
        description=(
            "Planner's choices for the demand-coefficient sheet (Kx / cos φ / K∑ overrides, "
            "load class, growth allowance, motor-start limit); the model ignores them."
        ),
    )

    @field_validator("industry")
    @classmethod
    def _known_industry(cls, value: str) -> str:
        codes = load_catalog().industry_codes
        if value in codes:
            return value
        found = industry_matcher().match(value)
        if found.category is not None:
            return found.category
        guesses = [code for code, _ in industry_matcher().candidates(value, 3)]
        raise PydanticCustomError(
            "unknown_industry",
            unknown_code_message("industry", value, codes)
            + " (or a recognised industry name such as 机加工, 写字楼, hotel)",
            {"value": value, "suggestions": guesses},
        )

    @model_validator(mode="wrap")
    @classmethod
    def _remember_industry_text(
        cls, data: object, handler: ModelWrapValidatorHandler[Application]
    ) -> Application:
        app = handler(data)
        raw = data.get("industry") if isinstance(data, dict) else None
        if isinstance(raw, str) and raw.strip() != app.industry:
            app._industry_text = raw.strip()
        return app

    @model_validator(mode="after")
    def _existing_customer(self) -> Application:
        """An existing customer's capacity, readings and change hold together.

        The same rules as a history's (:mod:`features.validation`), from the same
        constants (:mod:`features.contract`).
        """
        existing = self.application_type in EXISTING_TYPES
        kinds = ", ".join(EXISTING_TYPES)
        if not existing:
            if self.existing_capacity_kva is not None:
                raise _meter_error(
                    "existing_capacity_for_new",
                    "existing_capacity_kva is given for a new connection; expected it empty, "
                    "or application_type {kinds}",
                    kinds=kinds,
                )
            if self.meter_readings:
                raise _meter_error(
                    "meter_readings_for_new",
                    "meter readings were sent for a new connection (application_type new); "
                    "readings belong to an existing customer (application_type {kinds})",
                    kinds=kinds,
                )
            if any(item.change == "remove" for item in self.equipment):
                raise _meter_error(
                    "remove_on_new",
                    "an equipment line is marked 'remove' on a new connection: a new customer "
                    "has nothing to take out of service",
                )
            return self
        cap = self.existing_capacity_kva
        if cap is None:
            raise _meter_error(
                "existing_capacity_required",
                "existing_capacity_kva is required for application_type {kind}: the capacity "
                "in service before the application, kVA",
                kind=self.application_type,
            )
        months = len(self.meter_readings)
        if months < METER_MONTHS_MIN:
            raise _meter_error(
                "meter_too_few_months",
                "application_type {kind} needs at least {min} monthly meter readings; received {n}",
                kind=self.application_type,
                min=METER_MONTHS_MIN,
                n=months,
            )
        periods = [r.period for r in self.meter_readings]
        twice = sorted({p for p in periods if periods.count(p) > 1})
        if twice:
            raise _meter_error(
                "meter_duplicate_period",
                "the month {period} is read twice; expected one reading per month",
                period=twice[0],
            )
        year, month = parse_periods(periods)
        hours = hours_in_month(year, month)
        for reading, h in zip(self.meter_readings, hours, strict=True):
            flat_out = cap * float(h)
            if reading.energy_kwh > flat_out:
                raise _meter_error(
                    "meter_energy_absurd",
                    "{period}: {value:g} kWh is more than the existing capacity of {kva:g} kVA "
                    "could deliver running flat out for the month ({limit:g} kWh); expected "
                    "the month's metered energy",
                    period=reading.period,
                    value=reading.energy_kwh,
                    kva=cap,
                    limit=flat_out,
                )
            demand = reading.max_demand_kw
            if demand is not None and demand > MAX_DEMAND_OVER_CAPACITY_MAX * cap:
                raise _meter_error(
                    "meter_demand_absurd",
                    "{period}: a maximum demand of {value:g} kW is more than "
                    "{ratio:g} kW per kVA of the existing {kva:g} kVA; expected the month's "
                    "metered maximum demand",
                    period=reading.period,
                    value=demand,
                    ratio=MAX_DEMAND_OVER_CAPACITY_MAX,
                    kva=cap,
                )
            if demand is not None and reading.energy_kwh / float(h) > demand * 1.001:
                raise _meter_error(
                    "meter_mean_above_max",
                    "{period}: {value:g} kWh means a mean demand above the month's maximum "
                    "demand of {demand:g} kW; expected at most {limit:g} kWh",
                    period=reading.period,
                    value=reading.energy_kwh,
                    demand=demand,
                    limit=demand * float(h),
                )
        removed = sum(i.rated_kw * i.quantity for i in self.equipment if i.change == "remove")
        if removed > REMOVED_KW_PER_KVA_MAX * cap:
            raise _meter_error(
                "remove_too_large",
                "the lines to remove install {value:g} kW, more than a customer of {kva:g} kVA "
                "could have had (at most {ratio:g} kW per kVA); expected only lines in service "
                "today",
                value=removed,
                kva=cap,
                ratio=REMOVED_KW_PER_KVA_MAX,
            )
        return self

    @property
    def industry_text(self) -> str:
        """The industry as the request wrote it (a code, or the name that was recognised)."""
        return self._industry_text or self.industry

    @field_validator("climate_zone", mode="before")
    @classmethod
    def _empty_zone(cls, value: object) -> object:
        if value == "":
            return None
        if value is not None and value not in CLIMATE_ZONES:
            raise PydanticCustomError(
                "unknown_climate_zone",
                unknown_code_message("climate_zone", value, CLIMATE_ZONES)
                + f" ({', '.join(CLIMATE_ZONES)}) or empty",
                {"value": str(value)},
            )
        return value

    @field_validator("equipment")
    @classmethod
    def _plausible_totals(
        cls, value: list[EquipmentItem], info: ValidationInfo
    ) -> list[EquipmentItem]:
        installed = sum(item.rated_kw * item.quantity for item in value)
        if installed > INSTALLED_KW_MAX:
            raise implausible_total(
                "equipment",
                installed,
                f"at most {INSTALLED_KW_MAX:g} kW installed in total (all lines, standby included)",
                f"the equipment list installs {installed:g} kW in total; one application may "
                f"install at most {INSTALLED_KW_MAX:g} kW",
            )
        area = info.data.get("floor_area_m2")
        if area is not None and installed > INSTALLED_KW_PER_M2_MAX * area:
            raise implausible_total(
                "equipment",
                installed,
                f"at most {INSTALLED_KW_PER_M2_MAX:g} kW per m² of floor area "
                f"({INSTALLED_KW_PER_M2_MAX * area:g} kW for {area:g} m²)",
                f"{installed:g} kW installed on {area:g} m² is "
                f"{installed / area:g} kW/m²; at most {INSTALLED_KW_PER_M2_MAX:g} kW/m² is plausible",
            )
        return value


def implausible_total(field: str, value: float, expected: str, message: str) -> PydanticCustomError:
    """The error of a total beyond its plausibility limit (rendered by serving.errors)."""
    return PydanticCustomError(
        "implausible_total",
        message,
        {"field": field, "value": value, "expected": expected},
    )
