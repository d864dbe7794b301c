"""The metered part of an existing customer's peak: its inputs, features and fitted ratios.

For an existing customer (增容 / 减容 / 暂停) the peak after the application is the metered
part plus the change (:class:`features.build.FeatureBuilder` adds the change from the
equipment lines with the history's own demand factors, so the added load carries the
diversity a new customer's load carries). The metered part is:

* with a demand meter, the highest monthly maximum demand times a growth allowance
  learned per industry (the next twelve months' peak over the last twelve months' maximum);
* with energy only, the mean demand over the metered months times a peak-over-mean ratio
  learned per industry (the per-type ratio of a ten-line estimate, but fitted on the
  history and shrunk towards all industries by the data behind it, empirical Bayes).

The boosted model then learns corrections from the meter's shape (busiest month over the
mean, load factor, months metered, the capacity in service) as it learns them for new
applications, and the conformal calibration keeps metered customers in groups of their own
(:func:`serving.model.calibration.conformal_group`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.contract import APPLICATION_TYPES, DEFAULT_APPLICATION_TYPE, DEFAULT_SIZING
from features.metering import METER_SUMMARY_COLUMNS
from features.shrinkage import shrink_log_location

METERED_FEATURES: tuple[str, ...] = (
    "has_meter",
    "meter_mean_kw",
    "meter_max_month_kw",
    "meter_max_demand_kw",
    "meter_months",
    "meter_load_factor",
    "meter_month_swing",
    "metered_kw",
    "change_kw",
    "removed_kw",
    "existing_capacity_kva",
    "meter_load_rate",
)
"""Numeric features a builder fitted on existing customers adds (NaN for new ones)."""
APPLICATION_TYPE_FEATURE = "application_type"
"""The categorical feature a builder fitted on existing customers adds."""
MIN_METERED_ROWS = 10
"""Fewest existing customers with readings a history needs for the metered path: below,
the model is fitted without it and refuses existing customers with a clear message."""
MIN_REMAINING_SHARE = 0.2
"""When the change is subtracted from a label to fit the metered ratio, at least this share
of the peak is kept (a removal larger than the peak is not evidence about the meter)."""


class MeteredModelRequired(ValueError):
    """An existing customer's readings sent to a model fitted without existing customers."""


@dataclass
class MeterInputs:
    """What a customer row says about its meter (NaN / ``new`` where nothing)."""

    application_type: np.ndarray
    existing_capacity_kva: np.ndarray
    summary: dict[str, np.ndarray]

    @property
    def has_meter(self) -> np.ndarray:
        """Rows with at least one reading (an existing customer sized from its meter)."""
        return np.asarray(np.nan_to_num(self.summary["meter_months"]) > 0, dtype=bool)

    @classmethod
    def from_customers(cls, customers: pd.DataFrame) -> MeterInputs:
        """The inputs of a customers frame (columns absent: a new-connections history)."""
        n = len(customers)
        kind = (
            customers["application_type"].fillna(DEFAULT_APPLICATION_TYPE).astype(str).to_numpy()
            if "application_type" in customers
            else np.full(n, DEFAULT_APPLICATION_TYPE, dtype=object)
        )
        cap = (
            customers["existing_capacity_kva"].to_numpy(dtype=float, na_value=np.nan)
            if "existing_capacity_kva" in customers
            else np.full(n, np.nan)
        )
        summary = {
            c: customers[c].to_numpy(dtype=float, na_value=np.nan)
            if c in customers
            else np.full(n, np.nan)
            for c in METER_SUMMARY_COLUMNS
        }
        summary["meter_months"] = np.nan_to_num(summary["meter_months"])
        return cls(np.asarray(kind, dtype=object), cap, summary)


