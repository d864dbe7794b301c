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

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
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
    FLOOR_AREA_M2_MAX,
    FLOOR_AREA_M2_MIN,
    INSTALLED_KW_MAX,
    INSTALLED_KW_PER_M2_MAX,
    QUANTITY_MAX,
    RATED_KW_MAX,
    RATED_KW_MIN,
    ClimateZone,
    column_spec,
)

# The bounds of the API's fields are the contract's column specs (the CSV path checks the
# same ones, features.validation), so a value is accepted on every path or on none.
_RATED = column_spec(EQUIPMENT_COLUMNS, "rated_kw")
_QUANTITY = column_spec(EQUIPMENT_COLUMNS, "quantity")
_AREA = column_spec(CUSTOMER_COLUMNS, "floor_area_m2")
_EMPLOYEES = column_spec(CUSTOMER_COLUMNS, "employees")
_SHIFTS = column_spec(CUSTOMER_COLUMNS, "shifts")


def _whole(bound: float | None) -> int | None:
    # An integer field's bounds as integers (the JSON Schema and the messages say 1, not 1.0).
    return None if bound is None else int(bound)


MAX_EQUIPMENT_LINES = 500
"""At most this many equipment lines per application."""


def _plain_text(value: str) -> str:
    """Refuse NUL bytes and lone surrogates (they break logs, CSV answers and JSON errors)."""
    if "\x00" in value:
        raise PydanticCustomError("text_nul", "the text contains a NUL byte (\\u0000)")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise PydanticCustomError(
            "text_surrogate", "the text contains a lone UTF-16 surrogate (not valid Unicode)"
        )
    return value


Text = Annotated[str, Strict(), AfterValidator(_plain_text)]
"""A strict text value (no number or boolean turned into text), no NUL, no lone surrogate."""


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

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        codes = load_catalog().category_codes
        if value not in codes:
            raise ValueError(unknown_code_message("category", value, codes))
        return value

    @model_validator(mode="after")
    def _category_or_name(self) -> EquipmentItem:
        if self.category is None and not self.name:
            raise ValueError(
                "an equipment item needs a 'category' code or a free-text 'name'; received neither"
            )
        return self


class Application(BaseModel):
    """One new-connection application (业扩报装)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    industry: Text = Field(
        ..., description="Industry code from industries.csv.", examples=["machinery"]
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

    @field_validator("industry")
    @classmethod
    def _known_industry(cls, value: str) -> str:
        codes = load_catalog().industry_codes
        if value not in codes:
            raise ValueError(unknown_code_message("industry", value, codes))
        return value

    @field_validator("climate_zone", mode="before")
    @classmethod
    def _empty_zone(cls, value: object) -> object:
        if value == "":
            return None
        if value is not None and value not in CLIMATE_ZONES:
            raise ValueError(
                unknown_code_message("climate_zone", value, CLIMATE_ZONES)
                + f" ({', '.join(CLIMATE_ZONES)}) or empty"
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
