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
(:func:`fit_demand_factors`). Area-only applications use the area-density estimate times
a fitted multiplier; applications with neither use the industry median. The trees then
learn *corrections* to a physically shaped estimate in a narrow, well-scaled range, the
prediction scales with the installation beyond the training range, and a history whose
real utilisation differs from the catalog's Kx (any utility's) is learned rather than
fought: the base stays monotone in every category's kW because ``m_c ≥ 0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from features.catalog import Catalog, load_catalog
from features.contract import CLIMATE_ZONES
from features.engineering import EngineeringConfig, engineering_estimate_frame
from features.schemas import Application

EXCLUDED_CATEGORIES = ("fire_pump",)
"""Categories that never run in normal operation and never count towards demand."""

FEATURE_SPEC_VERSION = 3
"""Bumped whenever the meaning or order of features changes; checked when a bundle loads."""


@dataclass
class HistoryFrames:
    """A pair of clean contract frames: one row per customer, one row per equipment line."""

    customers: pd.DataFrame
    equipment: pd.DataFrame

    def __len__(self) -> int:
        return len(self.customers)


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

    # Columns are built as typed arrays: for one application, pandas' own inference and
    # astype cost more than everything else here.
    customers = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="str"),
            "industry": pd.array([a.industry for a in applications], dtype="str"),
            "climate_zone": pd.array([a.climate_zone for a in applications], dtype="str"),
            "floor_area_m2": numbers([a.floor_area_m2 for a in applications]),
            "employees": numbers([a.employees for a in applications]),
            "shifts": numbers([a.shifts for a in applications]),
        }
    )
    cols: dict[str, list[Any]] = {
        c: [] for c in ("customer_id", "category", "rated_kw", "quantity", "standby", "name")
    }
    k = 0
    for cid, app in zip(ids, applications, strict=True):
        for item in app.equipment:
            cat = categories[k] if categories is not None else item.category
            k += 1
            if cat is None:
                continue
            cols["customer_id"].append(cid)
            cols["category"].append(cat)
            cols["rated_kw"].append(item.rated_kw)
            cols["quantity"].append(item.quantity)
            cols["standby"].append(item.standby)
            cols["name"].append(item.name or "")
    equipment = pd.DataFrame(
        {
            "customer_id": pd.array(cols["customer_id"], dtype="str"),
            "category": pd.array(cols["category"], dtype="str"),
            "rated_kw": np.array(cols["rated_kw"], dtype=float),
            "quantity": np.array(cols["quantity"], dtype=np.int64),
            "standby": np.array(cols["standby"], dtype=bool),
            "name": pd.array(cols["name"], dtype="str"),
        }
    )
    return HistoryFrames(customers=customers, equipment=equipment)