@dataclass
class MeterFit:
    """Growth allowance (demand meters) and peak-over-mean ratio (energy) per industry."""

    demand_log_ratio: dict[str, float]
    demand_pooled: float
    energy_log_ratio: dict[str, float]
    energy_pooled: float
    energy_slope: float = 0.0
    """d log(peak/mean) / d log(mean), one for all industries: a small customer's peak sits
    further above its mean than a large one's (fewer loads to diversify; Velander's
    peak = a·E + b·√E in log form). Fitted robustly on the history, 0 without evidence."""
    energy_centre: float = 0.0
    """The log mean demand at which ``energy_log_ratio`` holds."""

    @classmethod
    def fit(cls, inputs: MeterInputs, industry: np.ndarray, metered_peak: np.ndarray) -> MeterFit:
        """Fit on existing customers: ``metered_peak`` is the label less the change."""
        s = inputs.summary
        demand = s["meter_max_demand_kw"]
        mean = s["meter_mean_kw"]
        with np.errstate(invalid="ignore", divide="ignore"):
            log_d = np.log(metered_peak / demand)
            log_e = np.log(metered_peak / mean)
        d_ok = np.isfinite(log_d)
        e_ok = np.isfinite(log_e)
        if e_ok.sum() < MIN_METERED_ROWS:
            raise ValueError(
                f"the metered path needs at least {MIN_METERED_ROWS} existing customers with a "
                f"positive mean load, received {int(e_ok.sum())}"
            )
        log_mean = np.log(np.where(e_ok, mean, 1.0))
        centre = float(np.median(log_mean[e_ok]))
        slope = _robust_slope(log_mean[e_ok] - centre, log_e[e_ok], industry[e_ok])
        energy = shrink_log_location(
            log_e[e_ok] - slope * (log_mean[e_ok] - centre), industry[e_ok]
        )
        if d_ok.sum() >= MIN_METERED_ROWS:
            dem = shrink_log_location(log_d[d_ok], industry[d_ok])
            d_est, d_pooled = dem.estimate, dem.pooled
        else:
            # Too few demand meters to learn their allowance: their months' energy is
            # used instead (the ratio below), never a figure assumed here.
            d_est, d_pooled = {}, float("nan")
        return cls(d_est, d_pooled, energy.estimate, energy.pooled, slope, centre)

    def metered_kw(self, inputs: MeterInputs, industry: np.ndarray) -> np.ndarray:
        """The metered part of the peak per row (NaN for rows without readings)."""
        s = inputs.summary
        ind = [str(i) for i in industry]
        log_d = np.array([self.demand_log_ratio.get(i, self.demand_pooled) for i in ind])
        log_e = np.array([self.energy_log_ratio.get(i, self.energy_pooled) for i in ind])
        with np.errstate(invalid="ignore"):
            by_demand = s["meter_max_demand_kw"] * np.exp(log_d)
            log_mean = np.log(s["meter_mean_kw"])
            by_energy = s["meter_mean_kw"] * np.exp(
                log_e + self.energy_slope * (log_mean - self.energy_centre)
            )
        out = np.where(np.isfinite(by_demand) & (by_demand > 0), by_demand, by_energy)
        return np.where(inputs.has_meter, out, np.nan)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready state (bundle ``builder.json``)."""
        return {
            "demand_log_ratio": self.demand_log_ratio,
            "demand_pooled": None if not np.isfinite(self.demand_pooled) else self.demand_pooled,
            "energy_log_ratio": self.energy_log_ratio,
            "energy_pooled": self.energy_pooled,
            "energy_slope": self.energy_slope,
            "energy_centre": self.energy_centre,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MeterFit:
        """Inverse of :meth:`to_state`."""
        pooled = state.get("demand_pooled")
        return cls(
            {k: float(v) for k, v in state["demand_log_ratio"].items()},
            float("nan") if pooled is None else float(pooled),
            {k: float(v) for k, v in state["energy_log_ratio"].items()},
            float(state["energy_pooled"]),
            float(state.get("energy_slope", 0.0)),
            float(state.get("energy_centre", 0.0)),
        )


def _robust_slope(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """Theil-Sen slope of ``y`` on ``x`` within groups (both centred per group).

    Robust to the outliers a utility's meter data has (a meter change, a shutdown month),
    and 0 when there is no spread in ``x`` to learn from.
    """
    xs, ys = x.astype(float).copy(), y.astype(float).copy()
    for g in np.unique(groups):
        rows = groups == g
        xs[rows] -= np.median(xs[rows])
        ys[rows] -= np.median(ys[rows])
    if len(xs) < MIN_METERED_ROWS or np.ptp(xs) <= 0:
        return 0.0
    rng = np.random.default_rng(0)
    i = rng.integers(0, len(xs), 4000)
    j = rng.integers(0, len(xs), 4000)
    dx = xs[i] - xs[j]
    keep = np.abs(dx) > 1e-6
    if keep.sum() < MIN_METERED_ROWS:
        return 0.0
    return float(np.median((ys[i] - ys[j])[keep] / dx[keep]))


def metered_feature_values(
    inputs: MeterInputs, metered_kw: np.ndarray, change_kw: np.ndarray, removed_kw: np.ndarray
) -> dict[str, np.ndarray]:
    """The numeric :data:`METERED_FEATURES` per row (NaN where a row has no meter)."""
    s = inputs.summary
    has = inputs.has_meter
    cap = inputs.existing_capacity_kva
    with np.errstate(invalid="ignore", divide="ignore"):
        measured = np.where(
            np.isfinite(s["meter_max_demand_kw"]), s["meter_max_demand_kw"], s["meter_max_month_kw"]
        )
        values = {
            "has_meter": has.astype(float),
            "meter_mean_kw": s["meter_mean_kw"],
            "meter_max_month_kw": s["meter_max_month_kw"],
            "meter_max_demand_kw": s["meter_max_demand_kw"],
            "meter_months": np.where(has, s["meter_months"], np.nan),
            "meter_load_factor": s["meter_mean_kw"] / s["meter_max_demand_kw"],
            "meter_month_swing": s["meter_max_month_kw"] / s["meter_mean_kw"],
            "metered_kw": metered_kw,
            "change_kw": np.where(has, change_kw, np.nan),
            "removed_kw": np.where(has, removed_kw, np.nan),
            "existing_capacity_kva": cap,
            "meter_load_rate": measured / (cap * DEFAULT_SIZING.power_factor),
        }
    return {k: np.where(has & np.isfinite(v), v, np.nan) for k, v in values.items()}


def application_type_codes(inputs: MeterInputs) -> np.ndarray:
    """Codes of the application type in :data:`features.contract.APPLICATION_TYPES`."""
    lookup = {t: i for i, t in enumerate(APPLICATION_TYPES)}
    return np.fromiter(
        (lookup.get(str(t), -1) for t in inputs.application_type),
        dtype=np.int64,
        count=len(inputs.application_type),
    )
