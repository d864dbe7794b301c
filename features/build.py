"""Feature building: ONE code path shared by training, batch scoring and the service.

:class:`FeatureBuilder` follows scikit-learn conventions (``__init__`` stores params,
``fit`` returns ``self``). Its input is a :class:`HistoryFrames` pair of clean contract
frames (customers, equipment) as produced by :mod:`features.validation`; a single web or
API application is turned into the same pair by :func:`frames_from_applications`, so
serving never computes a feature its own way.

Target transform (see :mod:`training.model`): the model learns ``log(peak / base)``.
``base`` is the demand-coefficient idea with demand factors fitted to the history: per
category ``Kx · m_c`` kW of peak per installed kW, the multipliers ``m_c ≥ 0`` fitted by
non-negative least squares on relative errors and shrunk towards one common multiplier
(:func:`fit_demand_factors`), after one multiplier per industry (a hierarchical offset,
:mod:`features.shrinkage`). Area-only applications use the area-density estimate times a
fitted multiplier per industry, and applications with neither the industry's typical peak,
both shrunk towards all industries' by the data behind them (empirical Bayes). The trees then
learn *corrections* to a physically shaped estimate in a narrow, well-scaled range, the
prediction scales with the installation beyond the training range, and a history whose
real utilisation differs from the catalog's Kx (any utility's) is learned rather than
fought: the base stays monotone in every category's kW because ``m_c ≥ 0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

import numpy as np
import pandas as pd

from features.catalog import Catalog, load_catalog
from features.contract import APPLICATION_TYPES, CLIMATE_ZONES, DEFAULT_APPLICATION_TYPE
from features.engineering import (
    EngineeringConfig,
    engineering_estimate_arrays,
    engineering_estimate_frame,
)
from features.metered import (
    APPLICATION_TYPE_FEATURE,
    METERED_FEATURES,
    MIN_METERED_ROWS,
    MIN_REMAINING_SHARE,
    MeteredModelRequired,
    MeterFit,
    MeterInputs,
    application_type_codes,
    metered_feature_values,
)
from features.metering import (
    METER_SUMMARY_COLUMNS,
    hours_in_month,
    parse_periods,
    summarise_readings,
)
from features.schemas import Application
from features.shrinkage import (
    ShrunkLocations,
    shrink_log_location,
    shrink_log_location_hierarchical,
)

EXCLUDED_CATEGORIES = ("fire_pump",)
"""Categories that never run in normal operation and never count towards demand."""

COOLING_CATEGORIES = ("chiller", "split_ac", "refrigeration_compressor")
"""Catalog categories that cool: how hard they run at the year's peak follows the climate
zone (a chiller sized for a design day runs near it in a hot-summer zone every summer, one
in a severe-cold zone seldom, and there the year's peak may not be in summer at all)."""

ZONE_PRIOR_ROWS = 10.0
"""Pseudo-observations pulling each zone's cooling multiplier towards 1 (no zone effect,
the classical sheet): a zone with few cooling customers keeps the pooled factors."""

FEATURE_SPEC_VERSION = 3
"""Bumped whenever the meaning or order of features changes; checked when a bundle loads."""


_CATEGORY_BLOCKS = ("kw", "units", "largest", "rss", "share")
"""The per-category feature blocks: ``<block>__<category>`` for every category."""


@dataclass(frozen=True)
class _MatrixLayout:
    """The feature matrix's columns.

    Per block: the categories' positions and their matrix columns; then every other
    feature with its column.
    """

    blocks: dict[str, tuple[np.ndarray, np.ndarray]]
    others: list[tuple[int, str]]


@dataclass
class ApplicationColumns:
    """The columns of :func:`frames_from_applications` as plain arrays (before any frame).

    For one application, building the two pandas frames and reading their columns back
    costs more than the features themselves; :class:`FeatureBuilder` reads these instead
    as long as the frames have not been built (the values are the same either way).
    """

    customer_id: list[str]
    industry: list[str]
    climate_zone: list[str | None]
    floor_area_m2: np.ndarray
    employees: np.ndarray
    shifts: np.ndarray
    eq_customer_id: list[str]
    eq_customer_pos: np.ndarray  # row of each equipment line's customer
    eq_category: list[str]
    eq_rated_kw: np.ndarray
    eq_quantity: np.ndarray
    eq_standby: np.ndarray
    eq_name: list[str]
    eq_removed: np.ndarray | None = None
    """Lines taken out of service (``change`` remove) of existing customers."""
    application_type: list[str] | None = None
    existing_capacity_kva: np.ndarray | None = None
    meter: dict[str, np.ndarray] | None = None
    """The readings' summary per customer (:data:`features.metering.METER_SUMMARY_COLUMNS`)."""

    def meter_inputs(self) -> MeterInputs:
        """The customers' meter inputs (nothing metered when no application brought any)."""
        n = len(self.customer_id)
        kinds = self.application_type or [DEFAULT_APPLICATION_TYPE] * n
        cap = self.existing_capacity_kva
        summary = self.meter or {c: np.full(n, np.nan) for c in METER_SUMMARY_COLUMNS}
        summary = dict(summary)
        summary["meter_months"] = np.nan_to_num(summary["meter_months"])
        return MeterInputs(
            np.asarray(kinds, dtype=object), np.full(n, np.nan) if cap is None else cap, summary
        )

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The contract frames (typed columns, as :func:`frames_from_applications` gives)."""
        # Columns are built as typed arrays: for one application, pandas' own inference
        # and astype cost more than everything else here.
        customers = pd.DataFrame(
            {
                "customer_id": pd.array(self.customer_id, dtype="str"),
                "industry": pd.array(self.industry, dtype="str"),
                "climate_zone": pd.array(self.climate_zone, dtype="str"),
                "floor_area_m2": self.floor_area_m2,
                "employees": self.employees,
                "shifts": self.shifts,
            }
        )
        if self.application_type is not None:
            customers["application_type"] = pd.array(self.application_type, dtype="str")
            customers["existing_capacity_kva"] = self.meter_inputs().existing_capacity_kva
            for column, values in self.meter_inputs().summary.items():
                customers[column] = values
        equipment = pd.DataFrame(
            {
                "customer_id": pd.array(self.eq_customer_id, dtype="str"),
                "category": pd.array(self.eq_category, dtype="str"),
                "rated_kw": self.eq_rated_kw,
                "quantity": self.eq_quantity,
                "standby": self.eq_standby,
                "name": pd.array(self.eq_name, dtype="str"),
            }
        )
        if self.eq_removed is not None:
            equipment["change"] = pd.array(
                np.where(self.eq_removed, "remove", "add").tolist(), dtype="str"
            )
        return customers, equipment


class HistoryFrames:
    """A pair of clean contract frames: one row per customer, one row per equipment line.

    Made by :func:`frames_from_applications`, the frames are built on first access only
    (the feature path reads the same values from :class:`ApplicationColumns`); once
    built, the frames are what every reader uses.
    """

    __slots__ = ("_columns", "_customers", "_equipment")

    def __init__(
        self,
        customers: pd.DataFrame | None = None,
        equipment: pd.DataFrame | None = None,
        *,
        columns: ApplicationColumns | None = None,
    ) -> None:
        if columns is None and (customers is None or equipment is None):
            raise TypeError("HistoryFrames needs customers and equipment frames")
        self._customers = customers
        self._equipment = equipment
        self._columns = columns if customers is None or equipment is None else None

    def _build(self) -> None:
        if self._columns is not None:
            customers, equipment = self._columns.frames()
            if self._customers is None:
                self._customers = customers
            if self._equipment is None:
                self._equipment = equipment
            self._columns = None

    @property
    def customers(self) -> pd.DataFrame:
        """One row per customer."""
        self._build()
        assert self._customers is not None
        return self._customers

    @customers.setter
    def customers(self, value: pd.DataFrame) -> None:
        self._build()
        self._customers = value

    @property
    def equipment(self) -> pd.DataFrame:
        """One row per equipment line."""
        self._build()
        assert self._equipment is not None
        return self._equipment

    @equipment.setter
    def equipment(self, value: pd.DataFrame) -> None:
        self._build()
        self._equipment = value

    @property
    def columns(self) -> ApplicationColumns | None:
        """The unbuilt application columns, or None once the frames exist."""
        return self._columns

    def __len__(self) -> int:
        if self._columns is not None:
            return len(self._columns.customer_id)
        return len(self.customers)

    def __repr__(self) -> str:
        return f"HistoryFrames(customers={len(self)} rows)"

    def take(self, rows: np.ndarray) -> HistoryFrames:
        """The customers at positional ``rows`` (or a boolean mask), with their equipment."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        customers = self.customers.iloc[rows].reset_index(drop=True)
        keep = self.equipment["customer_id"].isin(set(customers["customer_id"]))
        return HistoryFrames(customers, self.equipment[keep].reset_index(drop=True))


def frames_from_applications(
    applications: Sequence[Application],
    categories: Sequence[str | None] | None = None,
    ids: Sequence[str] | None = None,
) -> HistoryFrames:
    """Turn API applications into contract frames.

    Parameters
    ----------
    applications
        Validated applications.
    categories
        Optional resolved category per equipment line, flattened over all applications in
        order (used when free-text names were matched to categories). ``None`` entries are
        unmatched lines and are left out of the equipment frame.
    ids
        Customer ids to use; defaults to ``app-0``, ``app-1``...
    """
    ids = list(ids) if ids is not None else [f"app-{i}" for i in range(len(applications))]

    def numbers(values: list[float | int | None]) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)

    # Column by column over the flat list of lines (one comprehension per column, not
    # eight appends per line: 65,000 lines of a 10,000-application batch).
    flat = [(pos, item) for pos, app in enumerate(applications) for item in app.equipment]
    cats = [item.category for _, item in flat] if categories is None else list(categories)
    if len(cats) != len(flat):
        raise ValueError(
            f"categories: expected one per equipment line ({len(flat)}); received {len(cats)}"
        )
    # Unmatched lines (category None) are left out of the equipment frame.
    kept = [
        (pos, item, cat) for (pos, item), cat in zip(flat, cats, strict=True) if cat is not None
    ]
    cols: dict[str, list[Any]] = {
        "customer_id": [ids[pos] for pos, _, _ in kept],
        "pos": [pos for pos, _, _ in kept],
        "category": [cat for _, _, cat in kept],
        "rated_kw": [item.rated_kw for _, item, _ in kept],
        "quantity": [item.quantity for _, item, _ in kept],
        "standby": [item.standby for _, item, _ in kept],
        "name": [item.name or "" for _, item, _ in kept],
        "removed": [item.change == "remove" for _, item, _ in kept],
    }
    # Ids must be unique for the positions to stand in for a lookup by id.
    unique = len(set(ids)) == len(ids)
    metered = any(
        a.meter_readings or a.application_type != DEFAULT_APPLICATION_TYPE for a in applications
    )
    columns = ApplicationColumns(
        customer_id=ids,
        industry=[a.industry for a in applications],
        climate_zone=[a.climate_zone for a in applications],
        floor_area_m2=numbers([a.floor_area_m2 for a in applications]),
        employees=numbers([a.employees for a in applications]),
        shifts=numbers([a.shifts for a in applications]),
        eq_customer_id=cols["customer_id"],
        eq_customer_pos=np.array(cols["pos"], dtype=np.int64),
        eq_category=cols["category"],
        eq_rated_kw=np.array(cols["rated_kw"], dtype=float),
        eq_quantity=np.array(cols["quantity"], dtype=np.int64),
        eq_standby=np.array(cols["standby"], dtype=bool),
        eq_name=cols["name"],
        eq_removed=np.array(cols["removed"], dtype=bool) if metered else None,
        application_type=[a.application_type for a in applications] if metered else None,
        existing_capacity_kva=numbers([a.existing_capacity_kva for a in applications])
        if metered
        else None,
        meter=_summarise_applications(applications) if metered else None,
    )
    if not unique or not all(isinstance(i, str) for i in ids):
        customers, equipment = columns.frames()
        return HistoryFrames(customers, equipment)
    return HistoryFrames(columns=columns)