def _aggregate_equipment(
    customer_ids: pd.Index, equipment: pd.DataFrame, categories: Sequence[str]
) -> dict[str, np.ndarray]:
    """Per customer × category: non-standby kW, unit count and largest unit (numpy only)."""
    n_cust, n_cat = len(customer_ids), len(categories)
    kw = np.zeros((n_cust, n_cat))
    units = np.zeros((n_cust, n_cat))
    largest = np.zeros((n_cust, n_cat))
    standby_kw = np.zeros(n_cust)
    if len(equipment):
        cust_idx = customer_ids.get_indexer(equipment["customer_id"])
        cat_idx = pd.Index(categories).get_indexer(equipment["category"])
        rated = equipment["rated_kw"].to_numpy(dtype=float)
        qty = equipment["quantity"].to_numpy(dtype=float)
        standby = equipment["standby"].to_numpy(dtype=bool)
        known = cust_idx >= 0
        # Standby spares and excluded categories (fire pumps) never run in normal operation.
        running = known & (cat_idx >= 0) & ~standby
        spare = known & ~running
        np.add.at(standby_kw, cust_idx[spare], (rated * qty)[spare])
        flat = cust_idx[running] * n_cat + cat_idx[running]
        np.add.at(kw.reshape(-1), flat, (rated * qty)[running])
        np.add.at(units.reshape(-1), flat, qty[running])
        np.maximum.at(largest.reshape(-1), flat, rated[running])
    return {"kw": kw, "units": units, "largest": largest, "standby_kw": standby_kw}


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
    from scipy.optimize import nnls

    n_cat = demand_kw.shape[1]
    total = demand_kw.sum(axis=1)
    peak = np.asarray(peak_kw, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = peak / total
    ok = np.isfinite(ratio) & (ratio > 0) & (total > 0)
    if ok.sum() < 10:
        return np.ones(n_cat) if prior is None else np.asarray(prior, dtype=float)
    m0 = float(np.median(ratio[ok]))
    target = np.full(n_cat, m0) if prior is None else np.asarray(prior, dtype=float)
    keep = ok & (ratio > m0 / 10.0) & (ratio < m0 * 10.0)
    rows = demand_kw[keep] / peak[keep, None]
    prior = np.sqrt(prior_rows) * np.eye(n_cat)
    a = np.vstack([rows, prior])
    b = np.concatenate([np.ones(int(keep.sum())), np.sqrt(prior_rows) * target])
    m, _ = nnls(a, b, maxiter=50 * n_cat)
    return np.asarray(m, dtype=float)


def _categorical(values: pd.Series, categories: list[str]) -> pd.Categorical:
    """Fixed-category categorical; unknown or missing values become missing (code -1).

    ``from_codes`` with codes from a dict lookup is much faster than letting pandas infer
    codes from (arrow) strings, and gives the same result.
    """
    lookup, dtype = _category_lookup(tuple(categories))
    raw = values.to_numpy(dtype=object, na_value=None)
    codes = np.fromiter((lookup.get(v, -1) for v in raw), dtype=np.int64, count=len(raw))
    return pd.Categorical.from_codes(codes, dtype=dtype)


@lru_cache(maxsize=16)
def _category_lookup(categories: tuple[str, ...]) -> tuple[dict[str, int], pd.CategoricalDtype]:
    """Code lookup and dtype of a fixed category list (validated once, not per call)."""
    return {c: i for i, c in enumerate(categories)}, pd.CategoricalDtype(list(categories))


class FeatureBuilder(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Build model features from contract frames.

    Parameters
    ----------
    engineering
        Configuration of the demand-coefficient method whose estimate is both a feature
        and the base of the target.
    include_shares
        Add each category's share of installed kW. Off by default: shares fall when
        another category grows, which breaks the monotone guarantee.
    """

    def __init__(
        self,
        engineering: EngineeringConfig | None = None,
        include_shares: bool = False,
        min_industry_rows: int = 100,
    ) -> None:
        self.engineering = engineering
        self.include_shares = include_shares
        self.min_industry_rows = min_industry_rows

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X: HistoryFrames, y: Any = None) -> FeatureBuilder:
        """Record the catalog, the feature list and the fallback base per industry."""
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
            "industry",
            "climate_zone",
        ]
        self.feature_names_ = cols
        self.categorical_features_ = ["industry", "climate_zone"]
        # Fallback base for applications with neither equipment nor floor area.
        self.industry_fallback_kw_: dict[str, float] = {}
        self.global_fallback_kw_ = 100.0
        kx = _kx_vector(self.categories_, self.engineering_.kx_choice)
        # Base weights (kW of peak per installed kW): one row per industry, last row for
        # all industries. Without labels: the classical Kx · K∑p everywhere.
        self.base_weights_ = np.tile(kx * self.engineering_.k_sum_p, (len(self.industries_) + 1, 1))
        self.area_multiplier_ = 1.0
        if y is not None:
            peak_arr = np.asarray(y, dtype=float)
            peak = pd.Series(peak_arr, index=X.customers.index)
            med = peak.groupby(X.customers["industry"].astype(str)).median()
            self.industry_fallback_kw_ = {str(k): float(v) for k, v in med.items()}
            self.global_fallback_kw_ = float(np.nanmedian(peak))
            ids = pd.Index(X.customers["customer_id"].astype(str))
            kw = _aggregate_equipment(ids, X.equipment, self.categories_)["kw"]
            demand = kw * kx
            overall = fit_demand_factors(demand, peak_arr)
            self.base_weights_[-1] = kx * overall
            # Per industry, shrunk towards the all-industry factors: a machine tool in a
            # machinery plant does not run like one in a school workshop.
            industry = X.customers["industry"].astype(str).to_numpy()
            for j, code in enumerate(self.industries_):
                rows = industry == code
                if rows.sum() >= self.min_industry_rows:
                    factors = fit_demand_factors(demand[rows], peak_arr[rows], prior=overall)
                    self.base_weights_[j] = kx * factors
                else:
                    self.base_weights_[j] = kx * overall
            eng = engineering_estimate_frame(X.equipment, X.customers, self.engineering_)
            area_p30 = eng.reindex(ids)["eng_p30_kw"].to_numpy(dtype=float)
            area_rows = (kw.sum(axis=1) <= 0) & np.isfinite(area_p30) & (area_p30 > 0)
            if area_rows.sum() >= 10:
                self.area_multiplier_ = float(np.median(peak_arr[area_rows] / area_p30[area_rows]))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_"):
            raise RuntimeError("FeatureBuilder is not fitted: call fit() before transform()")

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
        self._check_fitted()
        customers = X.customers
        ids = pd.Index(customers["customer_id"].astype(str))
        agg = _aggregate_equipment(ids, X.equipment, self.categories_)
        kw, units, largest = agg["kw"], agg["units"], agg["largest"]
        total_kw = kw.sum(axis=1)
        out: dict[str, Any] = {}
        for j, c in enumerate(self.categories_):
            out[f"kw__{c}"] = kw[:, j]
            out[f"units__{c}"] = units[:, j]
            out[f"largest__{c}"] = largest[:, j]
        if self.include_shares:
            with np.errstate(invalid="ignore", divide="ignore"):
                shares = np.where(total_kw[:, None] > 0, kw / total_kw[:, None], 0.0)
            for j, c in enumerate(self.categories_):
                out[f"share__{c}"] = shares[:, j]
        eng = engineering_estimate_frame(X.equipment, customers, self.engineering_)
        eng = eng.reindex(ids)
        area = customers["floor_area_m2"].to_numpy(dtype=float)
        employees = customers["employees"].to_numpy(dtype=float)
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
            single = (n_groups == 1) & (eng["eng_method"].to_numpy() == "demand_coefficient")
            kp = np.where(single, self.engineering_.k_sum_p, 1.0)
            kq = np.where(single, self.engineering_.k_sum_q, 1.0)
            p30 = eng["eng_p30_kw"].to_numpy(dtype=float) * kp
            q30 = eng["eng_q30_kvar"].to_numpy(dtype=float) * kq
            out["eng_p30_kw"] = p30
            out["eng_s30_kva"] = np.sqrt(p30**2 + q30**2)
            area_base = np.where(
                eng["eng_method"].to_numpy() == "area_density", p30 * self.area_multiplier_, np.nan
            )
            weights = self.row_base_weights(customers["industry"])
            out["base_kw"] = np.where(total_kw > 0, (kw * weights).sum(axis=1), area_base)
            out["floor_area_m2"] = area
            out["employees"] = employees
            out["shifts"] = customers["shifts"].to_numpy(dtype=float)
            # Densities are undefined (NaN, which LightGBM treats as missing) without a
            # positive denominator, never zero or infinite.
            out["kw_per_m2"] = np.where(has_eq & (area > 0), total_kw / area, np.nan)
            out["kw_per_employee"] = np.where(
                has_eq & (employees > 0), total_kw / employees, np.nan
            )
            out["eng_kw_per_m2"] = np.where(area > 0, out["eng_p30_kw"] / area, np.nan)
        out["has_equipment"] = has_eq.astype(float)
        out["industry"] = _categorical(customers["industry"], self.industries_)
        out["climate_zone"] = _categorical(customers["climate_zone"], self.climate_zones_)
        # One float block plus the categoricals: building a frame column by column costs
        # more than the rest of the transform for a single application.
        numeric = [n for n in self.feature_names_ if n not in self.categorical_features_]
        block = np.empty((len(ids), len(numeric)))
        for j, name in enumerate(numeric):
            block[:, j] = out[name]
        frame = pd.DataFrame(block, index=ids, columns=numeric)
        for name in self.categorical_features_:
            frame[name] = out[name]
        if list(frame.columns) != self.feature_names_:
            frame = frame[self.feature_names_]
        return frame, eng

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

    def base_kw(self, features: pd.DataFrame) -> np.ndarray:
        """The base of the target: the fitted-demand-factor estimate, else the industry median."""
        self._check_fitted()
        base = features["base_kw"].to_numpy(dtype=float)
        industry = features["industry"].astype(str).to_numpy()
        fallback = np.array(
            [self.industry_fallback_kw_.get(i, self.global_fallback_kw_) for i in industry],
            dtype=float,
        )
        ok = np.isfinite(base) & (base > 0)
        return np.where(ok, base, fallback)

    def base_source(self, features: pd.DataFrame) -> np.ndarray:
        """Which estimate the base came from: equipment, area or industry (per row)."""
        base = features["base_kw"].to_numpy(dtype=float)
        has_eq = features["has_equipment"].to_numpy(dtype=float) > 0
        ok = np.isfinite(base) & (base > 0)
        return np.where(has_eq & ok, "equipment", np.where(ok, "area", "industry"))

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
