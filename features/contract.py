"""The data contract (``../shared/contract/README.md``) encoded once.

Column specifications, climate zones, the standard capacity series and the sizing
definition ("appropriately sized") live here and are imported everywhere else: the
loaders, the engineering method, the tier policy, the evaluation and the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

ClimateZone = Literal[
    "severe_cold", "cold", "hot_summer_cold_winter", "hot_summer_warm_winter", "mild"
]
"""GB 50176 building climate zones (the API's type); an empty value means unknown."""
CLIMATE_ZONES: tuple[str, ...] = get_args(ClimateZone)
"""The climate zones in the contract's order (declared once, as :data:`ClimateZone`)."""

BOOLEAN_TRUE_WORDS: tuple[str, ...] = (
    "true", "t", "1", "1.0", "yes", "y", "x", "✓", "√", "是", "备用", "有", "standby", "spare", "对",
)  # fmt: skip
"""Words read as true in a boolean column (after trimming and lower-casing), on every path:
history validation, the engineering method, the page's CSV import (via ``/api/catalog``).
"1.0" is what a numeric spreadsheet or Parquet column of 1 turns into as text."""
BOOLEAN_FALSE_WORDS: tuple[str, ...] = (
    "false", "f", "0", "0.0", "no", "n", "否", "不", "无", "-", "—", "运行", "常用",
)  # fmt: skip
"""Words read as false in a boolean column; an empty value is false too (the default)."""

STANDARD_SERIES_KVA: tuple[int, ...] = (
    30, 50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250,
    1600, 2000, 2500,
)  # fmt: skip
"""Standard transformer capacities; above 2,500 kVA whole multiples of 1,250 kVA."""

MULTI_TRANSFORMER_STEP_KVA = 1250
TWO_PART_TARIFF_MIN_KVA = 315.0
"""两部制电价 (two-part tariff) applies from this capacity up."""

SIZING_ACCURACY_TARGET = 0.90
"""The contract's target: at least 90 % of customers appropriately sized (the promotion
gate's floor, the line on the pilot's accuracy chart, the model card's verdict)."""

SizingOutcome = Literal["appropriate", "undersized", "oversized"]
OUTCOMES: tuple[SizingOutcome, ...] = ("appropriate", "undersized", "oversized")


class SizingDefinition(BaseModel):
    """The contract's definition of an appropriately sized capacity.

    The realised peak load rate is ``rho = P / (C * power_factor)``; the capacity is
    appropriate when ``low <= rho <= high``, undersized above and oversized below.
    """

    model_config = ConfigDict(frozen=True)

    power_factor: float = Field(0.9, gt=0, le=1)
    low: float = Field(0.40, gt=0)
    high: float = Field(1.00, gt=0)


DEFAULT_SIZING = SizingDefinition()


def standard_tiers(max_kva: float = 2500.0) -> np.ndarray:
    """Standard capacities in ascending order, up to at least ``max_kva``.

    Parameters
    ----------
    max_kva
        The largest capacity that must be covered; multiples of 1,250 kVA above
        2,500 kVA are appended until it is.

    Returns
    -------
    numpy.ndarray
        Float array of capacities in kVA.
    """
    tiers = [float(t) for t in STANDARD_SERIES_KVA]
    step = MULTI_TRANSFORMER_STEP_KVA
    nxt = (STANDARD_SERIES_KVA[-1] // step + 1) * step
    while tiers[-1] < max_kva:
        tiers.append(float(nxt))
        nxt += step
    return np.asarray(tiers, dtype=float)


_SERIES = np.asarray(STANDARD_SERIES_KVA, dtype=float)


def tier_at_or_above(kva: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """Smallest standard capacity that is at least ``kva`` (vectorised).

    Computed arithmetically above the standard series (the next multiple of 1,250 kVA),
    never by enumerating the series up to the value: any input costs the same. NaN stays
    NaN; +inf stays +inf.
    """
    values = np.atleast_1d(np.asarray(kva, dtype=float))
    # searchsorted is never negative: only the top needs clipping (np.clip costs several
    # times np.minimum on the one value of a single answer).
    idx = np.minimum(np.searchsorted(_SERIES, values, side="left"), len(_SERIES) - 1)
    out = _SERIES[idx]
    step = float(MULTI_TRANSFORMER_STEP_KVA)
    above = values > _SERIES[-1]
    if above.any():
        with np.errstate(invalid="ignore"):
            out = np.where(above, np.ceil(values / step) * step, out)
    return np.where(np.isnan(values), np.nan, out)


def is_standard_capacity(kva: float) -> bool:
    """Whether ``kva`` is a capacity of the standard series (or a 1,250 kVA multiple above it)."""
    if kva in STANDARD_SERIES_KVA:
        return True
    return kva > STANDARD_SERIES_KVA[-1] and float(kva) % MULTI_TRANSFORMER_STEP_KVA == 0


def load_rate(
    peak_kw: float | np.ndarray,
    capacity_kva: float | np.ndarray,
    sizing: SizingDefinition = DEFAULT_SIZING,
) -> np.ndarray:
    """Realised peak load rate ``rho = P / (C * pf)`` (vectorised)."""
    peak = np.asarray(peak_kw, dtype=float)
    cap = np.asarray(capacity_kva, dtype=float)
    return np.asarray(peak / (cap * sizing.power_factor), dtype=float)


def sizing_outcome(
    peak_kw: float | np.ndarray,
    capacity_kva: float | np.ndarray,
    sizing: SizingDefinition = DEFAULT_SIZING,
) -> np.ndarray:
    """Classify each (peak, capacity) pair as appropriate, undersized or oversized."""
    rho = np.atleast_1d(load_rate(peak_kw, capacity_kva, sizing))
    out = np.full(rho.shape, "appropriate", dtype=object)
    out[rho > sizing.high] = "undersized"
    out[rho < sizing.low] = "oversized"
    return out


def peak_bounds_for_capacity(
    capacity_kva: float | np.ndarray, sizing: SizingDefinition = DEFAULT_SIZING
) -> tuple[np.ndarray, np.ndarray]:
    """Peak range (kW) for which ``capacity_kva`` counts as appropriately sized."""
    cap = np.asarray(capacity_kva, dtype=float)
    return cap * sizing.power_factor * sizing.low, cap * sizing.power_factor * sizing.high


# -- plausibility limits ------------------------------------------------------------------
# Declared once: the column specs below carry them (limit_min / limit_max), and the API
# schemas (features/schemas.py, serving/schemas.py, serving/openapi.py), the web page (via
# /api/catalog) and the CSV validation (features/validation.py) all apply them: a line the
# JSON API rejects is rejected from a CSV too. The specs keep the contract's own ranges
# (minimum / maximum) as well; their reject reasons are part of the loaders' contract.
# Per field, and on TOTALS: every field may be within its range while the application as a
# whole is not (20 lines of 100,000 kW × 10,000 units once answered 1.1×10⁹ kVA).
RATED_KW_MIN = 0.001
"""Smallest rating of one unit, kW (1 W)."""
RATED_KW_MAX = 100_000.0
"""Largest rating of one unit, kW (100 MW)."""
QUANTITY_MAX = 10_000
"""Most identical units on one equipment line."""
FLOOR_AREA_M2_MIN = 1.0
"""Smallest gross floor area, m² (a kiosk is a few m²; 1e-300 m² is not an area)."""
FLOOR_AREA_M2_MAX = 10_000_000.0
"""Largest gross floor area, m² (10 km²)."""
EMPLOYEES_MAX = 1_000_000
"""Largest staff headcount."""
CAPACITY_KVA_MIN = 1.0
"""Smallest capacity a planner may propose or grant, kVA."""
CAPACITY_KVA_MAX = 1_000_000.0
"""Largest capacity a planner may propose or grant, kVA (1,000 MVA)."""
PEAK_KW_MIN = 0.01
"""Smallest metered peak worth recording, kW (10 W)."""
PEAK_KW_MAX = 1_000_000.0
"""Largest metered peak, kW."""
INSTALLED_KW_MAX = 200_000.0
"""Largest total installed kW of one application (all lines, standby included): 200 MW,
beyond the largest single-customer connections; the synthetic history's largest is ~150 MW."""
INSTALLED_KW_PER_M2_MAX = 50.0
"""Largest installed kW per m² of gross floor area (data halls run at 5-20 kW/m²)."""


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract file."""

    name: str
    dtype: Literal["string", "code", "float", "int", "bool"]
    required: bool
    meaning: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    range_reason: str | None = None
    """The reject reason of an out-of-range value, when the generated one
    (``<name> must be > 0``) is not the file's established wording."""
    limit_min: float | None = None
    limit_max: float | None = None
    """Plausibility limits (inclusive), the same on every path: the JSON API's field bounds
    (:mod:`features.schemas`, :mod:`serving.openapi`), the page's checks (``/api/catalog``)
    and the CSV validation all read them from here."""


CORE_CUSTOMER_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("customer_id", "string", True, "unique customer id"),
    ColumnSpec("industry", "code", True, "one of industries.csv"),
    ColumnSpec("climate_zone", "code", False, "GB 50176 climate zone or empty"),
    ColumnSpec(
        "floor_area_m2",
        "float",
        False,
        "gross floor area, > 0",
        0.0,
        None,
        True,
        limit_min=FLOOR_AREA_M2_MIN,
        limit_max=FLOOR_AREA_M2_MAX,
    ),
    ColumnSpec("employees", "int", False, "staff headcount, >= 0", 0.0, limit_max=EMPLOYEES_MAX),
    ColumnSpec("shifts", "int", False, "shifts per day, 1-3", 1.0, 3.0),
    ColumnSpec(
        "applied_capacity_kva",
        "float",
        False,
        "capacity originally applied for, > 0",
        0.0,
        None,
        True,
        limit_min=CAPACITY_KVA_MIN,
        limit_max=CAPACITY_KVA_MAX,
    ),
    ColumnSpec(
        "peak_demand_kw",
        "float",
        False,
        "metered 12-month peak, > 0",
        0.0,
        None,
        True,
        limit_min=PEAK_KW_MIN,
        limit_max=PEAK_KW_MAX,
    ),
)

CORE_EQUIPMENT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("customer_id", "string", True, "must exist in customers.csv"),
    ColumnSpec("category", "code", True, "one of categories.csv"),
    ColumnSpec(
        "rated_kw",
        "float",
        True,
        "rating of one unit in kW, > 0",
        0.0,
        None,
        True,
        limit_min=RATED_KW_MIN,
        limit_max=RATED_KW_MAX,
    ),
    ColumnSpec(
        "quantity", "int", True, "number of identical units, >= 1", 1.0, limit_max=QUANTITY_MAX
    ),
    ColumnSpec("standby", "bool", False, "installed spare (true/false), default false"),
    ColumnSpec("name", "string", False, "free-text description"),
)

# -- existing customers (增容 / 减容 / 暂停): the contract's optional part ---------------------
ApplicationType = Literal["new", "increase", "reduce", "suspend"]
"""``new`` (业扩报装), ``increase`` (增容), ``reduce`` (减容), ``suspend`` (暂停)."""
APPLICATION_TYPES: tuple[str, ...] = get_args(ApplicationType)
EXISTING_TYPES: tuple[str, ...] = tuple(t for t in APPLICATION_TYPES if t != "new")
"""The application types of a customer already connected (they bring meter readings)."""
DEFAULT_APPLICATION_TYPE = "new"
Change = Literal["add", "remove"]
"""An equipment line of the application (``add``) or one taken out of service (``remove``)."""
CHANGES: tuple[str, ...] = get_args(Change)
DEFAULT_CHANGE = "add"

METER_MONTHS_MIN = 3
"""Fewest monthly readings an existing customer must bring (the contract's "at least 3")."""
METER_MONTHS_MAX = 12
"""Most monthly readings: the 12 months before the application."""
ENERGY_KWH_MAX = 1.0e9
"""Largest energy of one month, kWh (1 TWh: beyond any single customer)."""
MAX_DEMAND_OVER_CAPACITY_MAX = 2.0
"""A month's maximum demand above this many times the existing capacity (kW per kVA) is not a
measurement: no transformer carries twice its rating for 15 minutes."""
REMOVED_KW_PER_KVA_MAX = 3.0
"""Installed kW taken out of service above this many times the existing capacity cannot have
been installed (installations run at 1-3 kW installed per kVA of transformer)."""

EXISTING_CUSTOMER_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("application_type", "code", False, "new (default), increase, reduce or suspend"),
    ColumnSpec(
        "existing_capacity_kva",
        "float",
        False,
        "capacity in service before the application, > 0 (every type but new)",
        0.0,
        None,
        True,
        limit_min=CAPACITY_KVA_MIN,
        limit_max=CAPACITY_KVA_MAX,
    ),
)
"""The customers' columns of the contract's optional part for existing customers."""
CHANGE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("change", "code", False, "add (default) or remove"),
)
"""The equipment column of the contract's optional part for existing customers."""