def _summarise_applications(applications: Sequence[Application]) -> dict[str, np.ndarray]:
    """The readings' summary of each application (the same function as a history's)."""
    pos: list[int] = []
    periods: list[str] = []
    energy: list[float] = []
    demand: list[float] = []
    for i, app in enumerate(applications):
        for reading in app.meter_readings:
            pos.append(i)
            periods.append(reading.period)
            energy.append(reading.energy_kwh)
            demand.append(np.nan if reading.max_demand_kw is None else reading.max_demand_kw)
    year, month = parse_periods(np.array(periods, dtype=object))
    return summarise_readings(
        np.array(pos, dtype=np.int64),
        len(applications),
        hours_in_month(year, month),
        np.array(energy, dtype=float),
        np.array(demand, dtype=float),
    )


def _removed_mask(equipment: pd.DataFrame) -> np.ndarray:
    """Lines taken out of service (``change`` remove); none when the column is absent."""
    if "change" not in equipment:
        return np.zeros(len(equipment), dtype=bool)
    return np.asarray(equipment["change"].astype(str) == "remove", dtype=bool)


def _counted_lines(equipment: pd.DataFrame) -> pd.DataFrame:
    """The lines that carry load after the application (those removed marked standby).

    The classical sheet then leaves a removed line out as it leaves out a spare.
    """
    removed = _removed_mask(equipment)
    if not removed.any():
        return equipment
    out = equipment.copy()
    out["standby"] = out["standby"].to_numpy(dtype=bool) | removed
    return out


