"""Pilot statistics: how the logged recommendations fared against metered peaks.

Input is the frame of :func:`training.pilot.log_frame.joined_frame` (one row per
recommendation with its latest outcome). For the model's ``recommended_kva`` and, on the
same customers, the applicant's own proposal (``status_quo_kva``, where given) and the
demand-coefficient method (``engineering_kva``), the contract's sizing definition
(:func:`features.contract.sizing_outcome` on the metered peak) gives the sizing accuracy
with its undersized and oversized shares, and a Wilson score interval because a pilot is
small (the contract's example: 100 enterprises).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.contract import (
    DEFAULT_SIZING,
    SIZING_ACCURACY_TARGET,
    SizingDefinition,
    load_rate,
    sizing_outcome,
)
from training.reports.stats import wilson_interval

__all__ = [
    "ACCURACY_TARGET",
    "METHOD_LABELS",
    "MethodMetrics",
    "PilotMetrics",
    "pilot_metrics",
    "top_drivers",
    "wilson_interval",
]

METHOD_LABELS: dict[str, str] = {
    "model": "Model",
    "status_quo": "Status quo (applicant's proposal)",
    "model_on_status_quo": "Model, same customers as status quo",
    "engineering": "Engineering (demand coefficient)",
}
_CAPACITY_COLUMNS: dict[str, str] = {
    "model": "recommended_kva",
    "status_quo": "status_quo_kva",
    "engineering": "engineering_kva",
}
REQUIRED_COLUMNS: tuple[str, ...] = (
    "id",
    "industry",
    "recommended_kva",
    "metered_peak_kw",
    "status_quo_kva",
    "engineering_kva",
)
ACCURACY_TARGET = SIZING_ACCURACY_TARGET
"""The contract's target sizing accuracy, drawn on the accuracy chart."""


