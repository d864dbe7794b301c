"""What the monitor compares: the distribution profile of applications and of answers.

One definition of every monitored quantity, applied both to a contract history (the
champion's training split, at training time) and to logged applications (the
recommendation log, at monitoring time), so drift measures a change in the data and not a
change of definition:

* inputs: industry mix, installed (non-standby) kW, floor area, equipment-line categories,
  share of area-only applications (no equipment list), share of unmatched equipment lines
  (free-text names the catalog could not place);
* answers: clamp share (the sanity bounds changed the answer), fallback share (the model
  did not answer from an equipment list), manual-review share, recommended-tier mix.

Numeric quantities are binned at the reference's deciles (plus ``none`` for a missing or
zero value) and every quantity becomes a distribution over bins. Drift is the population
stability index (PSI) between the reference and the current distribution: the credit-risk
convention reads < 0.10 as stable, 0.10–0.25 as a moderate shift and > 0.25 as a major one
(Siddiqi, *Credit Risk Scorecards*, 2006, ch. 8). PSI is a dozen lines; Evidently was not
added because it pulls a second plotting and web stack into the training environment for
the same statistic.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from serving.logbook import answer_facts, application_from_contract_rows, is_contract_row_request

PROFILE_VERSION = 1
PROFILE_FILE = "monitor_profile.json"
PSI_EPSILON = 1e-4
"""Floor of a bin's share in the PSI (an empty bin would make it infinite)."""
N_QUANTILE_BINS = 10

INPUT_QUANTITIES = (
    "industry",
    "installed_kw",
    "floor_area_m2",
    "equipment_category",
    "area_only",
    "unmatched_lines",
)
ANSWER_QUANTITIES = ("clamped", "fallback", "manual_review", "tier_kva")
NUMERIC = ("installed_kw", "floor_area_m2")


@dataclass
class Observations:
    """Per-application and per-line values of the monitored quantities (one definition)."""

    industry: list[str] = field(default_factory=list)
    installed_kw: list[float] = field(default_factory=list)
    floor_area_m2: list[float] = field(default_factory=list)
    equipment_category: list[str] = field(default_factory=list)  # one per equipment line
    area_only: list[bool] = field(default_factory=list)
    unmatched_lines: list[bool] = field(default_factory=list)  # one per equipment line
    clamped: list[bool] = field(default_factory=list)
    fallback: list[bool] = field(default_factory=list)
    manual_review: list[bool] = field(default_factory=list)
    tier_kva: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Applications observed."""
        return len(self.industry)


def _tier_label(kva: float) -> str:
    return f"{float(kva):g}"


def observe_history(
    customers: pd.DataFrame, equipment: pd.DataFrame, answers: pd.DataFrame | None = None
) -> Observations:
    """Observations of a validated contract history (and the answers given to it).

    Parameters
    ----------
    customers, equipment
        Validated contract frames (``features.validation``): one row per customer, one
        per equipment line with a catalog ``category``.
    answers
        :meth:`serving.core.Recommender.score_frames` of the same customers, for the
        answer quantities (left empty when None).
    """
    obs = Observations()
    ids = customers["customer_id"].astype(str)
    eq = equipment.assign(customer_id=equipment["customer_id"].astype(str))
    running = eq.loc[~eq["standby"].astype(bool)]
    installed = (
        (running["rated_kw"].astype(float) * running["quantity"].astype(float))
        .groupby(running["customer_id"])
        .sum()
    )
    lines = eq.groupby("customer_id").size()
    obs.industry = customers["industry"].astype(str).tolist()
    obs.installed_kw = installed.reindex(ids).fillna(0.0).astype(float).tolist()
    area = pd.to_numeric(customers.get("floor_area_m2"), errors="coerce")
    obs.floor_area_m2 = (
        area.fillna(0.0).astype(float).tolist() if area is not None else [0.0] * len(ids)
    )
    obs.area_only = (lines.reindex(ids).fillna(0) == 0).tolist()
    cats = eq["category"]
    obs.equipment_category = [str(c) if isinstance(c, str) and c else "unmatched" for c in cats]
    obs.unmatched_lines = [not (isinstance(c, str) and c) for c in cats]
    if answers is not None:
        obs.clamped = answers["clamped"].astype(bool).tolist()
        obs.fallback = answers["fallback_reason"].notna().tolist()
        obs.manual_review = answers["manual_review"].astype(bool).tolist()
        obs.tier_kva = [_tier_label(v) for v in answers["recommended_kva"]]
    return obs


def observe_logged(requests: list[dict[str, Any]], responses: list[dict[str, Any]]) -> Observations:
    """Observations of logged applications (the API request) and their answers (the response).

    A line's category is the one the service resolved (``matches[i].category``), as the
    model saw it; a line without a resolved category is ``unmatched``.
    """
    obs = Observations()
    for req, resp in zip(requests, responses, strict=True):
        if is_contract_row_request(req):  # a row logged before the one shape (migration 0003)
            req = application_from_contract_rows(req["customer"], req.get("equipment") or [])
        facts = answer_facts(resp)
        lines = req.get("equipment") or []
        matches = facts["categories"] or []
        obs.industry.append(str(req.get("industry")))
        obs.installed_kw.append(
            float(
                sum(
                    float(x.get("rated_kw") or 0) * float(x.get("quantity") or 1)
                    for x in lines
                    if not x.get("standby")
                )
            )
        )
        area = req.get("floor_area_m2")
        obs.floor_area_m2.append(float(area) if area else 0.0)
        obs.area_only.append(len(lines) == 0)
        for i, line in enumerate(lines):
            cat = matches[i] if i < len(matches) else line.get("category")
            obs.equipment_category.append(str(cat) if cat else "unmatched")
            obs.unmatched_lines.append(not cat)
        obs.clamped.append(facts["clamped"])
        obs.fallback.append(facts["fallback"])
        obs.manual_review.append(facts["manual_review"])
        obs.tier_kva.append(_tier_label(facts["recommended_kva"] or 0.0))
    return obs


def _shares(labels: list[str]) -> dict[str, float]:
    if not labels:
        return {}
    counts = pd.Series(labels, dtype=object).value_counts(normalize=True)
    return {str(k): float(v) for k, v in counts.items()}


def _edges(values: list[float]) -> list[float]:
    pos = np.asarray([v for v in values if v > 0], dtype=float)
    if pos.size == 0:
        return []
    qs = np.quantile(pos, np.linspace(0, 1, N_QUANTILE_BINS + 1)[1:-1])
    return sorted({float(q) for q in qs})


def bin_numeric(values: list[float], edges: list[float]) -> list[str]:
    """Bin labels: ``none`` for missing or zero, else ``q<k>`` at the reference's edges."""
    arr = np.asarray(values, dtype=float)
    idx = np.searchsorted(np.asarray(edges, dtype=float), arr, side="right")
    return ["none" if not (v > 0) else f"q{int(k) + 1:02d}" for v, k in zip(arr, idx, strict=True)]


