"""What an existing customer's meter says: monthly readings summarised once, for every path.

An existing customer (增容 / 减容 / 暂停) brings the monthly energy of the 12 (at least 3)
months before its application, and on a demand meter each month's highest 15-minute demand
(``meter_readings.csv`` of the contract, the page's bill form, the API's
``meter_readings``). The model does not read months: it reads the summary
:func:`summarise_readings` makes of them, the same function for a history (validation
attaches the summary to the customers frame) and for one application
(:func:`features.build.frames_from_applications`), so training and serving cannot differ.

Why these figures. The peak a transformer must carry is a short event; monthly energy
only tells the mean. The mean over the metered months (``meter_mean_kw``) is what the
peak-from-energy relation starts from (Velander's law, peak = a·E + b·√E, and its modern
quantile versions fitted on new non-residential connections: Shi, Heres and Tindemans,
2025); the busiest month's mean (``meter_max_month_kw``) carries the seasonal swing a
yearly mean hides (a cooling-dominated building's July); a demand meter's maximum
(``meter_max_demand_kw``) is the peak itself, sampled. Months of zero (a shutdown) and a
partial month (a meter changed mid-month) lower the mean, not the busiest month, which is
why both are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

METER_SUMMARY_COLUMNS: tuple[str, ...] = (
    "meter_months",
    "meter_energy_kwh",
    "meter_mean_kw",
    "meter_max_month_kw",
    "meter_max_demand_kw",
    "meter_demand_months",
)
"""The per-customer summary of the readings (NaN for a customer without readings)."""


def parse_periods(period: Sequence[str] | np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Year and month of each ``YYYY-MM`` text (``-1`` where the text is not such a month).

    ``2026-7`` and ``2026/07`` are refused: the contract's format is ``YYYY-MM``, and a
    period read two ways would count a month twice.
    """
    text = pd.Series(np.asarray(period, dtype=object)).astype("str").str.strip()
    parts = text.str.extract(r"^(\d{4})-(\d{2})$")
    year = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    month = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(year) & np.isfinite(month) & (month >= 1) & (month <= 12) & (year >= 1900)
    ok &= year <= 2200
    return np.where(ok, year, -1).astype(np.int64), np.where(ok, month, -1).astype(np.int64)


def hours_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Hours of each (year, month); NaN where the month is invalid (``-1``)."""
    year = np.asarray(year, dtype=np.int64)
    month = np.asarray(month, dtype=np.int64)
    ok = (month >= 1) & (month <= 12)
    start = np.array(
        [f"{y:04d}-{m:02d}" if k else "2000-01" for y, m, k in zip(year, month, ok, strict=True)],
        dtype="datetime64[M]",
    )
    days = ((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(float)
    return np.where(ok, days * 24.0, np.nan)


def summarise_readings(
    customer_pos: np.ndarray,
    n_customers: int,
    hours: np.ndarray,
    energy_kwh: np.ndarray,
    max_demand_kw: np.ndarray,
) -> dict[str, np.ndarray]:
    """The summary of :data:`METER_SUMMARY_COLUMNS` per customer, from valid readings.

    Parameters
    ----------
    customer_pos
        Row of each reading's customer (``0 .. n_customers-1``).
    n_customers
        Customers to summarise (those without readings get NaN and 0 months).
    hours
        Hours of each reading's month (:func:`hours_in_month`).
    energy_kwh, max_demand_kw
        The month's energy and maximum demand (NaN where no demand meter).
    """
    pos = np.asarray(customer_pos, dtype=np.int64)
    hours = np.asarray(hours, dtype=float)
    energy = np.asarray(energy_kwh, dtype=float)
    demand = np.asarray(max_demand_kw, dtype=float)
    months = np.bincount(pos, minlength=n_customers).astype(float)
    total_energy = np.bincount(pos, weights=energy, minlength=n_customers)
    total_hours = np.bincount(pos, weights=hours, minlength=n_customers)
    month_mean = energy / hours
    max_month = np.full(n_customers, -np.inf)
    np.maximum.at(max_month, pos, month_mean)
    has_demand = np.isfinite(demand)
    demand_months = np.bincount(pos[has_demand], minlength=n_customers).astype(float)
    max_demand = np.full(n_customers, -np.inf)
    np.maximum.at(max_demand, pos[has_demand], demand[has_demand])
    read = months > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_kw = np.where(read, total_energy / total_hours, np.nan)
    return {
        "meter_months": months,
        "meter_energy_kwh": np.where(read, total_energy, np.nan),
        "meter_mean_kw": mean_kw,
        "meter_max_month_kw": np.where(read, max_month, np.nan),
        "meter_max_demand_kw": np.where(demand_months > 0, max_demand, np.nan),
        "meter_demand_months": demand_months,
    }


def summarise_frame(readings: pd.DataFrame, customer_ids: pd.Index) -> pd.DataFrame:
    """:func:`summarise_readings` of clean readings, one row per id of ``customer_ids``."""
    pos = customer_ids.get_indexer(readings["customer_id"].astype(str))
    keep = pos >= 0
    year, month = parse_periods(readings["period"].to_numpy()[keep])
    summary = summarise_readings(
        pos[keep],
        len(customer_ids),
        hours_in_month(year, month),
        readings["energy_kwh"].to_numpy(dtype=float)[keep],
        readings["max_demand_kw"].to_numpy(dtype=float, na_value=np.nan)[keep],
    )
    return pd.DataFrame(summary, index=customer_ids)