def _aggregate_equipment(
    customer_ids: pd.Index,
    equipment: pd.DataFrame,
    categories: Sequence[str],
    lines: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per customer × category: non-standby kW, unit count and largest unit (numpy only)."""
    if not len(equipment):
        return _aggregate_arrays(
            len(customer_ids),
            len(categories),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
            np.zeros(0),
            np.zeros(0, dtype=bool),
        )
    # ``lines``: the lines to count (default: all but those taken out of service).
    counted = ~_removed_mask(equipment) if lines is None else lines
    return _aggregate_arrays(
        len(customer_ids),
        len(categories),
        customer_ids.get_indexer(equipment["customer_id"]),
        pd.Index(categories).get_indexer(equipment["category"]),
        equipment["rated_kw"].to_numpy(dtype=float),
        equipment["quantity"].to_numpy(dtype=float),
        equipment["standby"].to_numpy(dtype=bool) | ~counted,
    )


def _aggregate_arrays(
    n_cust: int,
    n_cat: int,
    cust_idx: np.ndarray,
    cat_idx: np.ndarray,
    rated: np.ndarray,
    qty: np.ndarray,
    standby: np.ndarray,
) -> dict[str, np.ndarray]:
    """:func:`_aggregate_equipment` on arrays (positions of customer and category, -1: none)."""
    kw = np.zeros((n_cust, n_cat))
    units = np.zeros((n_cust, n_cat))
    largest = np.zeros((n_cust, n_cat))
    square = np.zeros((n_cust, n_cat))
    standby_kw = np.zeros(n_cust)
    if len(cust_idx):
        known = cust_idx >= 0
        # Standby spares and excluded categories (fire pumps) never run in normal operation.
        running = known & (cat_idx >= 0) & ~standby
        spare = known & ~running
        np.add.at(standby_kw, cust_idx[spare], (rated * qty)[spare])
        flat = cust_idx[running] * n_cat + cat_idx[running]
        np.add.at(kw.reshape(-1), flat, (rated * qty)[running])
        np.add.at(units.reshape(-1), flat, qty[running])
        np.maximum.at(largest.reshape(-1), flat, rated[running])
        np.add.at(square.reshape(-1), flat, (rated * rated * qty)[running])
    return {
        "kw": kw,
        "units": units,
        "largest": largest,
        "rss": np.sqrt(square),
        "standby_kw": standby_kw,
    }


def _kx_vector(categories: Sequence[str], choice: str) -> np.ndarray:
    """Catalog demand coefficients of ``categories`` at the low, middle or high end."""
    catalog = load_catalog()
    out = []
    for code in categories:
        cat = catalog.categories[code]
        out.append({"low": cat.kx_low, "high": cat.kx_high}.get(choice, cat.kx_default))
    return np.asarray(out, dtype=float)


def fit_demand_factors(
    demand_kw: np.ndarray,
    peak_kw: np.ndarray,
    prior_rows: float = 10.0,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """Per-category multipliers ``m_c >= 0`` of the catalog demand (Kx · kW) that fit peaks.

    Minimises the squared RELATIVE error ``sum_i (sum_c m_c D_ic / P_i - 1)^2`` (every
    customer counts alike, whatever its size) by non-negative least squares, plus
    ``prior_rows`` pseudo-observations pulling each ``m_c`` towards ``prior[c]`` (by
    default the common multiplier ``m0``, the median of ``P / sum_c D_c``): a category
    seen rarely keeps its prior.
    Customers whose ratio is more than 10× off ``m0`` (metering or data errors) are left
    out of the fit.

    Parameters
    ----------
    demand_kw
        ``(n, C)`` catalog demand per customer and category: Kx · non-standby kW.
    peak_kw
        ``(n,)`` metered peaks.
    prior_rows
        Strength of the pull towards the prior, in customers.
    prior
        ``(C,)`` prior multipliers (e.g. the all-industry fit when fitting one industry).

    Returns
    -------
    numpy.ndarray
        ``(C,)`` multipliers; all equal to ``m0`` when there is nothing to fit.
    """
    n_cat = demand_kw.shape[1]
    m, _ = fit_coincident_factors(demand_kw, None, peak_kw, prior_rows, prior, None)
    return m[:n_cat]


def fit_coincident_factors(
    demand_kw: np.ndarray,
    coincidence_kw: np.ndarray | None,
    peak_kw: np.ndarray,
    prior_rows: float = 10.0,
    prior: np.ndarray | None = None,
    coincidence_prior: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fit_demand_factors` with a coincidence term: ``m_c · D_ic + a_c · R_ic``.

    ``R_ic`` is the catalog Kx times the root sum of squares of the customer's running
    unit ratings in category ``c`` (``sqrt(sum_units rated²)``). Why: the peak of ``n``
    independent loads of rating ``r`` is their mean, ``∝ n·r``, plus a multiple of their
    spread, ``∝ √n·r`` (the central limit theorem; the classical binomial method
    ``P30 = b·Pe + c·Px`` and the utilisation-factor method's ``Km(n_eq)`` express the
    same: few or unequal units coincide more than many small ones). The fitted
    ``a_c ≥ 0`` says how much of a group's peak is coincidence rather than a fixed share
    of its kW; both terms can only grow when a unit is added or a rating grows, so the
    base stays monotone in every line. ``a_c`` is pulled towards ``coincidence_prior``
    (default 0: the classical sheet, no coincidence term) by ``prior_rows``
    pseudo-observations, as ``m_c`` towards ``prior``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(m, a)``, each ``(C,)``; ``a`` is all zeros without ``coincidence_kw``.
    """
    n_cat = demand_kw.shape[1]
    peak = np.asarray(peak_kw, dtype=float)
    a_prior = np.zeros(n_cat) if coincidence_prior is None else np.asarray(coincidence_prior)
    ok, keep, m0 = _usable_rows(demand_kw, peak)
    if ok.sum() < 10:
        m_out = np.ones(n_cat) if prior is None else np.asarray(prior, dtype=float)
        return m_out, a_prior.astype(float) if coincidence_kw is not None else np.zeros(n_cat)
    columns, target = _factor_columns(demand_kw, coincidence_kw, m0, prior, a_prior)
    rows = columns[keep] / peak[keep, None]
    fitted = _solve_factors(rows, np.ones(int(keep.sum())), target, n_cat, prior_rows)
    if coincidence_kw is None:
        return fitted, np.zeros(n_cat)
    return fitted[:n_cat], fitted[n_cat:]


def _usable_rows(demand_kw: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Which customers a demand-factor fit can use, and their median multiplier ``m0``.

    Returns ``(ok, keep, m0)``: ``ok`` a finite positive ratio ``P / sum_c D_c``; ``keep``
    those within 10× of ``m0`` (further off is a metering or data error, left out of the
    fit); ``m0`` the median ratio over ``ok`` (NaN when none is).
    """
    total = demand_kw.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = peak / total
    ok = np.isfinite(ratio) & (ratio > 0) & (total > 0)
    if not ok.any():
        return ok, ok, float("nan")
    m0 = float(np.median(ratio[ok]))
    keep = ok & (ratio > m0 / 10.0) & (ratio < m0 * 10.0)
    return ok, keep, m0


def _factor_columns(
    demand_kw: np.ndarray,
    coincidence_kw: np.ndarray | None,
    m0: float,
    prior: np.ndarray | None,
    coincidence_prior: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The fit's columns (demand, then coincidence if any) and the prior of each."""
    n_cat = demand_kw.shape[1]
    target = np.full(n_cat, m0) if prior is None else np.asarray(prior, dtype=float)
    if coincidence_kw is None:
        return demand_kw, target
    return np.hstack([demand_kw, coincidence_kw]), np.concatenate([target, coincidence_prior])


def _solve_factors(
    rows: np.ndarray, ones: np.ndarray, target: np.ndarray, n_demand: int, prior_rows: float
) -> np.ndarray:
    """``min ||rows·x - ones||² + prior_rows·||x - target||²`` with the demand factors floored.

    ``rows`` are the customers' columns over their peaks and ``ones`` the targets (1 per
    customer), or any system with the same normal equations: the held-out choice of
    :func:`choose_factor_prior_rows` passes the ``R`` and ``Qᵀ·1`` of a QR factorisation,
    a square system instead of thousands of rows, which gives the same minimiser.
    """
    from scipy.optimize import nnls

    n_col = rows.shape[1]
    pseudo = np.sqrt(prior_rows) * np.eye(n_col)
    a = np.vstack([rows, pseudo])
    b = np.concatenate([ones, np.sqrt(prior_rows) * target])
    # Every listed kW counts: a demand factor never falls below MIN_FACTOR_SHARE of its
    # prior (m = floor + m', m' >= 0 by NNLS). Without the floor a weak pull lets NNLS set
    # a category's factor to 0, and a chiller added to a list would not move the base
    # (tests/model/test_directional.py). The coincidence terms may be 0 (prior 0).
    floor = np.zeros(n_col)
    floor[:n_demand] = MIN_FACTOR_SHARE * target[:n_demand]
    excess, _ = nnls(a, b - a @ floor, maxiter=50 * n_col)
    fitted: np.ndarray = floor + np.asarray(excess, dtype=float)
    return fitted


#: Candidate strengths of the demand factors' pull towards their prior, in pseudo-customers,
#: among which :func:`choose_factor_prior_rows` picks by held-out folds (log-spaced: the
#: held-out loss is flat over a factor of ~3). 10 is the fixed default's strength.
FACTOR_PRIOR_CANDIDATES: tuple[float, ...] = (
    0.1,
    0.3,
    1.0,
    3.0,
    10.0,
    30.0,
    100.0,
    300.0,
    1000.0,
)
#: Lowest demand factor :func:`fit_coincident_factors` returns, as a share of its prior.
MIN_FACTOR_SHARE = 0.1
#: Held-out folds of that choice.
FACTOR_PRIOR_FOLDS = 5
#: Floor of a held-out base, as a share of the peak, in that choice's log error: a base of
#: 0 (every factor of the customer's categories fitted to 0) costs as much as 1/1000.
MIN_BASE_SHARE = 1e-3


def choose_factor_prior_rows(
    demand_kw: np.ndarray,
    coincidence_kw: np.ndarray | None,
    peak_kw: np.ndarray,
    prior: np.ndarray | None,
    coincidence_prior: np.ndarray | None = None,
    candidates: Sequence[float] = FACTOR_PRIOR_CANDIDATES,
    folds: int = FACTOR_PRIOR_FOLDS,
) -> float:
    """The pull towards the prior that predicts held-out customers' peaks best.

    :func:`fit_coincident_factors` pulls one industry's factors towards the (offset)
    all-industry ones, and the all-industry factors towards one common multiplier (and
    no coincidence term), with ``prior_rows`` pseudo-customers. Which strength is right
    depends on the history: how far the industry's equipment really runs from the
    others', how many customers it has, how noisy their peaks are. A fixed 10 lets a
    few dozen noisy customers move thirty factors freely, or holds a large industry
    back. Each candidate is fitted on ``folds - 1`` folds and scored on the held-out
    fold by the squared LOG error of the base ``sum_c m_c D_ic + a_c R_ic`` against the
    peak, over the customers the fit keeps (ratio within 10× of the median); the
    smallest summed loss wins, the first candidate on a tie. Why the log error and not
    the fit's own squared relative error: the model's target is ``log peak − log base``,
    so the log error is what the trees are left to correct; and the relative error,
    ``base / peak − 1``, grows without bound on customers whose peak came out low, so
    under noisy peaks it prefers factors pulled below the truth and picked the weakest
    pull even for an industry exactly at its prior (tests/unit/test_factor_prior_choice.py).

    Folds are a fixed function of the row order (every ``folds``-th customer), so the
    same history always gives the same choice.

    Parameters
    ----------
    demand_kw, coincidence_kw, peak_kw, prior, coincidence_prior
        As :func:`fit_coincident_factors`, for one industry's customers.
    candidates
        Strengths to try, in pseudo-customers.
    folds
        Held-out folds (each customer is held out once).

    Returns
    -------
    float
        The chosen ``prior_rows``; the fixed default (10) when there are fewer than
        ``10 · folds`` usable customers to judge by.
    """
    peak = np.asarray(peak_kw, dtype=float)
    n_cat = demand_kw.shape[1]
    a_prior = np.zeros(n_cat) if coincidence_prior is None else np.asarray(coincidence_prior)
    ok, keep, _ = _usable_rows(demand_kw, peak)
    default = 10.0
    if ok.sum() < 10 * folds:
        return default
    usable = np.flatnonzero(keep)
    fold_of = np.arange(len(usable)) % folds
    losses = np.zeros(len(candidates))
    for k in range(folds):
        train, held = usable[fold_of != k], usable[fold_of == k]
        # What fit_coincident_factors would fit on the training folds, for every candidate
        # at once: the same usable rows and prior, the rows reduced once to their QR
        # factor (the same minimiser; 45 fits on a few thousand rows each cost ~7× more).
        _, fold_keep, fold_m0 = _usable_rows(demand_kw[train], peak[train])
        fold_coincident = None if coincidence_kw is None else coincidence_kw[train]
        columns, target = _factor_columns(
            demand_kw[train], fold_coincident, fold_m0, prior, a_prior
        )
        rows = columns[fold_keep] / peak[train][fold_keep, None]
        # A column no training customer has is decoupled from the others: its factor is
        # its prior (which is above its floor) whatever the strength. Only the others are
        # solved for: an industry lists a handful of the catalog's categories.
        present = np.flatnonzero(np.any(rows != 0.0, axis=0))
        n_present_demand = int(np.sum(present < n_cat))
        q, r = np.linalg.qr(rows[:, present])
        qt_ones = q.sum(axis=0)
        fitted = target.astype(float, copy=True)
        for j, strength in enumerate(candidates):
            fitted[present] = _solve_factors(
                r, qt_ones, target[present], n_present_demand, strength
            )
            base = demand_kw[held] @ fitted[:n_cat]
            if coincidence_kw is not None:
                base = base + coincidence_kw[held] @ fitted[n_cat:]
            log_error = np.log(np.maximum(base, MIN_BASE_SHARE * peak[held]) / peak[held])
            losses[j] += float(np.sum(log_error**2))
    return float(candidates[int(np.argmin(losses))])


def fit_zone_multipliers(
    cooling_kw: np.ndarray,
    other_kw: np.ndarray,
    peak_kw: np.ndarray,
    zone: np.ndarray,
    n_zones: int,
    prior_rows: float = ZONE_PRIOR_ROWS,
) -> np.ndarray:
    """A multiplier ``g_z >= 0`` of the cooling part of the base per climate zone.

    Per zone, minimises the squared RELATIVE error of the base, as
    :func:`fit_coincident_factors` does, over the zone's customers with a cooling part:
    ``sum_i ((B_i + g·C_i) / P_i - 1)^2 + prior_rows · (g - 1)^2``, with ``C_i`` the
    cooling part and ``B_i`` the rest. Closed form: with ``c = C/P`` and ``t = 1 - B/P``,
    ``g = (sum c·t + prior_rows) / (sum c² + prior_rows)``. Why a factor per zone and
    not a textbook one: the catalog's Kx and GB 50176's zones say nothing of how a
    utility's cooling runs at its customers' peaks, the history does; ``g`` only scales
    kW already listed, so the base stays monotone in every line. Customers whose ratio
    is more than 10× off the median (metering or data errors) are left out.

    Parameters
    ----------
    cooling_kw, other_kw
        ``(n,)`` the cooling categories' part of the base and the rest's, kW.
    peak_kw
        ``(n,)`` metered peaks.
    zone
        ``(n,)`` zone codes (0 … ``n_zones`` - 1; -1: unknown, not fitted).
    n_zones
        Number of zones.
    prior_rows
        Strength of the pull towards 1 (no zone effect), in customers.

    Returns
    -------
    numpy.ndarray
        ``(n_zones + 1,)`` multipliers; the last, for an unknown zone, is 1.
    """
    out = np.ones(n_zones + 1)
    cool = np.asarray(cooling_kw, dtype=float)
    total = cool + np.asarray(other_kw, dtype=float)
    peak = np.asarray(peak_kw, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = peak / total
    ok = np.isfinite(ratio) & (ratio > 0) & (total > 0) & (cool > 0)
    if not ok.any():
        return out
    m0 = float(np.median(ratio[ok]))
    keep = ok & (ratio > m0 / 10.0) & (ratio < m0 * 10.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = cool / peak
        t = 1.0 - (total - cool) / peak
    for z in range(n_zones):
        rows = keep & (zone == z)
        num = float(np.sum(c[rows] * t[rows])) + prior_rows
        den = float(np.sum(c[rows] ** 2)) + prior_rows
        out[z] = max(num / den, 0.0)
    return out


def _categorical(values: pd.Series, categories: list[str]) -> pd.Categorical:
    """Fixed-category categorical; unknown or missing values become missing (code -1).

    ``from_codes`` with codes from a dict lookup is much faster than letting pandas infer
    codes from (arrow) strings, and gives the same result.
    """
    raw = values.to_numpy(dtype=object, na_value=None)
    _, dtype = _category_lookup(tuple(categories))
    return pd.Categorical.from_codes(_categorical_codes(raw, categories), dtype=dtype)


def _categorical_codes(raw: np.ndarray | Sequence[Any], categories: list[str]) -> np.ndarray:
    """Codes of ``raw`` values in a fixed category list (-1: unknown or missing)."""
    lookup, _ = _category_lookup(tuple(categories))
    return np.fromiter((lookup.get(v, -1) for v in raw), dtype=np.int64, count=len(raw))


def base_source_of(
    base: np.ndarray, has_equipment: np.ndarray, has_meter: np.ndarray | None = None
) -> np.ndarray:
    """Which estimate the base came from (meter, equipment, area or industry)."""
    has_eq = has_equipment > 0
    ok = np.isfinite(base) & (base > 0)
    out = np.where(has_eq & ok, "equipment", np.where(ok, "area", "industry"))
    if has_meter is not None:
        out = np.where((np.nan_to_num(has_meter) > 0) & ok, "meter", out)
    return out


@lru_cache(maxsize=16)
def _category_lookup(categories: tuple[str, ...]) -> tuple[dict[str, int], pd.CategoricalDtype]:
    """Code lookup and dtype of a fixed category list (validated once, not per call)."""
    return {c: i for i, c in enumerate(categories)}, pd.CategoricalDtype(list(categories))


@lru_cache(maxsize=16)
def _category_labels(categories: tuple[str, ...]) -> np.ndarray:
    """The categories of :func:`_category_lookup`'s dtype as a read-only object array.

    Once per list: converting the dtype's pandas index on every single answer was a
    tenth of its prediction's own time (issue-27 profile).
    """
    _, dtype = _category_lookup(categories)
    labels = np.asarray(dtype.categories, dtype=object)
    labels.setflags(write=False)
    return labels


@lru_cache(maxsize=16)
def _cooling_mask(categories: tuple[str, ...]) -> np.ndarray:
    """Which of a fixed category list are :data:`COOLING_CATEGORIES` (read-only).

    Once per category list: np.isin over the text codes was three sorts per single answer.
    """
    mask = np.isin(np.asarray(categories), COOLING_CATEGORIES)
    mask.setflags(write=False)
    return mask


@dataclass
class BuiltFeatures:
    """The features of a batch as arrays; the pandas frames are built on request.

    ``matrix`` is LightGBM's float matrix (categoricals as codes, NaN when unknown) in the
    order of ``builder.feature_names_``; :meth:`frame` is the feature frame of
    :meth:`FeatureBuilder.transform` and :meth:`engineering` the engineering estimates.
    """

    builder: FeatureBuilder
    ids: pd.Index | list[str]
    matrix: np.ndarray
    codes: dict[str, np.ndarray]
    engineering_frame: pd.DataFrame | None
    engineering_arrays: dict[str, np.ndarray] | None
    base_parts: np.ndarray | None = None
    """``(n, C)`` each category's part of the equipment base (:meth:`FeatureBuilder.row_base_parts`
    of the running lines), as the ``base_kw`` feature summed them."""
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._col = self.builder._feature_positions()

    def __len__(self) -> int:
        return len(self.matrix)

    def index(self) -> pd.Index:
        """Customer ids (as text) of the rows."""
        if not isinstance(self.ids, pd.Index):
            self.ids = pd.Index(pd.array(self.ids, dtype="str"), name="customer_id")
        return self.ids

    def column(self, name: str) -> np.ndarray:
        """A numeric feature as floats (a view of the matrix)."""
        return self.matrix[:, self._col[name]]

    def text(self, name: str) -> np.ndarray:
        """A categorical feature as text, NaN where unknown (as ``astype(str)`` gives)."""
        labels = _category_labels(tuple(self._categories(name)))
        codes = self.codes[name]
        out = (
            labels[np.where(codes >= 0, codes, 0)] if len(labels) else np.empty(len(codes), object)
        )
        out = np.asarray(out, dtype=object)
        out[codes < 0] = np.nan
        return out

    def _categories(self, name: str) -> list[str]:
        if name == APPLICATION_TYPE_FEATURE:
            return list(APPLICATION_TYPES)
        return self.builder.industries_ if name == "industry" else self.builder.climate_zones_

    def frame(self) -> pd.DataFrame:
        """The feature frame (one row per customer, indexed by customer id)."""
        if self._frame is None:
            names = self.builder.feature_names_
            cats = self.builder.categorical_features_
            # One float block plus the categoricals: building a frame column by column
            # costs more than the rest of the transform for a single application.
            numeric = [n for n in names if n not in cats]
            block = self.matrix[:, [self._col[n] for n in numeric]]
            frame = pd.DataFrame(block, index=self.index(), columns=numeric)
            for name in cats:
                _, dtype = _category_lookup(tuple(self._categories(name)))
                frame[name] = pd.Categorical.from_codes(self.codes[name], dtype=dtype)
            if list(frame.columns) != names:
                frame = frame[names]
            self._frame = frame
        return self._frame

    def engineering(self) -> pd.DataFrame:
        """The engineering estimates per row (:func:`engineering_estimate_frame` columns)."""
        if self.engineering_frame is None:
            assert self.engineering_arrays is not None
            self.engineering_frame = pd.DataFrame(self.engineering_arrays, index=self.index())
        return self.engineering_frame


@dataclass
class LabelStatistics:
    """Per-customer aggregates from which :meth:`FeatureBuilder.fit_labels` fits the base.

    Attributes
    ----------
    industry
        Industry code per customer (text).
    kw
        ``(n, C)`` non-standby installed kW per customer and category.
    area_p30
        Area-density P30 estimate per customer (NaN where there is none).
    """

    industry: np.ndarray
    kw: np.ndarray
    area_p30: np.ndarray
    meter: MeterInputs | None = None
    """Existing customers' meter inputs (None: a new-connections history)."""
    kw_removed: np.ndarray | None = None
    """``(n, C)`` kW of the lines taken out of service, per customer and category."""
    rss: np.ndarray | None = None
    """``(n, C)`` root sum of squares of the running unit ratings (the coincidence term)."""
    rss_removed: np.ndarray | None = None
    """``(n, C)`` the same of the lines taken out of service."""
    zone: np.ndarray | None = None
    """``(n,)`` climate-zone codes (positions in ``CLIMATE_ZONES``, -1: unknown), for the
    zone multipliers of the cooling categories (None: not fitted)."""
    area_p30_any: np.ndarray | None = None
    """``(n,)`` area-density P30 of every customer with a floor area, list or not (the
    prior of the area multipliers, ``area_prior_from_lists``; None: not fitted)."""

    @classmethod
    def concat(cls, parts: Sequence[LabelStatistics]) -> LabelStatistics:
        """Row-wise concatenation, in the order given."""
        meters = [p.meter for p in parts if p.meter is not None]
        if meters and len(meters) != len(parts):
            raise ValueError("label statistics with and without meter inputs cannot be mixed")
        removed = [p.kw_removed for p in parts if p.kw_removed is not None]
        rss = [p.rss for p in parts if p.rss is not None]
        rss_removed = [p.rss_removed for p in parts if p.rss_removed is not None]
        zones = [p.zone for p in parts if p.zone is not None]
        any_area = [p.area_p30_any for p in parts if p.area_p30_any is not None]
        return cls(
            industry=np.concatenate([p.industry for p in parts]),
            kw=np.vstack([p.kw for p in parts]),
            area_p30=np.concatenate([p.area_p30 for p in parts]),
            meter=MeterInputs(
                np.concatenate([m.application_type for m in meters]),
                np.concatenate([m.existing_capacity_kva for m in meters]),
                {c: np.concatenate([m.summary[c] for m in meters]) for c in METER_SUMMARY_COLUMNS},
            )
            if meters
            else None,
            kw_removed=np.vstack(removed) if removed else None,
            rss=np.vstack(rss) if rss else None,
            rss_removed=np.vstack(rss_removed) if rss_removed else None,
            zone=np.concatenate(zones) if zones else None,
            area_p30_any=np.concatenate(any_area) if len(any_area) == len(parts) else None,
        )

    def take(self, rows: np.ndarray) -> LabelStatistics:
        """The statistics of the customers at ``rows`` (positions or a mask)."""
        meter = self.meter
        return LabelStatistics(
            industry=self.industry[rows],
            kw=self.kw[rows],
            area_p30=self.area_p30[rows],
            meter=None
            if meter is None
            else MeterInputs(
                meter.application_type[rows],
                meter.existing_capacity_kva[rows],
                {c: v[rows] for c, v in meter.summary.items()},
            ),
            kw_removed=None if self.kw_removed is None else self.kw_removed[rows],
            rss=None if self.rss is None else self.rss[rows],
            rss_removed=None if self.rss_removed is None else self.rss_removed[rows],
            zone=None if self.zone is None else self.zone[rows],
            area_p30_any=None if self.area_p30_any is None else self.area_p30_any[rows],
        )


MIN_AREA_PRIOR_ROWS = 30
"""Fewest customers with a list and a floor area the area multipliers' prior is fitted on."""
AREA_MIN_PRIOR_ROWS = 0.25
"""Least pseudo-customers behind an industry's area-only deviation (``area_weight_by_data``):
one area-only customer then counts at most 0.8 of its industry's figure. The method of
moments sets the pull above this; the floor only keeps a lone customer from being all."""


# Not a subclass of scikit-learn's BaseEstimator/TransformerMixin although it keeps their
# conventions: nothing calls get_params, clone or fit_transform on it, and importing
# sklearn.base (with the SciPy modules it pulls in) cost every served worker ~70 MiB of
# resident memory for two empty base classes (issue 27, serving/model/lean.py).
class FeatureBuilder:
    """Build model features from contract frames.

    Parameters
    ----------
    engineering
        Configuration of the demand-coefficient method whose estimate is both a feature
        and the base of the target.
    include_shares
        Add each category's share of installed kW. Off by default: shares fall when
        another category grows, which breaks the monotone guarantee.
    coincidence
        Add a coincidence term to the base, ``a_c`` × Kx × the root sum of squares of
        the category's unit ratings, fitted with the demand factors
        (:func:`fit_coincident_factors`), and the root sums of squares as features
        (``rss__<category>``): few or unequal units coincide more than many small ones.
    hierarchical
        Shrink per-industry figures (typical peak, base offset, area multiplier)
        industry → a cluster of industries the data cannot tell apart → all industries
        (:func:`features.shrinkage.shrink_log_location_hierarchical`) instead of
        industry → all.
    climate_cooling
        Multiply the cooling categories' part of the base (:data:`COOLING_CATEGORIES`) by a
        factor per climate zone fitted to the history (:func:`fit_zone_multipliers`, 1
        where the zone is unknown): the catalog's Kx has no climate, and trees asked to
        learn cooling kW × zone from a few hundred customers per zone do not.
    area_prior_from_lists
        Shrink each industry's area multiplier (measured peak per m² over the design
        density, fitted on area-only customers) towards the same ratio measured on the
        industry's customers WITH a list and a floor area plus one area-only shift common
        to all industries (:meth:`_fit_area_multipliers`), instead of towards all
        industries' area-only figure. A fitting choice only: the multipliers it gives are
        stored, the flag is not (``builder.json`` keeps its format).
    factor_prior_rows_by_cv
        Choose how strongly fitted demand factors are pulled towards their prior (the
        all-industry factors towards one common multiplier, each industry's towards the
        offset all-industry ones) by held-out folds (:func:`choose_factor_prior_rows`)
        instead of a fixed 10 pseudo-customers. A fitting choice only, like
        ``area_prior_from_lists``: the factors are stored, the flag is not.
    area_weight_by_data
        With ``area_prior_from_lists``: how far an industry's area-only customers move its
        multiplier off the prior is set by the data alone (the within-industry spread from
        industries with two or more of them, at least :data:`AREA_MIN_PRIOR_ROWS`
        pseudo-customers, one level: industry → all) instead of at least one pseudo-customer
        with the spread of every industry, most of which have one area-only customer (and
        the clusters of ``hierarchical``). A fitting choice only.
    """

    def __init__(
        self,
        engineering: EngineeringConfig | None = None,
        include_shares: bool = False,
        min_industry_rows: int = 30,
        coincidence: bool = False,
        hierarchical: bool = False,
        climate_cooling: bool = False,
        area_prior_from_lists: bool = False,
        factor_prior_rows_by_cv: bool = False,
        area_weight_by_data: bool = False,
    ) -> None:
        self.engineering = engineering
        self.include_shares = include_shares
        self.min_industry_rows = min_industry_rows
        self.coincidence = coincidence
        self.hierarchical = hierarchical
        self.climate_cooling = climate_cooling
        self.area_prior_from_lists = area_prior_from_lists
        self.factor_prior_rows_by_cv = factor_prior_rows_by_cv
        self.area_weight_by_data = area_weight_by_data

    def _shrink(self, log_values: np.ndarray, groups: np.ndarray) -> ShrunkLocations:
        """Per-industry figures shrunk towards all industries' (through clusters if set)."""
        if getattr(self, "hierarchical", False):
            return shrink_log_location_hierarchical(log_values, groups)
        return shrink_log_location(log_values, groups)

    def _factor_prior_rows(
        self,
        demand: np.ndarray,
        coincident: np.ndarray | None,
        peak: np.ndarray,
        prior: np.ndarray | None = None,
        prior_a: np.ndarray | None = None,
    ) -> float:
        """How strongly fitted demand factors are pulled towards their prior.

        10 pseudo-customers, or by held-out folds with ``factor_prior_rows_by_cv``.
        """
        if not getattr(self, "factor_prior_rows_by_cv", False):
            return 10.0
        return choose_factor_prior_rows(demand, coincident, peak, prior, prior_a)

    # -- fitting -------------------------------------------------------------------------
    def fit(
        self, X: HistoryFrames, y: Any = None, *, metered_rows: int | None = None
    ) -> FeatureBuilder:
        """Record the catalog, the feature list and the fallback base per industry.

        Parameters
        ----------
        X, y
            The fitting customers and their metered peaks (None: the label-free part only).
        metered_rows
            How many fitting customers have a meter, when ``X`` does not hold them: the
            Dask engine fits the label-free part on an empty frame and counts them over
            its partitions. None counts them in ``X`` (only when ``y`` is given).
        """
        catalog = load_catalog()
        self.catalog_version_ = catalog.version
        self.categories_ = [c for c in catalog.category_codes if c not in EXCLUDED_CATEGORIES]
        self.industries_ = list(catalog.industry_codes)
        self.climate_zones_ = list(CLIMATE_ZONES)
        self.engineering_ = self.engineering or EngineeringConfig()
        self.feature_spec_version_ = FEATURE_SPEC_VERSION
        cols: list[str] = []
        for c in self.categories_:
            cols += [f"kw__{c}", f"units__{c}", f"largest__{c}"]
        if self.coincidence:
            cols += [f"rss__{c}" for c in self.categories_]
        if self.include_shares:
            cols += [f"share__{c}" for c in self.categories_]
        cols += [
            "total_kw",
            "total_units",
            "n_groups",
            "largest_unit_kw",
            "base_kw",
            "eng_p30_kw",
            "eng_s30_kva",
            "floor_area_m2",
            "employees",
            "shifts",
            "kw_per_m2",
            "kw_per_employee",
            "eng_kw_per_m2",
            "has_equipment",
        ]
        # The metered path only when the history holds enough existing customers: a
        # new-connections history keeps exactly the features (and the model) it had.
        if metered_rows is None and y is not None:
            metered_rows = int(MeterInputs.from_customers(X.customers).has_meter.sum())
        self.metered_ = bool(metered_rows is not None and metered_rows >= MIN_METERED_ROWS)
        if self.metered_:
            cols += list(METERED_FEATURES)
        cols += ["industry", "climate_zone"]
        self.categorical_features_ = ["industry", "climate_zone"]
        if self.metered_:
            cols.append(APPLICATION_TYPE_FEATURE)
            self.categorical_features_.append(APPLICATION_TYPE_FEATURE)
        self.feature_names_ = cols
        self.meter_fit_: MeterFit | None = None
        # Fallback base for applications with neither equipment nor floor area.
        self.industry_fallback_kw_: dict[str, float] = {}
        self.global_fallback_kw_ = 100.0
        kx = _kx_vector(self.categories_, self.engineering_.kx_choice)
        # Base weights (kW of peak per installed kW): one row per industry, last row for
        # all industries. Without labels: the classical Kx · K∑p everywhere.
        self.base_weights_ = np.tile(kx * self.engineering_.k_sum_p, (len(self.industries_) + 1, 1))
        # Coincidence weights (kW of peak per kW of root-sum-square rating): none unless
        # fitted (``coincidence``), which is the classical sheet.
        self.coincidence_weights_ = np.zeros_like(self.base_weights_)
        # Cooling multiplier per climate zone, last entry for an unknown zone: 1 (none)
        # unless fitted (``climate_cooling``).
        self.zone_cooling_multipliers_ = np.ones(len(self.climate_zones_) + 1)
        self.area_multiplier_ = 1.0
        self.area_multipliers_: dict[str, float] = {}
        if y is not None:
            self.fit_labels(self.label_statistics(X), y)
        return self

    def label_statistics(self, X: HistoryFrames) -> LabelStatistics:
        """What the label-dependent part of :meth:`fit` reads of ``X``, one row per customer.

        Separate so that a partitioned history (the Dask engine, :mod:`training.dask_engine.engine`)
        can compute these per partition and gather them: they are small (industry, kW per
        category, area estimate) next to the equipment lines they summarise.
        """
        ids = pd.Index(X.customers["customer_id"].astype(str))
        agg = _aggregate_equipment(ids, X.equipment, self.categories_)
        kw = agg["kw"]
        removed_agg = (
            _aggregate_equipment(
                ids, X.equipment, self.categories_, lines=_removed_mask(X.equipment)
            )
            if getattr(self, "metered_", False)
            else None
        )
        eng = engineering_estimate_frame(
            _counted_lines(X.equipment), X.customers, self.engineering_
        )
        metered = getattr(self, "metered_", False)
        return LabelStatistics(
            industry=X.customers["industry"].astype(str).to_numpy(),
            kw=kw,
            area_p30=eng.reindex(ids)["eng_p30_kw"].to_numpy(dtype=float),
            meter=MeterInputs.from_customers(X.customers) if metered else None,
            kw_removed=None if removed_agg is None else removed_agg["kw"],
            rss=agg["rss"] if self.coincidence else None,
            rss_removed=None if removed_agg is None or not self.coincidence else removed_agg["rss"],
            zone=_categorical_codes(
                X.customers["climate_zone"].to_numpy(dtype=object, na_value=None),
                self.climate_zones_,
            )
            if getattr(self, "climate_cooling", False)
            else None,
            area_p30_any=engineering_estimate_frame(
                X.equipment.iloc[:0], X.customers, self.engineering_
            )
            .reindex(ids)["eng_p30_kw"]
            .to_numpy(dtype=float)
            if getattr(self, "area_prior_from_lists", False)
            else None,
        )

    def fit_labels(self, stats: LabelStatistics, y: Any) -> FeatureBuilder:
        """Fit fallbacks, demand factors and the area multipliers from labelled statistics.

        Called by :meth:`fit` with ``y``; ``stats`` and ``y`` are row-aligned. Existing
        customers (a meter) are left out of the new applications' figures (their lines
        are only the change) and fit the metered part (:class:`features.metered.MeterFit`).
        """
        peak_all = np.asarray(y, dtype=float)
        if stats.meter is not None and getattr(self, "metered_", False):
            has = stats.meter.has_meter
            self._fit_new_labels(stats.take(~has), peak_all[~has], fallback_peak=peak_all)
            self._fit_meter_labels(stats.take(has), peak_all[has])
        else:
            self._fit_new_labels(stats, peak_all, fallback_peak=peak_all)
        return self

    def _fit_meter_labels(self, stats: LabelStatistics, peak: np.ndarray) -> None:
        """The metered part's ratios, on existing customers' labels less their change."""
        assert stats.meter is not None and stats.kw_removed is not None
        change = self.row_base_of(
            stats.industry, stats.kw, stats.rss, stats.zone
        ) - self.row_base_of(stats.industry, stats.kw_removed, stats.rss_removed, stats.zone)
        remaining = np.maximum(peak - change, MIN_REMAINING_SHARE * peak)
        self.meter_fit_ = MeterFit.fit(stats.meter, stats.industry, remaining)

    def _fit_new_labels(self, stats: LabelStatistics, y: Any, *, fallback_peak: np.ndarray) -> None:
        """:meth:`fit_labels` for new applications (the typical peak from every customer)."""
        kx = _kx_vector(self.categories_, self.engineering_.kx_choice)
        peak_arr = np.asarray(y, dtype=float)
        if len(peak_arr) < MIN_METERED_ROWS:
            # A history of existing customers only: the catalog's Kx stay, the typical
            # peak comes from every customer.
            typical_all = shrink_log_location(
                np.log(fallback_peak), np.full(len(fallback_peak), "all")
            )
            self.global_fallback_kw_ = float(np.exp(typical_all.pooled))
            return
        peak = pd.Series(peak_arr)
        industry = stats.industry
        # The typical peak of an industry, shrunk towards all industries' by the data
        # behind it (empirical Bayes): a dozen hotels do not make a hotel figure.
        typical = self._shrink(np.log(peak_arr), industry)
        self.industry_fallback_kw_ = {k: float(np.exp(v)) for k, v in typical.estimate.items()}
        self.global_fallback_kw_ = float(np.nanmedian(peak))
        kw = stats.kw
        demand = kw * kx
        coincident = None if stats.rss is None or not self.coincidence else stats.rss * kx
        overall, overall_a = fit_coincident_factors(
            demand, coincident, peak_arr, self._factor_prior_rows(demand, coincident, peak_arr)
        )
        if getattr(self, "climate_cooling", False) and stats.zone is not None:
            # The zone multipliers on the pooled fit, then every factor refitted on the
            # zone-adjusted cooling columns (one alternation): the factors are then those
            # of an average zone's cooling, as the unknown zone's multiplier of 1 assumes.
            cooling = _cooling_mask(tuple(self.categories_))
            pooled_parts = demand * overall
            if coincident is not None:
                pooled_parts = pooled_parts + coincident * overall_a
            self.zone_cooling_multipliers_ = fit_zone_multipliers(
                pooled_parts[:, cooling].sum(axis=1),
                pooled_parts[:, ~cooling].sum(axis=1),
                peak_arr,
                stats.zone,
                len(self.climate_zones_),
            )
            scale = self._zone_scale(stats.zone)
            demand = demand * scale
            coincident = None if coincident is None else coincident * scale
            overall, overall_a = fit_coincident_factors(
                demand, coincident, peak_arr, self._factor_prior_rows(demand, coincident, peak_arr)
            )
        self.base_weights_[-1] = kx * overall
        self.coincidence_weights_[-1] = kx * overall_a
        # Per industry, shrunk towards the all-industry factors: a machine tool in a
        # machinery plant does not run like one in a school workshop. First one
        # multiplier per industry (a hierarchical offset, empirical Bayes: it needs
        # few customers), then, where there are enough, factors per category pulled
        # towards the offset all-industry ones.
        pooled_base = demand @ overall
        if coincident is not None:
            pooled_base = pooled_base + coincident @ overall_a
        listed = (pooled_base > 0) & np.isfinite(pooled_base)
        offset: dict[str, float] = {}
        if listed.sum() >= 10:
            shrunk = self._shrink(np.log(peak_arr[listed] / pooled_base[listed]), industry[listed])
            offset = {k: float(np.exp(v - shrunk.pooled)) for k, v in shrunk.estimate.items()}
        for j, code in enumerate(self.industries_):
            rows = industry == code
            prior = overall * offset.get(code, 1.0)
            prior_a = overall_a * offset.get(code, 1.0)
            if rows.sum() >= self.min_industry_rows:
                industry_coincident = None if coincident is None else coincident[rows]
                factors, factors_a = fit_coincident_factors(
                    demand[rows],
                    industry_coincident,
                    peak_arr[rows],
                    self._factor_prior_rows(
                        demand[rows], industry_coincident, peak_arr[rows], prior, prior_a
                    ),
                    prior=prior,
                    coincidence_prior=prior_a,
                )
                self.base_weights_[j] = kx * factors
                self.coincidence_weights_[j] = kx * factors_a
            else:
                self.base_weights_[j] = kx * prior
                self.coincidence_weights_[j] = kx * prior_a
        area_p30 = stats.area_p30
        area_rows = (kw.sum(axis=1) <= 0) & np.isfinite(area_p30) & (area_p30 > 0)
        if area_rows.sum() >= 10 and not self._fit_area_multipliers(stats, peak_arr, area_rows):
            # Measured peak per m² over the catalog's design density, per industry and
            # shrunk towards all industries (empirical Bayes): real buildings of one
            # type sit far from a design index (BDG1 offices at ~0.35 × 60 W/m²,
            # dormitories at ~0.2 × 70 W/m², schools at ~0.65 × 30 W/m²), and a
            # single multiplier for all types keeps each type's error.
            ratio = self._shrink(
                np.log(peak_arr[area_rows] / area_p30[area_rows]), industry[area_rows]
            )
            self.area_multiplier_ = float(np.exp(ratio.pooled))
            self.area_multipliers_ = {k: float(np.exp(v)) for k, v in ratio.estimate.items()}

    def _fit_area_multipliers(
        self, stats: LabelStatistics, peak: np.ndarray, area_rows: np.ndarray
    ) -> bool:
        """Area multipliers with the industry's customers with lists as the prior.

        ``log m_i = l_i + s + d_i``: ``l_i`` the industry's log peak per design density
        measured on its customers with a list and a floor area (shrunk towards all
        industries'), ``s`` one area-only shift common to all industries (the pooled
        median of the area-only customers' ``log(peak / P30) − l_i``) and ``d_i`` the
        industry's own area-only deviation from that, shrunk towards 0 with the
        between-industry spread the data shows (empirical Bayes). Why: at 500 customers
        of which 5 % area-only, most industries have 0–3 area-only customers and took
        all industries' multiplier, up to 14 × off (the small_groups world's data
        centres); the same industry's hundreds of customers with a list and an area
        carry its peak per m² (medians correlated 0.80–0.91 with the area-only
        customers' on the independent worlds). False (nothing fitted) without
        ``area_prior_from_lists`` or fewer than :data:`MIN_AREA_PRIOR_ROWS` such
        customers (an area-only history: the plain shrinkage).
        """
        any_p30 = stats.area_p30_any
        if not getattr(self, "area_prior_from_lists", False) or any_p30 is None:
            return False
        listed = (stats.kw.sum(axis=1) > 0) & np.isfinite(any_p30) & (any_p30 > 0) & (peak > 0)
        if listed.sum() < MIN_AREA_PRIOR_ROWS:
            return False
        lists = self._shrink(np.log(peak[listed] / any_p30[listed]), stats.industry[listed])
        prior = np.array([lists.estimate.get(str(i), lists.pooled) for i in stats.industry])
        dev = np.log(peak[area_rows] / stats.area_p30[area_rows]) - prior[area_rows]
        if getattr(self, "area_weight_by_data", False):
            own = shrink_log_location(
                dev,
                stats.industry[area_rows],
                min_prior_rows=AREA_MIN_PRIOR_ROWS,
                spread_from_repeats=True,
            )
        else:
            own = self._shrink(dev, stats.industry[area_rows])
        self.area_multiplier_ = float(np.exp(lists.pooled + own.pooled))
        self.area_multipliers_ = {
            code: float(
                np.exp(lists.estimate.get(code, lists.pooled) + own.estimate.get(code, own.pooled))
            )
            for code in self.industries_
        }
        return True

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_"):
            raise RuntimeError("FeatureBuilder is not fitted: call fit() before transform()")

    # -- serialising ---------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """The fitted builder as a JSON-ready document (a bundle's ``builder.json``).

        The builder owns its state: the bundle writes and reads this document without
        knowing the attributes (:meth:`from_state` is the inverse).
        """
        self._check_fitted()
        return {
            "include_shares": self.include_shares,
            "engineering": self.engineering_.model_dump(),
            "catalog_version": self.catalog_version_,
            "feature_spec_version": self.feature_spec_version_,
            "categories": self.categories_,
            "industries": self.industries_,
            "climate_zones": self.climate_zones_,
            "feature_names": self.feature_names_,
            "categorical_features": self.categorical_features_,
            "industry_fallback_kw": self.industry_fallback_kw_,
            "base_weights": self.base_weights_.tolist(),
            "coincidence": self.coincidence,
            "hierarchical": getattr(self, "hierarchical", False),
            "coincidence_weights": self.coincidence_weights_.tolist(),
            "climate_cooling": getattr(self, "climate_cooling", False),
            "zone_cooling_multipliers": self._zone_multipliers().tolist(),
            "area_multiplier": self.area_multiplier_,
            "area_multipliers": getattr(self, "area_multipliers_", {}),
            "min_industry_rows": self.min_industry_rows,
            "global_fallback_kw": self.global_fallback_kw_,
            "meter": self.meter_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FeatureBuilder:
        """A fitted builder from :meth:`to_state`'s document, old bundles' included.

        ``area_multipliers`` is absent in documents written before per-industry
        multipliers (such a builder uses the pooled one for every industry), ``meter``
        in those written before the metered path for existing customers.
        """
        eng = EngineeringConfig(**state["engineering"])
        builder = cls(
            engineering=eng,
            include_shares=bool(state["include_shares"]),
            min_industry_rows=int(state["min_industry_rows"]),
            coincidence=bool(state.get("coincidence", False)),
            hierarchical=bool(state.get("hierarchical", False)),
            climate_cooling=bool(state.get("climate_cooling", False)),
        )
        builder.engineering_ = eng
        builder.catalog_version_ = state["catalog_version"]
        builder.feature_spec_version_ = int(state["feature_spec_version"])
        builder.categories_ = list(state["categories"])
        builder.industries_ = list(state["industries"])
        builder.climate_zones_ = list(state["climate_zones"])
        builder.feature_names_ = list(state["feature_names"])
        builder.categorical_features_ = list(state["categorical_features"])
        builder.industry_fallback_kw_ = {
            k: float(v) for k, v in state["industry_fallback_kw"].items()
        }
        builder.global_fallback_kw_ = float(state["global_fallback_kw"])
        builder.base_weights_ = np.asarray(state["base_weights"], dtype=float)
        # Absent in documents written before the coincidence term: none (the linear base).
        builder.coincidence_weights_ = np.asarray(
            state.get("coincidence_weights", np.zeros_like(builder.base_weights_)), dtype=float
        )
        # Absent in documents written before the zone multipliers: none (all 1).
        builder.zone_cooling_multipliers_ = np.asarray(
            state.get("zone_cooling_multipliers", np.ones(len(builder.climate_zones_) + 1)),
            dtype=float,
        )
        builder.area_multiplier_ = float(state["area_multiplier"])
        builder.area_multipliers_ = {
            str(k): float(v) for k, v in state.get("area_multipliers", {}).items()
        }
        # The metered path (absent in bundles written before existing customers).
        builder.set_meter_state(state.get("meter"))
        return builder

    # -- transforming --------------------------------------------------------------------
    def transform(self, X: HistoryFrames) -> pd.DataFrame:
        """Features, one row per customer in the order of ``X.customers``."""
        return self.transform_with_engineering(X)[0]

    def transform_with_engineering(self, X: HistoryFrames) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Features and the classical engineering estimates they were built from.

        The second frame (:func:`features.engineering.engineering_estimate_frame`, one row
        per customer in the same order) lets batch scoring and evaluation reuse the
        estimates instead of computing them a second time.
        """
        built = self.transform_arrays(X)
        return built.frame(), built.engineering()

    def transform_arrays(self, X: HistoryFrames) -> BuiltFeatures:
        """The features as arrays (frames built on demand): the shared feature path.

        :meth:`transform_with_engineering` is this with both frames built; the model's
        predict path takes the float matrix and the few columns it needs directly.
        """
        self._check_fitted()
        metered = bool(getattr(self, "metered_", False))
        raw = X.columns
        if raw is not None:
            # Unbuilt application frames: the same values, read without pandas.
            n = len(raw.customer_id)
            lookup, _ = _category_lookup(tuple(self.categories_))
            cat_idx = np.fromiter(
                (lookup.get(c, -1) for c in raw.eq_category),
                dtype=np.int64,
                count=len(raw.eq_category),
            )
            removed = (
                raw.eq_removed
                if raw.eq_removed is not None
                else np.zeros(len(raw.eq_category), dtype=bool)
            )
            agg = _aggregate_arrays(
                n,
                len(self.categories_),
                raw.eq_customer_pos,
                cat_idx,
                raw.eq_rated_kw,
                raw.eq_quantity.astype(float),
                raw.eq_standby | removed,
            )
            # The removed lines matter only to the metered path (an existing customer's
            # change); a model without it reads nothing of them.
            removed_agg = (
                _aggregate_arrays(
                    n,
                    len(self.categories_),
                    raw.eq_customer_pos,
                    cat_idx,
                    raw.eq_rated_kw,
                    raw.eq_quantity.astype(float),
                    raw.eq_standby | ~removed,
                )
                if metered
                else None
            )
            # Without readings (``raw.meter`` None) a model without the metered path
            # has nothing to read or refuse: its inputs are not built.
            meter: MeterInputs | None = (
                raw.meter_inputs() if metered or raw.meter is not None else None
            )
            eng_arrays = engineering_estimate_arrays(
                raw.eq_category,
                raw.eq_customer_pos,
                raw.eq_standby | removed,
                raw.eq_rated_kw,
                raw.eq_quantity.astype(float),
                np.array(raw.industry, dtype=object),
                raw.floor_area_m2,
                self.engineering_,
            )
            ids_list: list[str] | pd.Index = raw.customer_id
            eng_frame: pd.DataFrame | None = None
            area = raw.floor_area_m2
            employees = raw.employees
            shifts = raw.shifts
            industry_raw = np.array(raw.industry, dtype=object)
            climate_raw = np.array(raw.climate_zone, dtype=object)
            eng_method = eng_arrays["eng_method"]
            eng_p30 = eng_arrays["eng_p30_kw"]
            eng_q30 = eng_arrays["eng_q30_kvar"]
        else:
            customers = X.customers
            ids = pd.Index(customers["customer_id"].astype(str))
            n = len(ids)
            agg = _aggregate_equipment(ids, X.equipment, self.categories_)
            removed_agg = (
                _aggregate_equipment(
                    ids, X.equipment, self.categories_, lines=_removed_mask(X.equipment)
                )
                if metered
                else None
            )
            meter = MeterInputs.from_customers(customers)
            eng_frame = engineering_estimate_frame(
                _counted_lines(X.equipment), customers, self.engineering_
            )
            eng_frame = eng_frame.reindex(ids)
            eng_arrays = None
            ids_list = ids
            area = customers["floor_area_m2"].to_numpy(dtype=float)
            employees = customers["employees"].to_numpy(dtype=float)
            shifts = customers["shifts"].to_numpy(dtype=float)
            industry_raw = customers["industry"].to_numpy(dtype=object, na_value=None)
            climate_raw = customers["climate_zone"].to_numpy(dtype=object, na_value=None)
            eng_method = eng_frame["eng_method"].to_numpy()
            eng_p30 = eng_frame["eng_p30_kw"].to_numpy(dtype=float)
            eng_q30 = eng_frame["eng_q30_kvar"].to_numpy(dtype=float)
        kw, units, largest, rss = agg["kw"], agg["units"], agg["largest"], agg["rss"]
        total_kw = kw.sum(axis=1)
        # The per-category blocks (kw__, units__, largest__, rss__, share__) go into the
        # matrix whole, through column positions fixed per fitted builder: one column
        # at a time they were ~250 small array operations per answer.
        blocks: dict[str, np.ndarray] = {"kw": kw, "units": units, "largest": largest}
        if self.coincidence:
            blocks["rss"] = rss
        if self.include_shares:
            with np.errstate(invalid="ignore", divide="ignore"):
                blocks["share"] = np.where(total_kw[:, None] > 0, kw / total_kw[:, None], 0.0)
        out: dict[str, Any] = {}
        has_eq = total_kw > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            out["total_kw"] = total_kw
            out["total_units"] = units.sum(axis=1)
            out["n_groups"] = (kw > 0).sum(axis=1).astype(float)
            out["largest_unit_kw"] = largest.max(axis=1) if len(self.categories_) else 0.0
            # The classical sheet applies K∑ only from two groups on, so adding a small
            # second group would LOWER its P30 by 10 %. The model's version applies K∑ to
            # every equipment list, which keeps it (and the base) monotone in every line.
            n_groups = (kw > 0).sum(axis=1)
            single = (n_groups == 1) & (eng_method == "demand_coefficient")
            kp = np.where(single, self.engineering_.k_sum_p, 1.0)
            kq = np.where(single, self.engineering_.k_sum_q, 1.0)
            p30 = eng_p30 * kp
            q30 = eng_q30 * kq
            out["eng_p30_kw"] = p30
            out["eng_s30_kva"] = np.sqrt(p30**2 + q30**2)
            area_base = np.where(
                eng_method == "area_density", p30 * self.row_area_multipliers(industry_raw), np.nan
            )
            zone_codes = _categorical_codes(climate_raw, self.climate_zones_)
            # Each category's part of the base, kept: the drivers split the base by them.
            base_parts = self.row_base_parts(industry_raw, kw, rss, zone_codes)
            listed_base = np.asarray(base_parts.sum(axis=1))
            out["base_kw"] = np.where(total_kw > 0, listed_base, area_base)
            if removed_agg is None:
                self._refuse_meter(meter)
            else:
                assert meter is not None
                removed_base = self.row_base_of(
                    industry_raw, removed_agg["kw"], removed_agg["rss"], zone_codes
                )
                self._metered_columns(
                    out, meter, listed_base, removed_base, removed_agg["kw"], industry_raw
                )
            out["floor_area_m2"] = area
            out["employees"] = employees
            out["shifts"] = shifts
            # Densities are undefined (NaN, which LightGBM treats as missing) without a
            # positive denominator, never zero or infinite.
            out["kw_per_m2"] = np.where(has_eq & (area > 0), total_kw / area, np.nan)
            out["kw_per_employee"] = np.where(
                has_eq & (employees > 0), total_kw / employees, np.nan
            )
            out["eng_kw_per_m2"] = np.where(area > 0, out["eng_p30_kw"] / area, np.nan)
        out["has_equipment"] = has_eq.astype(float)
        cats = {
            "industry": _categorical_codes(industry_raw, self.industries_),
            "climate_zone": zone_codes,
        }
        if metered:
            assert meter is not None
            cats[APPLICATION_TYPE_FEATURE] = application_type_codes(meter)
        # The float matrix LightGBM reads (categoricals as their codes, NaN if unknown),
        # filled once; the feature frame is a view of its numeric part plus categoricals.
        matrix = np.empty((n, len(self.feature_names_)))
        layout = self._matrix_layout()
        for block, (src, dst) in layout.blocks.items():
            matrix[:, dst] = blocks[block][:, src]
        for j, name in layout.others:
            if name in cats:
                codes = cats[name].astype(float)
                codes[codes < 0] = np.nan
                matrix[:, j] = codes
            else:
                matrix[:, j] = out[name]
        return BuiltFeatures(
            builder=self,
            ids=ids_list,
            matrix=matrix,
            codes=cats,
            engineering_frame=eng_frame,
            engineering_arrays=eng_arrays,
            base_parts=base_parts,
        )

    def _feature_positions(self) -> dict[str, int]:
        """Each feature's column in the matrix (once per fitted names; callers only read it)."""
        key = tuple(self.feature_names_)
        cached = self.__dict__.get("_feature_positions_cache")
        if cached is not None and cached[0] == key:
            return cast(dict[str, int], cached[1])
        position = {name: j for j, name in enumerate(self.feature_names_)}
        self.__dict__["_feature_positions_cache"] = (key, position)
        return position

    def _matrix_layout(self) -> _MatrixLayout:
        """Where each per-category block and each other feature sits in the matrix.

        Fixed by the fitted names: computed once per builder (refitting renames, so the
        names are the cache's key).
        """
        key = (tuple(self.feature_names_), tuple(self.categories_))
        cached = self.__dict__.get("_matrix_layout_cache")
        if cached is not None and cached[0] == key:
            return cast(_MatrixLayout, cached[1])
        position = {name: j for j, name in enumerate(self.feature_names_)}
        blocks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        placed: set[str] = set()
        for block in _CATEGORY_BLOCKS:
            pairs = [
                (i, position[f"{block}__{c}"])
                for i, c in enumerate(self.categories_)
                if f"{block}__{c}" in position
            ]
            if pairs:
                blocks[block] = (
                    np.array([i for i, _ in pairs], dtype=np.intp),
                    np.array([j for _, j in pairs], dtype=np.intp),
                )
                placed.update(f"{block}__{self.categories_[i]}" for i, _ in pairs)
        others = [(j, name) for j, name in enumerate(self.feature_names_) if name not in placed]
        layout = _MatrixLayout(blocks=blocks, others=others)
        self.__dict__["_matrix_layout_cache"] = (key, layout)
        return layout

    def _metered_columns(
        self,
        out: dict[str, Any],
        meter: MeterInputs,
        added_base: np.ndarray,
        removed_base: np.ndarray,
        kw_removed: np.ndarray,
        industry: np.ndarray,
    ) -> None:
        """The metered features, and the base of an existing customer: meter + change.

        The change is the added lines' base less the removed lines', each with the
        history's own demand factors (what the line adds to a peak, with diversity):
        ``added_base`` and ``removed_base`` from :meth:`row_base_of`.
        """
        has = meter.has_meter
        if not getattr(self, "metered_", False):
            self._refuse_meter(meter)
            return
        assert self.meter_fit_ is not None
        metered = self.meter_fit_.metered_kw(meter, industry)
        change = added_base - removed_base
        removed = kw_removed.sum(axis=1)
        out.update(metered_feature_values(meter, metered, change, removed))
        with np.errstate(invalid="ignore"):
            base = np.maximum(metered + change, MIN_REMAINING_SHARE * metered)
        out["base_kw"] = np.where(has & np.isfinite(base) & (base > 0), base, out["base_kw"])

    def _refuse_meter(self, meter: MeterInputs | None) -> None:
        """Raise if a model without the metered path is given meter readings."""
        if meter is None:
            return
        if not getattr(self, "metered_", False) and meter.has_meter.any():
            raise MeteredModelRequired(
                "this model was trained on a history without existing customers, so it "
                "cannot size from meter readings; train on a history with existing "
                "customers (capacity train --meter-readings FILE)"
            )

    def meter_state(self) -> dict[str, Any] | None:
        """The metered path's fitted state (``builder.json``), None without it."""
        if not getattr(self, "metered_", False) or self.meter_fit_ is None:
            return None
        return self.meter_fit_.to_state()

    def set_meter_state(self, state: dict[str, Any] | None) -> None:
        """Inverse of :meth:`meter_state` (a bundle without it has no metered path)."""
        self.metered_ = state is not None
        self.meter_fit_ = None if state is None else MeterFit.from_state(state)

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """The features as a float matrix for LightGBM: categoricals as their codes.

        LightGBM maps a pandas categorical to its code in the training categories; ours
        are fixed lists, so the codes are the same and the (much slower) pandas path of
        ``Booster.predict`` can be skipped. Unknown or missing categories become NaN.
        """
        self._check_fitted()
        cats = self.categorical_features_
        numeric = [n for n in self.feature_names_ if n not in cats]
        out = np.empty(features.shape, dtype=float)
        num_idx = [j for j, n in enumerate(self.feature_names_) if n not in cats]
        if (
            num_idx == list(range(len(num_idx)))
            and list(features.columns[: len(num_idx)]) == numeric
        ):
            # The usual layout (categoricals last): a positional slice is a cheap view.
            out[:, : len(num_idx)] = features.iloc[:, : len(num_idx)].to_numpy(dtype=float)
        else:
            out[:, num_idx] = features[numeric].to_numpy(dtype=float)
        for j, name in enumerate(self.feature_names_):
            if name in cats:
                codes = np.asarray(features[name].cat.codes, dtype=float)
                codes[codes < 0] = np.nan
                out[:, j] = codes
        return out

    def row_base_weights(self, industry: pd.Series | np.ndarray | list[str]) -> np.ndarray:
        """Base weights (kW of peak per installed kW, per category) for each row's industry."""
        lookup, _ = _category_lookup(tuple(self.industries_))
        idx = np.array([lookup.get(str(i), -1) for i in np.asarray(industry, dtype=object)])
        return self.base_weights_[np.where(idx >= 0, idx, len(self.industries_))]

    def row_coincidence_weights(self, industry: pd.Series | np.ndarray | list[str]) -> np.ndarray:
        """Coincidence weights (per kW of root-sum-square rating) for each row's industry."""
        lookup, _ = _category_lookup(tuple(self.industries_))
        idx = np.array([lookup.get(str(i), -1) for i in np.asarray(industry, dtype=object)])
        weights = getattr(self, "coincidence_weights_", None)
        if weights is None:
            return np.zeros((len(idx), len(self.categories_)))
        return np.asarray(weights[np.where(idx >= 0, idx, len(self.industries_))])

    def _zone_multipliers(self) -> np.ndarray:
        """The cooling multiplier per zone code, last for unknown (all 1 if not fitted)."""
        own = getattr(self, "zone_cooling_multipliers_", None)
        return np.ones(len(self.climate_zones_) + 1) if own is None else np.asarray(own)

    def _zone_scale(self, zone: np.ndarray | None) -> np.ndarray:
        """``(n, C)`` per row and category: the zone's multiplier on cooling, 1 elsewhere."""
        n_cat = len(self.categories_)
        if zone is None or not getattr(self, "climate_cooling", False):
            return np.ones((1, n_cat))
        zone = np.asarray(zone, dtype=np.int64)
        mult = self._zone_multipliers()[np.where(zone >= 0, zone, len(self.climate_zones_))]
        cooling = _cooling_mask(tuple(self.categories_))
        return np.where(cooling[None, :], mult[:, None], 1.0)

    def row_base_parts(
        self,
        industry: pd.Series | np.ndarray | list[str],
        kw: np.ndarray,
        rss: np.ndarray | None,
        zone: np.ndarray | None = None,
    ) -> np.ndarray:
        """``(n, C)`` each category's part of the base: ``(w_c · kW_c + v_c · rss_c) · g``.

        ``g`` is the row's climate zone's cooling multiplier on the cooling categories
        (``zone``: codes in ``climate_zones_``, -1 unknown; None or not fitted: 1).
        """
        parts = kw * self.row_base_weights(industry)
        if rss is not None and getattr(self, "coincidence", False):
            parts = parts + rss * self.row_coincidence_weights(industry)
        return np.asarray(parts * self._zone_scale(zone))

    def row_base_of(
        self,
        industry: pd.Series | np.ndarray | list[str],
        kw: np.ndarray,
        rss: np.ndarray | None,
        zone: np.ndarray | None = None,
    ) -> np.ndarray:
        """The equipment base of each row (:meth:`row_base_parts` summed over categories)."""
        return np.asarray(self.row_base_parts(industry, kw, rss, zone).sum(axis=1))

    def row_area_multipliers(self, industry: np.ndarray) -> np.ndarray:
        """Fitted multiplier of the design density for each row's industry (pooled if unseen)."""
        own = getattr(self, "area_multipliers_", {})
        pooled = self.area_multiplier_
        if not own:
            return np.full(len(industry), pooled)
        return np.array([own.get(str(i), pooled) for i in industry], dtype=float)

    def base_kw(self, features: pd.DataFrame) -> np.ndarray:
        """The base of the target: the fitted-demand-factor estimate, else the industry median."""
        self._check_fitted()
        return self.base_kw_of(
            features["base_kw"].to_numpy(dtype=float),
            features["industry"].astype(str).to_numpy(),
        )

    def base_kw_of(self, base: np.ndarray, industry: np.ndarray) -> np.ndarray:
        """:meth:`base_kw` from the ``base_kw`` feature and the industry (as text) per row."""
        fallback = np.array(
            [self.industry_fallback_kw_.get(i, self.global_fallback_kw_) for i in industry],
            dtype=float,
        )
        ok = np.isfinite(base) & (base > 0)
        return np.where(ok, base, fallback)

    def base_source(self, features: pd.DataFrame) -> np.ndarray:
        """Which estimate the base came from: equipment, area or industry (per row)."""
        return base_source_of(
            features["base_kw"].to_numpy(dtype=float),
            features["has_equipment"].to_numpy(dtype=float),
            features["has_meter"].to_numpy(dtype=float) if "has_meter" in features else None,
        )

    def feature_groups(self) -> dict[str, str]:
        """Map each feature to a human group (equipment category, floor area, shifts…)."""
        self._check_fitted()
        groups: dict[str, str] = {}
        for name in self.feature_names_:
            if "__" in name:
                groups[name] = f"category:{name.split('__', 1)[1]}"
            elif name in {"floor_area_m2", "kw_per_m2", "eng_kw_per_m2"}:
                groups[name] = "floor_area"
            elif name in {"employees", "kw_per_employee"}:
                groups[name] = "employees"
            elif name in {
                "total_kw",
                "total_units",
                "n_groups",
                "largest_unit_kw",
                "has_equipment",
            }:
                groups[name] = "equipment_size"
            elif name in {"eng_p30_kw", "eng_s30_kva", "base_kw"}:
                groups[name] = "engineering_estimate"
            elif name in {"change_kw", "removed_kw"}:
                groups[name] = "change"
            elif name in METERED_FEATURES or name == APPLICATION_TYPE_FEATURE:
                groups[name] = "meter"
            else:
                groups[name] = name
        return groups


def catalog_for(builder: FeatureBuilder) -> Catalog:
    """The catalog a fitted builder expects (the packaged one, version-checked)."""
    catalog = load_catalog()
    if catalog.version != builder.catalog_version_:
        raise RuntimeError(
            f"catalog version mismatch: the model was built with catalog "
            f"{builder.catalog_version_}, this installation has {catalog.version}"
        )
    return catalog
