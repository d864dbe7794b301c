"""API objects, declared once and imported by the service, the web page and the loaders.

An :class:`Application` is one new-connection request (业扩报装): industry, optional scale
fields and an equipment list. Each :class:`EquipmentItem` names a category code, a
free-text name, or both.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from features.catalog import load_catalog, unknown_code_message
from features.contract import CLIMATE_ZONES

MAX_EQUIPMENT_LINES = 500
"""At most this many equipment lines per application."""

ClimateZone = Literal[
    "severe_cold", "cold", "hot_summer_cold_winter", "hot_summer_warm_winter", "mild"
]


class EquipmentItem(BaseModel):
    """One equipment line: identical units of one category."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str | None = Field(
        None,
        description="Category code from categories.csv; may be omitted when `name` is given.",
        examples=["machine_tool"],
    )
    name: str | None = Field(
        None,
        max_length=200,
        description="Free-text name as the customer wrote it, e.g. '数控车床 CK6140 7.5kW'.",
        examples=["数控车床 CK6140"],
    )
    rated_kw: float = Field(
        ...,
        gt=0,
        le=100_000,
        allow_inf_nan=False,
        description="Rating of ONE unit in kW (> 0).",
        examples=[7.5],
    )
    quantity: int = Field(1, ge=1, le=10_000, description="Number of identical units (>= 1).")
    standby: bool = Field(False, description="Installed spare that does not run normally.")

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

    industry: str = Field(
        ..., description="Industry code from industries.csv.", examples=["machinery"]
    )
    climate_zone: ClimateZone | None = Field(
        None, description="GB 50176 climate zone; empty = unknown."
    )
    floor_area_m2: float | None = Field(
        None, gt=0, le=10_000_000, description="Gross floor area, m²."
    )
    employees: int | None = Field(None, ge=0, le=1_000_000, description="Staff headcount.")
    shifts: int | None = Field(
        None, ge=1, le=3, description="Shifts per day (3 = round the clock)."
    )
    equipment: Annotated[list[EquipmentItem], Field(max_length=MAX_EQUIPMENT_LINES)] = Field(
        default_factory=list,
        description=f"Equipment list, at most {MAX_EQUIPMENT_LINES} lines; empty = area-only.",
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