# --------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodMetrics:
    """Sizing results of one capacity method on the customers where it gave a capacity.

    Shares and interval are NaN when ``n`` is 0.
    """

    method: str
    n: int
    appropriate: int
    undersized: int
    oversized: int
    confidence: float
    ci_low: float
    ci_high: float

    @property
    def label(self) -> str:
        """Human-readable name of the method."""
        return METHOD_LABELS.get(self.method, self.method)

    @property
    def accuracy(self) -> float:
        """Share appropriately sized (0.40 <= load rate <= 1.00 by default)."""
        return self.appropriate / self.n if self.n else math.nan

    @property
    def undersized_share(self) -> float:
        """Share whose metered peak overloads the capacity."""
        return self.undersized / self.n if self.n else math.nan

    @property
    def oversized_share(self) -> float:
        """Share using less than the lower band of the capacity."""
        return self.oversized / self.n if self.n else math.nan

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for tables and JSON."""
        return {
            "method": self.method,
            "label": self.label,
            "n": self.n,
            "appropriate": self.appropriate,
            "undersized": self.undersized,
            "oversized": self.oversized,
            "accuracy": self.accuracy,
            "undersized_share": self.undersized_share,
            "oversized_share": self.oversized_share,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


@dataclass(frozen=True, eq=False)
class PilotMetrics:
    """Pilot results for the model, the status quo and the engineering method.

    Attributes
    ----------
    n
        Customers with an outcome (rows of the frame).
    model, status_quo, engineering
        Each method on the customers where it gave a capacity (status quo and engineering
        may be missing for some customers; their ``n`` says on how many).
    model_on_status_quo
        The model on exactly the customers that have a status quo: the paired comparison.
    per_industry
        Long table: industry, method, n, appropriate, accuracy, undersized_share,
        oversized_share, ci_low, ci_high.
    misses
        Customers the model did not size appropriately, worst first: id, industry,
        recommended_kva, granted_kva, metered_peak_kw, predicted_peak_kw, load_rate,
        outcome, status_quo_kva, engineering_kva, top_drivers (list of (label, kW)).
    sizing
        The sizing definition used.
    """

    n: int
    model: MethodMetrics
    status_quo: MethodMetrics
    model_on_status_quo: MethodMetrics
    engineering: MethodMetrics
    per_industry: pd.DataFrame
    misses: pd.DataFrame
    sizing: SizingDefinition

    @property
    def methods(self) -> tuple[MethodMetrics, ...]:
        """All method results in report order."""
        return (self.model, self.status_quo, self.model_on_status_quo, self.engineering)

    def summary_frame(self) -> pd.DataFrame:
        """One row per method with counts, shares and interval."""
        return pd.DataFrame([m.as_dict() for m in self.methods])


def _method_metrics(
    method: str,
    peak_kw: np.ndarray,
    capacity_kva: np.ndarray,
    sizing: SizingDefinition,
    confidence: float,
) -> MethodMetrics:
    if peak_kw.size == 0:
        return MethodMetrics(method, 0, 0, 0, 0, confidence, math.nan, math.nan)
    outcome = sizing_outcome(peak_kw, capacity_kva, sizing)
    n = int(outcome.size)
    appropriate = int(np.sum(outcome == "appropriate"))
    low, high = wilson_interval(appropriate, n, confidence)
    return MethodMetrics(
        method=method,
        n=n,
        appropriate=appropriate,
        undersized=int(np.sum(outcome == "undersized")),
        oversized=int(np.sum(outcome == "oversized")),
        confidence=confidence,
        ci_low=low,
        ci_high=high,
    )


def _capacity(frame: pd.DataFrame, column: str) -> np.ndarray:
    values: np.ndarray = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.isfinite(values) & (values <= 0)
    if bad.any():
        ids = frame.loc[bad, "id"].astype(str).head(5).tolist()
        raise ValueError(
            f"{column} must be > 0 where given; received non-positive values for id(s) "
            f"{', '.join(ids)}"
        )
    return values


def _validated_frame(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the pilot frame lacks column(s) {', '.join(missing)}; received "
            f"{', '.join(map(str, frame.columns))}, expected at least {', '.join(REQUIRED_COLUMNS)} "
            f"(see training.pilot.log_frame.joined_frame)"
        )
    if frame.empty:
        raise ValueError(
            "the pilot frame has no rows: expected recommendations with recorded outcomes"
        )
    peak = pd.to_numeric(frame["metered_peak_kw"], errors="coerce").to_numpy(dtype=float)
    bad_peak = ~(np.isfinite(peak) & (peak > 0))
    if bad_peak.any():
        ids = frame.loc[bad_peak, "id"].astype(str).head(5).tolist()
        raise ValueError(
            f"metered_peak_kw must be a number > 0 on every row; received "
            f"{frame.loc[bad_peak, 'metered_peak_kw'].head(5).tolist()} for id(s) {', '.join(ids)}"
        )
    recommended = _capacity(frame, "recommended_kva")
    if not np.isfinite(recommended).all():
        ids = frame.loc[~np.isfinite(recommended), "id"].astype(str).head(5).tolist()
        raise ValueError(
            f"recommended_kva must be given on every row; received missing values for id(s) "
            f"{', '.join(ids)}"
        )
    return frame.reset_index(drop=True)


def top_drivers(response_json: object, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` drivers of a logged answer with the largest absolute kW.

    Parameters
    ----------
    response_json
        The answer as JSON text (or an already parsed dict). Its ``drivers`` list holds
        items with ``label`` and ``kw``.
    k
        How many to keep.

    Returns
    -------
    list of (str, float)
        ``(label, kw)`` pairs, largest ``|kw|`` first; empty when the answer has no usable
        drivers (older answers, invalid JSON, malformed items).
    """
    parsed: object = response_json
    if isinstance(response_json, str | bytes):
        try:
            parsed = json.loads(response_json)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return []
    if not isinstance(parsed, dict):
        return []
    drivers = parsed.get("drivers")
    if not isinstance(drivers, list):
        return []
    found: list[tuple[str, float]] = []
    for item in drivers:
        if not isinstance(item, dict):
            continue
        # Service answers carry label_en / label_zh; older or hand-made logs carry label.
        label = item.get("label") or item.get("label_en") or item.get("key")
        kw = item.get("kw")
        if label is None or isinstance(kw, bool) or not isinstance(kw, int | float):
            continue
        if not math.isfinite(float(kw)):
            continue
        found.append((str(label), float(kw)))
    found.sort(key=lambda pair: abs(pair[1]), reverse=True)
    return found[:k]