def _binary(values: list[bool]) -> list[str]:
    return ["yes" if v else "no" for v in values]


def make_profile(obs: Observations, source: str) -> dict[str, Any]:
    """The reference profile of ``obs`` (JSON-serialisable; logged with each training run)."""
    edges = {q: _edges(getattr(obs, q)) for q in NUMERIC}
    return {
        "profile_version": PROFILE_VERSION,
        "source": source,
        "n": obs.n,
        "edges": edges,
        "distributions": distributions(obs, edges),
    }


def distributions(obs: Observations, edges: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Every monitored quantity of ``obs`` as a distribution over its bins."""
    out: dict[str, dict[str, float]] = {
        "industry": _shares(obs.industry),
        "equipment_category": _shares(obs.equipment_category),
        "area_only": _shares(_binary(obs.area_only)),
        "unmatched_lines": _shares(_binary(obs.unmatched_lines)),
    }
    for q in NUMERIC:
        out[q] = _shares(bin_numeric(getattr(obs, q), edges.get(q, [])))
    if obs.clamped:
        out["clamped"] = _shares(_binary(obs.clamped))
        out["fallback"] = _shares(_binary(obs.fallback))
        out["manual_review"] = _shares(_binary(obs.manual_review))
        out["tier_kva"] = _shares(obs.tier_kva)
    return out


def psi(reference: dict[str, float], current: dict[str, float]) -> float:
    """Population stability index between two distributions over named bins.

    ``sum((c - r) * ln(c / r))`` over the union of bins, each share floored at
    :data:`PSI_EPSILON`. 0 for identical distributions; NaN when either is empty.
    """
    if not reference or not current:
        return float("nan")
    total = 0.0
    for b in set(reference) | set(current):
        r = max(reference.get(b, 0.0), PSI_EPSILON)
        c = max(current.get(b, 0.0), PSI_EPSILON)
        total += (c - r) * math.log(c / r)
    return float(total)


def dumps(profile: dict[str, Any]) -> str:
    """The profile as JSON text."""
    return json.dumps(profile, indent=1, sort_keys=True)


def training_profile(
    train_customers: pd.DataFrame,
    train_equipment: pd.DataFrame,
    holdout_customers: pd.DataFrame,
    holdout_equipment: pd.DataFrame,
    holdout_answers: pd.DataFrame,
    source: str,
) -> dict[str, Any]:
    """The reference a training run logs: inputs of its training split, answers on its holdout.

    Answers are profiled on the holdout because logged applicants are customers the model
    never saw; its answers to its own training customers would be in-sample.
    """
    profile = make_profile(observe_history(train_customers, train_equipment), source)
    answers = distributions(
        observe_history(holdout_customers, holdout_equipment, holdout_answers), profile["edges"]
    )
    for q in ANSWER_QUANTITIES:
        profile["distributions"][q] = answers[q]
    profile["n_answers"] = len(holdout_answers)
    return profile