CUSTOMER_COLUMNS: tuple[ColumnSpec, ...] = CORE_CUSTOMER_COLUMNS + EXISTING_CUSTOMER_COLUMNS
"""Every column of customers.csv (the clean frames carry all of them)."""
EQUIPMENT_COLUMNS: tuple[ColumnSpec, ...] = CORE_EQUIPMENT_COLUMNS + CHANGE_COLUMNS
"""Every column of equipment.csv (the clean frames carry all of them)."""

METER_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("customer_id", "string", True, "an existing customer of customers.csv"),
    ColumnSpec("period", "string", True, "billing month, YYYY-MM"),
    ColumnSpec(
        "energy_kwh",
        "float",
        True,
        "active energy in the month, kWh, >= 0",
        0.0,
        limit_max=ENERGY_KWH_MAX,
    ),
    ColumnSpec(
        "max_demand_kw",
        "float",
        False,
        "the month's highest 15-minute demand, kW, > 0",
        0.0,
        None,
        True,
        limit_min=PEAK_KW_MIN,
        limit_max=PEAK_KW_MAX,
    ),
)
"""Columns of meter_readings.csv: one row per existing customer per month."""

CUSTOMER_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in CORE_CUSTOMER_COLUMNS)
"""The columns every history has (a new-connections history needs no more)."""
EQUIPMENT_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in CORE_EQUIPMENT_COLUMNS)
EXISTING_CUSTOMER_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in EXISTING_CUSTOMER_COLUMNS)
METER_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in METER_COLUMNS)
LABEL_COLUMN = "peak_demand_kw"
STATUS_QUO_COLUMN = "applied_capacity_kva"