def _misses(
    frame: pd.DataFrame, outcome: np.ndarray, rho: np.ndarray, sizing: SizingDefinition
) -> pd.DataFrame:
    mask = outcome != "appropriate"
    columns = [
        "id",
        "industry",
        "recommended_kva",
        "granted_kva",
        "metered_peak_kw",
        "predicted_peak_kw",
        "load_rate",
        "outcome",
        "status_quo_kva",
        "engineering_kva",
        "top_drivers",
    ]
    misses = pd.DataFrame(
        {
            "id": frame["id"].astype(str).to_numpy()[mask],
            "industry": frame["industry"].astype(str).to_numpy()[mask],
            "recommended_kva": frame["recommended_kva"].to_numpy(dtype=float)[mask],
            "granted_kva": (
                frame["granted_kva"].to_numpy(dtype=float)[mask]
                if "granted_kva" in frame
                else np.full(int(mask.sum()), np.nan)
            ),
            "metered_peak_kw": frame["metered_peak_kw"].to_numpy(dtype=float)[mask],
            "predicted_peak_kw": (
                frame["predicted_peak_kw"].to_numpy(dtype=float)[mask]
                if "predicted_peak_kw" in frame
                else np.full(int(mask.sum()), np.nan)
            ),
            "load_rate": rho[mask],
            "outcome": outcome[mask].astype(str),
            "status_quo_kva": pd.to_numeric(frame["status_quo_kva"]).to_numpy(dtype=float)[mask],
            "engineering_kva": pd.to_numeric(frame["engineering_kva"]).to_numpy(dtype=float)[mask],
        }
    )
    responses = (
        frame["response_json"].to_numpy()[mask]
        if "response_json" in frame
        else [None] * int(mask.sum())
    )
    misses["top_drivers"] = pd.Series([top_drivers(r) for r in responses], dtype=object)
    # Worst first: how many times outside the band the load rate is (>= 1 for every miss).
    miss_rho = rho[mask]
    severity = np.maximum(miss_rho / sizing.high, sizing.low / miss_rho)
    order = np.argsort(-severity, kind="stable")
    return misses.iloc[order].reset_index(drop=True)[columns]


def pilot_metrics(
    frame: pd.DataFrame,
    sizing: SizingDefinition = DEFAULT_SIZING,
    confidence: float = 0.95,
) -> PilotMetrics:
    """Sizing accuracy of the model, the status quo and the engineering method in a pilot.

    Parameters
    ----------
    frame
        One row per customer with an outcome, e.g. :func:`training.pilot.log_frame.joined_frame`; needs
        ``id, industry, recommended_kva, metered_peak_kw, status_quo_kva, engineering_kva``
        (the capacity columns may be missing per row except ``recommended_kva``) and uses
        ``granted_kva, predicted_peak_kw, response_json`` when present.
    sizing
        The contract's sizing definition (power factor and load-rate band).
    confidence
        Level of the Wilson intervals.

    Returns
    -------
    PilotMetrics
        Overall and per-industry results, and the model's misses.

    Raises
    ------
    ValueError
        The frame is empty, lacks a column, or has a non-positive peak or capacity.
    """
    frame = _validated_frame(frame)
    peak = frame["metered_peak_kw"].to_numpy(dtype=float)
    capacities = {m: _capacity(frame, c) for m, c in _CAPACITY_COLUMNS.items()}
    given = {m: np.isfinite(c) for m, c in capacities.items()}

    def measure(method: str, rows: np.ndarray, capacity_of: str) -> MethodMetrics:
        return _method_metrics(
            method, peak[rows], capacities[capacity_of][rows], sizing, confidence
        )

    model = measure("model", given["model"], "model")
    status_quo = measure("status_quo", given["status_quo"], "status_quo")
    paired = measure("model_on_status_quo", given["status_quo"], "model")
    engineering = measure("engineering", given["engineering"], "engineering")

    records: list[dict[str, Any]] = []
    industries = frame["industry"].astype(str).to_numpy()
    for industry in sorted(set(industries)):
        in_industry = industries == industry
        for method in ("model", "status_quo", "engineering"):
            result = measure(method, in_industry & given[method], method)
            records.append({"industry": industry, **result.as_dict()})
    per_industry = pd.DataFrame(records).drop(columns=["label"])

    rho = np.atleast_1d(load_rate(peak, capacities["model"], sizing))
    outcome = sizing_outcome(peak, capacities["model"], sizing)
    misses = _misses(frame, outcome, rho, sizing)
    return PilotMetrics(
        n=len(frame),
        model=model,
        status_quo=status_quo,
        model_on_status_quo=paired,
        engineering=engineering,
        per_industry=per_industry,
        misses=misses,
        sizing=sizing,
    )