OUTCOME_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "recommendation_id", "string", True, "id returned when the recommendation was logged"
    ),
    ColumnSpec(
        "granted_kva",
        "float",
        True,
        "capacity actually granted, kVA, > 0",
        0.0,
        None,
        True,
        range_reason="granted_kva is not positive; expected a number > 0",
        limit_min=CAPACITY_KVA_MIN,
        limit_max=CAPACITY_KVA_MAX,
    ),
    ColumnSpec(
        "metered_peak_kw",
        "float",
        True,
        "metered 12-month peak, kW, > 0",
        0.0,
        None,
        True,
        range_reason="metered_peak_kw is not positive; expected a number > 0",
        limit_min=PEAK_KW_MIN,
        limit_max=PEAK_KW_MAX,
    ),
    ColumnSpec("note", "string", False, "free text"),
)
"""Columns of an outcomes file (``capacity outcomes import``): what was granted and metered
for a logged recommendation. Checked by :func:`features.validation.validate_table`."""


def column_spec(specs: Sequence[ColumnSpec], name: str) -> ColumnSpec:
    """The spec of column ``name`` in ``specs`` (e.g. the API's bounds of a field)."""
    for spec in specs:
        if spec.name == name:
            return spec
    raise KeyError(f"no column {name!r}; expected one of {', '.join(s.name for s in specs)}")
