"""Recommender core: the decision path plus explanations, in plain Python.

Used by the BentoML service, the web page (through the service) and the CLI batch path.
Every answer comes from :func:`serving.model.decision.decide` (tier policy, learned
bounds, clamp, probabilities at the final capacity, fallback, review flags), vectorised
over the batch; a full answer adds the explanations for its row on top (calculation
sheet, drivers, peers, warnings), never a second copy of a rule.

Drivers: the model predicts ``log peak = log(base) + phi0 + sum_i phi_i`` (TreeSHAP
``phi``, exact). The peak is split into kW that sum to it exactly:

* ``base * exp(phi0)`` is shared among the equipment categories in proportion to their
  part of the base (fitted demand factor × installed kW; or given to floor area /
  industry when the base came from them), scaled by the average correction in history;
* the rest, ``base * (exp(phi0 + S) - exp(phi0))`` with ``S = sum_i phi_i``, is shared in
  proportion to each feature's ``phi_i`` — the straight-path (Aumann-Shapley) attribution
  of an exponential, stable as ``S`` goes to 0 — and summed per human group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features.build import EXCLUDED_CATEGORIES, HistoryFrames, frames_from_applications
from features.catalog import OTHER_INDUSTRY, load_catalog
from features.contract import STATUS_QUO_COLUMN, is_standard_capacity, standard_tiers
from features.engineering import (
    CalculationSheet,
    EngineeringConfig,
    sheet_for_items,
    supply_voltage,
)
from features.matching import DEFAULT_THRESHOLD, NameMatcher, industry_matcher, is_guess
from features.metered import MeteredModelRequired
from features.schemas import UNDERSIZED_RISK_HELP, Application, UndersizedRiskCap
from features.trusted import trusted
from serving.errors import UnmatchedLinesError, unmatched_errors
from serving.messages import render
from serving.model.bounds import BoundRule
from serving.model.completeness import missing_loads
from serving.model.decision import Decisions, decide, outcome_probabilities
from serving.model.peers import MIN_PEERS
from serving.model.policy import tier_probabilities
from serving.model.predictor import CapacityModel, Prediction
from serving.schemas import (
    CheckResult,
    Driver,
    ExistingCustomer,
    IndustryMatch,
    MissingLoad,
    NameMatch,
    PeerComparison,
    PeerQuantiles,
    Recommendation,
    SanityBounds,
    TierOption,
    UndersizedRisk,
    Warning_,
)
from serving.tariff import compare_bases

GROUP_LABELS: dict[str, tuple[str, str]] = {
    "floor_area": ("建筑面积", "Floor area"),
    "employees": ("员工人数", "Employees"),
    "shifts": ("班制", "Shifts"),
    "industry": ("行业", "Industry"),
    "climate_zone": ("气候区", "Climate zone"),
    "equipment_size": ("设备规模与台数", "Equipment size and unit counts"),
    "engineering_estimate": ("需要系数法估算及基准", "Demand-coefficient estimate and base"),
    "equipment_mix": ("设备构成（未列出的类别）", "Equipment mix (categories not listed)"),
    "meter": ("电表计量（现有负荷）", "Meter (today's load)"),
    "change": ("本次增减的设备", "Equipment added or removed"),
    "application_type": ("申请类型", "Application type"),
}


class RecommenderConfig(BaseModel):
    """Serving-time settings (passed in explicitly)."""

    model_config = ConfigDict(frozen=True)

    capacity_price_yuan_per_kva_month: float = Field(22.0, gt=0)
    demand_price_yuan_per_kw_month: float = Field(
        33.0, gt=0, description="基本电费 by maximum demand, yuan per kW and month"
    )
    min_demand_share: float = Field(
        0.40, ge=0, le=1, description="The demand billed is at least this share of the capacity"
    )
    min_peers: int = Field(MIN_PEERS, ge=1)
    min_match_confidence: float = Field(DEFAULT_THRESHOLD, ge=0, le=1)
    max_undersized_risk: UndersizedRiskCap | None = Field(
        None,
        description="The utility's risk appetite: " + UNDERSIZED_RISK_HELP + " An "
        "application's own max_undersized_risk replaces it for that answer.",
    )


@dataclass
class _Resolved:
    app: Application
    categories: list[str | None]
    matches: list[NameMatch]


class Recommender:
    """Answers applications with a loaded :class:`CapacityModel`."""

    def __init__(
        self,
        model: CapacityModel,
        model_version: str,
        config: RecommenderConfig | None = None,
        matcher: NameMatcher | None = None,
    ) -> None:
        self.model = model
        self.model_version = model_version
        self.config = config or RecommenderConfig()
        self.matcher = matcher or NameMatcher(load_catalog())
        self.catalog = load_catalog()
        self.engineering = EngineeringConfig(
            **{
                **model.builder.engineering_.model_dump(),
                "capacity_price_yuan_per_kva_month": self.config.capacity_price_yuan_per_kva_month,
            }
        )
        self.sizing = model.config.policy.sizing
        self._col = {name: j for j, name in enumerate(model.builder.feature_names_)}
        # Fixed per model: computed once, not per answer.
        self._groups = model.builder.feature_groups()
        self._kw_cols = np.array([self._col[f"kw__{c}"] for c in model.builder.categories_])
        # The coincidence term's columns (a model with it): the base's parts need them.
        rss_names = [f"rss__{c}" for c in model.builder.categories_]
        self._rss_cols = (
            np.array([self._col[n] for n in rss_names])
            if all(n in self._col for n in rss_names)
            else None
        )
        self._category_kw_col = {
            name: self._col[f"kw__{g.split(':', 1)[1]}"]
            for name, g in self._groups.items()
            if g.startswith("category:")
        }
        # The drivers' grouping as arrays: each feature's group (in first-seen order,
        # then equipment_mix), and the features of a category with the column saying
        # whether the application has that category.
        names = model.builder.feature_names_
        labels = list(dict.fromkeys(self._groups[n] for n in names))
        if "equipment_mix" not in labels:
            labels.append("equipment_mix")
        self._driver_labels = labels
        self._driver_group = np.array([labels.index(self._groups[n]) for n in names], dtype=np.intp)
        self._driver_mix = labels.index("equipment_mix")
        of_category = [
            (j, self._category_kw_col[n]) for j, n in enumerate(names) if n in self._category_kw_col
        ]
        self._driver_cat_features = np.array([j for j, _ in of_category], dtype=np.intp)
        self._driver_cat_kw = np.array([c for _, c in of_category], dtype=np.intp)

    # -- public API ----------------------------------------------------------------------
    def recommend(self, application: Application) -> Recommendation:
        """Answer one application."""
        return self.recommend_many([application])[0]

    def recommend_many(self, applications: Sequence[Application]) -> list[Recommendation]:
        """Answer a batch of applications (vectorised model calls)."""
        return self._answer(applications)[0]

    def _answer(
        self, applications: Sequence[Application]
    ) -> tuple[list[Recommendation], Prediction | None]:
        if not applications:
            return [], None
        resolved = [self._resolve(a) for a in applications]
        flat: list[str | None] = [c for r in resolved for c in r.categories]
        frames = frames_from_applications(applications, categories=flat)
        pred = self.model.predict(frames)
        decisions = self._decide(frames, pred, with_rules=True, applications=applications)
        contrib = self.model.contributions(pred.matrix)
        # Row values as plain floats (a pandas row lookup per feature is slow).
        values = pred.matrix
        recs = [
            self._assemble(i, r, pred, decisions, contrib[i], values[i])
            for i, r in enumerate(resolved)
        ]
        return recs, pred

    def _decide(
        self,
        frames: HistoryFrames,
        pred: Prediction,
        with_rules: bool,
        applications: Sequence[Application],
    ) -> Decisions:
        return decide(
            self.model,
            pred,
            self.model.engineering_columns(frames, pred),
            with_rules=with_rules,
            min_peers=self.config.min_peers,
            max_undersized_risk=self.risk_caps(applications),
            # The codes as the applications gave them (the frames' ``industry`` column
            # holds these same strings): reading the column built both pandas frames,
            # 13 % of a single answer in the issue-27 profile, for one column.
            industries=np.array([a.industry for a in applications], dtype=object),
        )

    def risk_caps(self, applications: Sequence[Application]) -> np.ndarray | None:
        """Cap on P(undersized) per application: its own, else the utility's (NaN: none)."""
        default = self.config.max_undersized_risk
        own = [a.max_undersized_risk for a in applications]
        if default is None and all(c is None for c in own):
            return None
        fallback = np.nan if default is None else float(default)
        return np.array([fallback if c is None else float(c) for c in own], dtype=float)

    def check(self, application: Application, proposed_kva: float) -> CheckResult:
        """Planner check of a proposed capacity."""
        recs, pred = self._answer([application])
        rec = recs[0]
        assert pred is not None
        probs = self.model.probabilities_for(pred, 0, np.array([float(proposed_kva)]))
        p_ok = float(probs.p_appropriate[0, 0])
        p_under = float(probs.p_undersized[0, 0])
        p_over = float(probs.p_oversized[0, 0])
        verdict = str(verdicts(np.array([p_ok]), np.array([p_under]), np.array([p_over]))[0])
        price = self.config.capacity_price_yuan_per_kva_month
        yearly_prop = self._monthly_charge(proposed_kva) * 12
        yearly_rec = self._monthly_charge(rec.recommended_kva) * 12
        diff = yearly_prop - yearly_rec
        load = rec.predicted_peak_kw / (proposed_kva * self.sizing.power_factor)
        zh_verdict = {"appropriate": "容量合适", "undersized": "容量偏小", "oversized": "容量偏大"}[
            verdict
        ]
        # Appropriate is not the same as the best buy: a proposal that works but costs
        # more than the recommendation says so (issue 25: a green ✓ beside 198,000 yuan).
        costlier = verdict == "appropriate" and diff >= 0.5
        if costlier:
            zh_verdict += f"，但每年比建议容量多付基本电费 {diff:,.0f} 元"
        msg_zh = (
            f"申报 {proposed_kva:g} kVA：{zh_verdict}（合适概率 {p_ok:.0%}，偏小 {p_under:.0%}，"
            f"偏大 {p_over:.0%}）。建议 {rec.recommended_kva:g} kVA，"
            f"每年基本电费相差 {diff:,.0f} 元（单价 {price:g} 元/kVA·月）。"
        )
        en_verdict = (
            f"appropriate but costs {diff:,.0f} yuan a year more than the recommendation"
            if costlier
            else verdict
        )
        msg_en = (
            f"Proposed {proposed_kva:g} kVA is {en_verdict} (P appropriate {p_ok:.0%}, undersized "
            f"{p_under:.0%}, oversized {p_over:.0%}). Recommended {rec.recommended_kva:g} kVA; "
            f"the yearly capacity charge differs by {diff:,.0f} yuan (at {price:g} yuan/kVA·month)."
        )
        return CheckResult(
            proposed_kva=float(proposed_kva),
            proposed_is_standard=is_standard_capacity(float(proposed_kva)),
            verdict=verdict,
            p_appropriate=p_ok,
            p_undersized=p_under,
            p_oversized=p_over,
            expected_load_rate=float(load),
            recommended_kva=rec.recommended_kva,
            recommended_p_appropriate=rec.p_appropriate,
            yearly_capacity_charge_proposed_yuan=yearly_prop,
            yearly_capacity_charge_recommended_yuan=yearly_rec,
            yearly_difference_yuan=diff,
            costs_more_than_recommended=costlier,
            message_zh=msg_zh,
            message_en=msg_en,
            recommendation=rec,
        )

    def score_applications(
        self,
        applications: Sequence[Application],
        resolved: Sequence[tuple[list[str | None], int]] | None = None,
    ) -> pd.DataFrame:
        """Vectorised summary answers for API applications (names matched first).

        Rows follow :meth:`score_frames` (customer ids ``app-0``, ``app-1``…) plus
        ``unmatched_lines``: equipment lines whose free-text name matched no category and
        were counted as the request's ``unmatched`` category (the full answer lists them).
        ``resolved``: the applications' categories as :meth:`resolve_categories` found
        them without errors (None: resolved here).

        Raises
        ------
        UnmatchedLinesError
            If a line's name matches no category and its application does not say how to
            count such lines.
        """
        # Categories only: the summary needs no NameMatch per line (the full answer does).
        if resolved is None:
            resolved = [self._categories(a) for a in applications]
        flat: list[str | None] = [c for cats, _ in resolved for c in cats]
        frames = frames_from_applications(applications, categories=flat)
        scored = self.score_frames(
            frames.customers, frames.equipment, max_undersized_risk=self.risk_caps(applications)
        )
        scored["unmatched_lines"] = [assumed for _, assumed in resolved]
        return scored

    def score_frames(
        self,
        customers: pd.DataFrame,
        equipment: pd.DataFrame,
        max_undersized_risk: float | np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Vectorised batch scoring of clean contract frames (CLI batch path, CSV answers).

        Same model, policy and sanity bounds as :meth:`recommend`, without the
        per-application explanations, so 100,000 customers score in seconds.
        ``max_undersized_risk`` (one cap, or one per row with NaN for none) replaces the
        utility's :attr:`RecommenderConfig.max_undersized_risk`.
        """
        frames = HistoryFrames(customers.reset_index(drop=True), equipment.reset_index(drop=True))
        pred = self.model.predict(frames)
        ids = frames.customers["customer_id"].astype(str).to_numpy()
        # Reused from the feature path (same engineering defaults; the price override does
        # not enter the estimates).
        eng = self.model.engineering_of(frames, pred)
        if max_undersized_risk is None:
            max_undersized_risk = self.config.max_undersized_risk
        d = decide(
            self.model,
            pred,
            eng,
            min_peers=self.config.min_peers,
            max_undersized_risk=max_undersized_risk,
            industries=frames.customers["industry"].to_numpy(dtype=object),
        )
        out = pd.DataFrame(
            {
                "customer_id": ids,
                "industry": frames.customers["industry"].astype(str).to_numpy(),
                "recommended_kva": d.final_kva,
                "predicted_peak_kw": pred.peak_kw,
                "peak_low_kw": pred.low90,
                "peak_high_kw": pred.high90,
                "peak_low80_kw": pred.low80,
                "peak_high80_kw": pred.high80,
                "p_appropriate": d.p_appropriate,
                "p_undersized": d.p_undersized,
                "p_oversized": d.p_oversized,
                "max_undersized_risk": d.risk_cap,
                "uncapped_kva": d.uncapped_kva,
                "engineering_kva": eng["eng_kva"].to_numpy(dtype=float),
                "basis": d.basis,
                "clamped": d.clamped,
                "unclamped_kva": d.policy_kva,
                "fallback_reason": d.fallback_reason,
                "manual_review": d.manual_review,
                "model_version": self.model_version,
            }
        )
        kva = d.final_kva.astype(float)
        two_part = kva >= self.engineering.tariff_threshold_kva
        out["supply_voltage"] = list(supply_voltage(pred.peak_kw, kva, self.engineering))
        out["two_part_tariff"] = two_part
        out["monthly_capacity_charge_yuan"] = np.where(
            two_part, kva * self.config.capacity_price_yuan_per_kva_month, 0.0
        )
        if self.model.builder.metered_:
            out = pd.concat([out, self._existing_columns(frames, pred, kva)], axis=1)
        if STATUS_QUO_COLUMN in frames.customers.columns:
            applied = pd.to_numeric(frames.customers[STATUS_QUO_COLUMN], errors="coerce").to_numpy(
                dtype=float
            )
            out = pd.concat([out, self._applied_verdicts(pred, applied, kva)], axis=1)
        return out

    def _existing_columns(
        self, frames: HistoryFrames, pred: Prediction, kva: np.ndarray
    ) -> pd.DataFrame:
        """Existing customers' meter, change and today's capacity (NaN for new ones)."""
        cap = pd.to_numeric(
            frames.customers.get(
                "existing_capacity_kva", pd.Series(np.nan, index=frames.customers.index)
            ),
            errors="coerce",
        ).to_numpy(dtype=float)
        has = pred.column("has_meter") > 0
        demand = pred.column("meter_max_demand_kw")
        measured = np.where(np.isfinite(demand), demand, pred.column("meter_max_month_kw"))
        safe = np.where(np.isfinite(cap) & has, cap, kva)
        p_ok, p_under, _ = outcome_probabilities(self.model, pred, safe)
        price = self.config.capacity_price_yuan_per_kva_month
        threshold = self.engineering.tariff_threshold_kva
        yearly = (
            12.0
            * price
            * (np.where(kva >= threshold, kva, 0.0) - np.where(safe >= threshold, safe, 0.0))
        )
        nan = np.full(len(kva), np.nan)
        return pd.DataFrame(
            {
                "application_type": frames.customers.get(
                    "application_type", pd.Series("new", index=frames.customers.index)
                ).to_numpy(dtype=object),
                "existing_capacity_kva": cap,
                "metered_part_kw": np.where(has, pred.column("metered_kw"), nan),
                "change_kw": np.where(has, pred.column("change_kw"), nan),
                "measured_load_rate": np.where(
                    has, measured / (cap * self.sizing.power_factor), nan
                ),
                "p_appropriate_today": np.where(has, p_ok, nan),
                "p_undersized_today": np.where(has, p_under, nan),
                "yearly_difference_yuan": np.where(has, yearly, nan),
            }
        )

    def _applied_verdicts(
        self, pred: Prediction, applied: np.ndarray, recommended: np.ndarray
    ) -> pd.DataFrame:
        """The planner verdict on each customer's applied capacity (NaN where none).

        Same probabilities as :meth:`check` (``probabilities_for`` at that capacity), one
        call per distinct applied capacity (applications use a few standard tiers).
        """
        n = len(applied)
        p_ok = np.full(n, np.nan)
        p_under = np.full(n, np.nan)
        p_over = np.full(n, np.nan)
        valid = np.isfinite(applied) & (applied > 0)
        for kva in np.unique(applied[valid]):
            rows = np.flatnonzero(applied == kva)
            probs = tier_probabilities(
                pred.mu[rows],
                pred.groups[rows],
                self.model.calibrator,
                self.sizing,
                tiers=np.array([float(kva)]),
            )
            p_ok[rows] = probs.p_appropriate[:, 0]
            p_under[rows] = probs.p_undersized[:, 0]
            p_over[rows] = probs.p_oversized[:, 0]
        verdict = np.full(n, None, dtype=object)
        if valid.any():
            verdict[valid] = verdicts(p_ok[valid], p_under[valid], p_over[valid])
        price = self.config.capacity_price_yuan_per_kva_month
        threshold = self.engineering.tariff_threshold_kva

        def yearly(kva: np.ndarray) -> np.ndarray:
            return np.where(kva >= threshold, kva * price * 12, 0.0)

        return pd.DataFrame(
            {
                "applied_kva": np.where(valid, applied, np.nan),
                "applied_verdict": verdict,
                "applied_p_appropriate": p_ok,
                "applied_p_undersized": p_under,
                "applied_p_oversized": p_over,
                "applied_yearly_difference_yuan": np.where(
                    valid, yearly(np.where(valid, applied, 0.0)) - yearly(recommended), np.nan
                ),
            }
        )

    def unmatched_errors_of(self, app: Application, prefix: str = "") -> list[dict[str, Any]]:
        """The 400 error items of ``app``'s lines that match no category (empty when none).

        Also the error of an existing customer sent to a model without the metered path.
        """
        return self._resolved_or_errors(app, prefix)[1]

    def resolve_categories(
        self, applications: Sequence[Application], field: str = "applications"
    ) -> tuple[list[tuple[list[str | None], int]], list[dict[str, Any]]]:
        """Each application's line categories and lines assumed (:meth:`_categories`), once.

        Returns the resolutions and the 400 error items of every application that cannot
        be resolved (:meth:`unmatched_errors_of`, prefixed ``field[k].``); an application
        with errors has an empty resolution.
        """
        resolved: list[tuple[list[str | None], int]] = []
        errors: list[dict[str, Any]] = []
        for k, app in enumerate(applications):
            found, errs = self._resolved_or_errors(app, f"{field}[{k}].")
            resolved.append(found)
            errors.extend(errs)
        return resolved, errors

    def _resolved_or_errors(
        self, app: Application, prefix: str
    ) -> tuple[tuple[list[str | None], int], list[dict[str, Any]]]:
        existing = self.existing_errors_of(app, prefix)
        if existing:
            return ([], 0), existing
        try:
            return self._categories(app), []
        except UnmatchedLinesError as exc:
            return ([], 0), unmatched_errors(exc.lines, prefix)

    def _categories(self, app: Application) -> tuple[list[str | None], int]:
        """Each line's category as :meth:`_resolve` finds it, and how many were assumed.

        The batch path's resolution: the same rule (a given code, else a name matched with
        enough confidence, else the request's ``unmatched`` category, else an error) without
        building a :class:`NameMatch` per line.

        Raises
        ------
        UnmatchedLinesError, MeteredModelRequired
            As :meth:`_resolve`.
        """
        if self.existing_errors_of(app):
            raise MeteredModelRequired(self.existing_errors_of(app)[0]["message"])
        cats: list[str | None] = []
        assumed = 0
        missing: list[tuple[int, str, list[str]]] = []
        for i, item in enumerate(app.equipment):
            if item.category:
                cats.append(item.category)
                continue
            m, ok = self._line_match(item)
            if ok:
                cats.append(m.category)
            elif app.unmatched is not None:
                cats.append(app.unmatched)
                assumed += 1
            else:
                cats.append(None)
                candidates = [c for c, _ in self.matcher.candidates(item.name or "", 3)]
                missing.append((i, str(item.name), candidates))
        if missing:
            raise UnmatchedLinesError(missing)
        return cats, assumed

    def existing_errors_of(self, app: Application, prefix: str = "") -> list[dict[str, Any]]:
        """The 400 error of an existing customer this model cannot size (empty otherwise)."""
        if app.application_type == "new" or self.model.builder.metered_:
            return []
        return [
            {
                "field": f"{prefix}application_type",
                "value": app.application_type,
                "expected": "new: this model was trained on a history without existing customers",
                "message": "this model cannot size an existing customer from its meter readings "
                "(its history had no existing customers); the utility must train one on a "
                "history with meter_readings.csv",
                "code": "model_without_existing_customers",
                "params": {"kind": app.application_type},
            }
        ]

    # -- helpers -------------------------------------------------------------------------
    def _list_gain_warning(self) -> Warning_:
        """What an equipment list gained on the history (measured at fit time)."""
        gain = self.model.calibrator.equipment_gain_
        if not gain:
            return _coded("equipment_list_gain_unmeasured", {})
        params = {
            "n": gain["n"],
            "accuracy_with_list": gain["accuracy_with_list"],
            "accuracy_area_only": gain["accuracy_area_only"],
            "ratio_with_list": gain["interval90_ratio_with_list"],
            "ratio_area_only": gain["interval90_ratio_area_only"],
        }
        return _coded("equipment_list_gain", params)

    def _monthly_charge(self, kva: float) -> float:
        """基本电费 per month: only under the two-part tariff (≥ 315 kVA)."""
        if kva >= self.engineering.tariff_threshold_kva:
            return float(kva) * self.config.capacity_price_yuan_per_kva_month
        return 0.0

    def _line_match(self, item: Any) -> tuple[Any, bool]:
        """A free-text line's match and whether it is confident enough.

        One rule for :meth:`_resolve` and :meth:`_categories`.
        """
        # The line's stated rating decides AC/DC-type choices (充电桩 120 kW is DC).
        m = self.matcher.match(item.name or "", rated_kw=item.rated_kw)
        return m, m.category is not None and m.confidence >= self.config.min_match_confidence

    def _resolve(self, app: Application) -> _Resolved:
        if self.existing_errors_of(app):
            raise MeteredModelRequired(self.existing_errors_of(app)[0]["message"])
        cats: list[str | None] = []
        matches: list[NameMatch] = []
        for i, item in enumerate(app.equipment):
            if item.category:
                cats.append(item.category)
                # Every value is already of the field's type (the application was
                # validated): construct without a second validation, 30 times per answer.
                matches.append(
                    trusted(
                        NameMatch,
                        index=i,
                        text=item.name,
                        category=item.category,
                        confidence=1.0,
                        matched_alias=None,
                        source="code",
                        reason="category code given",
                        # Given, not defaulted: pydantic's model_construct inspects a
                        # default_factory's signature on every call (0.25 ms each, 90 %
                        # of a 10,000-application batch in the issue-27 profile).
                        candidates=[],
                        guess=False,
                    )
                )
                continue
            m, ok = self._line_match(item)
            if ok:
                cats.append(m.category)
            elif app.unmatched is not None:
                # The request said how to count it: never left out (the answer must not
                # get smaller because a line was not understood).
                cats.append(app.unmatched)
            else:
                cats.append(None)
            matches.append(
                # Every value of its field's type (the validated line, the matcher's
                # result): constructed without a second validation, as above.
                trusted(
                    NameMatch,
                    index=i,
                    text=item.name,
                    category=m.category if ok else app.unmatched,
                    confidence=float(m.confidence),
                    matched_alias=m.matched_alias,
                    source="name" if ok else ("assumed" if app.unmatched else "unmatched"),
                    reason=m.reason
                    if ok or app.unmatched is None
                    else f"{m.reason}; counted as {app.unmatched} as the request asked",
                    candidates=[]
                    if ok
                    else [c for c, _ in self.matcher.candidates(item.name or "", 3)],
                    guess=bool(ok and is_guess(m.confidence)),
                )
            )
        missing = [(m.index, str(m.text), m.candidates) for m in matches if m.source == "unmatched"]
        if missing:
            raise UnmatchedLinesError(missing)
        return _Resolved(app=app, categories=cats, matches=matches)

    def _sheet(self, r: _Resolved) -> CalculationSheet | None:
        # The lines are validated already and ``c`` is a catalog code (given or matched):
        # the sheet reads each line's resolved category beside it (no copy of the line).
        kept = [
            (it, c) for it, c in zip(r.app.equipment, r.categories, strict=True) if c is not None
        ]
        try:
            return sheet_for_items(
                [it for it, _ in kept],
                self.engineering,
                industry=r.app.industry,
                floor_area_m2=r.app.floor_area_m2,
                design=r.app.design,
                categories=[c for _, c in kept],
            )
        except ValueError:
            return None  # neither equipment nor floor area: no classical estimate

    def _drivers(
        self,
        i: int,
        pred: Prediction,
        phi: np.ndarray,
        sheet: CalculationSheet | None,
        basis: str,
        row: np.ndarray,
    ) -> list[Driver]:
        base = float(pred.base_kw[i])
        phi0 = float(phi[-1])
        feat = phi[:-1]
        s = float(feat.sum())
        scale = base * math.exp(phi0)
        # (e^S - 1)/S, written to stay exact near S = 0.
        factor = math.expm1(s) / s if abs(s) > 1e-12 else 1.0
        group = self._driver_group.copy()
        # A category the application does not have still shifts the prediction (its
        # absence says something about the mix); reporting it as "fans 0.3 kW" for a
        # site without fans would confuse, so it is pooled.
        absent = ~(row[self._driver_cat_kw] > 0)
        group[self._driver_cat_features[absent]] = self._driver_mix
        # Summed per group in feature order from 0.0, as a loop over the features would
        # (bincount adds its weights in order): the same floats, one call.
        sums = np.bincount(group, weights=scale * feat * factor, minlength=len(self._driver_labels))
        seen = np.bincount(group, minlength=len(self._driver_labels)) > 0
        corr = {
            label: float(total)
            for label, total, has in zip(
                self._driver_labels, sums.tolist(), seen.tolist(), strict=True
            )
            if has
        }
        eng: dict[str, float] = {}
        builder = self.model.builder
        built = pred.built
        if built is not None and built.base_parts is not None:
            # The parts the features summed into the base (computed once per request).
            parts = built.base_parts[i]
        else:
            installed = row[self._kw_cols]
            rss = row[self._rss_cols][None, :] if self._rss_cols is not None else None
            # The zone's code as the matrix holds it (NaN: unknown), for its cooling multiplier.
            zone_code = row[self._col["climate_zone"]]
            zone = np.array([int(zone_code) if np.isfinite(zone_code) else -1])
            parts = builder.row_base_parts([pred.industry[i]], installed[None, :], rss, zone)[0]
        if basis == "meter":
            # Meter + change: the base's metered part, and each line's (signed) share.
            metered = float(row[self._col["metered_kw"]])
            change = float(row[self._col["change_kw"]])
            total = metered + change
            if total > 0:
                eng["meter"] = scale * metered / total
                if change != 0:
                    eng["change"] = scale * change / total
            else:
                eng["meter"] = scale
        elif basis == "equipment" and (parts_sum := float(parts.sum())) > 0:
            # The base is a sum over categories (fitted demand factor × installed kW).
            # The parts as floats and their sum once (it was summed again per category).
            for code, part in zip(builder.categories_, parts.tolist(), strict=True):
                if part > 0:
                    eng[f"category:{code}"] = scale * part / parts_sum
        else:
            eng["floor_area" if basis == "area" else "industry"] = scale
        out = []
        for key in sorted(set(eng) | set(corr)):
            kw = eng.get(key, 0.0) + corr.get(key, 0.0)
            if abs(kw) < 1e-9:
                continue
            if key.startswith("category:"):
                cat = self.catalog.categories[key.split(":", 1)[1]]
                zh, en = cat.name_zh, cat.name_en
            else:
                zh, en = GROUP_LABELS.get(key, (key, key))
            out.append(
                trusted(
                    Driver,
                    key=key,
                    label_zh=zh,
                    label_en=en,
                    kw=kw,
                    engineering_kw=eng.get(key, 0.0),
                    correction_kw=corr.get(key, 0.0),
                )
            )
        out.sort(key=lambda d: -abs(d.kw))
        return out

    def _peers(self, i: int, app: Application, d: Decisions) -> PeerComparison:
        p = d.peers
        cell = p.cells[i]
        if cell is None:
            return PeerComparison(
                industry=app.industry,
                scale_band=str(p.band[i]),
                level="none",
                n_peers=0,
                peak_per_installed_kw=None,
                peak_w_per_m2=None,
                this_peak_per_installed_kw=None,
                this_peak_w_per_m2=None,
                percentile_per_installed_kw=None,
                percentile_w_per_m2=None,
                outside_p5_p95=False,
                too_few_peers=True,
            )
        q_kw = cell.get("peak_per_installed_kw")
        q_m2 = cell.get("peak_w_per_m2")
        return PeerComparison(
            industry=app.industry,
            scale_band=str(p.band[i]),
            level=str(p.level[i]),
            n_peers=int(p.n[i]),
            peak_per_installed_kw=PeerQuantiles(**q_kw) if q_kw else None,
            peak_w_per_m2=PeerQuantiles(**q_m2) if q_m2 else None,
            this_peak_per_installed_kw=_opt(p.per_kw[i]),
            this_peak_w_per_m2=_opt(p.per_m2[i]),
            percentile_per_installed_kw=_opt(p.pct_kw[i]),
            percentile_w_per_m2=_opt(p.pct_m2[i]),
            outside_p5_p95=bool(p.outside[i]),
            too_few_peers=bool(p.too_few[i]),
        )

    @staticmethod
    def _bounds(i: int, d: Decisions) -> SanityBounds:
        lower = _opt(d.bounds.lower[i])
        upper = _opt(d.bounds.upper[i])
        lo_rule = d.bounds.lower_rule[i] if lower is not None else None
        hi_rule = d.bounds.upper_rule[i] if upper is not None else None
        rule = d.rule(i)
        return SanityBounds(
            lower_kva=lower,
            lower_rule=_text(lo_rule, "en"),
            lower_rule_zh=_text(lo_rule, "zh"),
            lower_rule_code=lo_rule.code if lo_rule else None,
            upper_kva=upper,
            upper_rule=_text(hi_rule, "en"),
            upper_rule_zh=_text(hi_rule, "zh"),
            upper_rule_code=hi_rule.code if hi_rule else None,
            unclamped_kva=float(d.policy_kva[i]),
            clamped=rule is not None,
            clamp_rule=_text(rule, "en"),
            clamp_rule_zh=_text(rule, "zh"),
            clamp_rule_code=rule.code if rule else None,
            clamp_rule_params=rule.params if rule else None,
        )

    def _assemble(
        self,
        i: int,
        r: _Resolved,
        pred: Prediction,
        d: Decisions,
        phi: np.ndarray,
        row: np.ndarray,
    ) -> Recommendation:
        app = r.app
        sheet = self._sheet(r)
        installed = float(row[self._col["total_kw"]])
        peak = float(pred.peak_kw[i])
        basis = str(d.basis[i])
        fallback_reason = d.fallback_reason[i]
        warnings: list[Warning_] = []
        if basis == "area":
            warnings.append(_warn("area_only"))
            warnings.append(self._list_gain_warning())
        elif basis == "industry":
            warnings.append(_warn("industry_only"))
        if fallback_reason in ("unknown_industry", "industry_not_listed"):
            warnings.append(_warn(fallback_reason))
        assumed = [m for m in r.matches if m.source == "assumed"]
        if assumed:
            names = [str(m.text) for m in assumed[:5]]
            warnings.append(
                _warn("unmatched_assumed", {"n": len(assumed), "names": names, "as": app.unmatched})
            )
        # The decision path's answer for this row; explanations only from here on.
        final_kva = float(d.final_kva[i])
        bounds = self._bounds(i, d)
        if bounds.clamped:
            rule = d.rule(i)
            params = {"policy_kva": bounds.unclamped_kva, "final_kva": final_kva}
            warnings.append(
                Warning_(
                    code="clamped",
                    params={
                        **params,
                        "rule_code": rule.code if rule else None,
                        "rule_params": rule.params if rule else {},
                    },
                    message_zh=render("clamped", {**params, "rule": _text(rule, "zh")}, "zh"),
                    message_en=render("clamped", {**params, "rule": _text(rule, "en")}, "en"),
                )
            )
        # Tier table around the final answer (probabilities at each shown capacity).
        tiers, k = neighbour_tiers(final_kva, self.model.config.policy.neighbours)
        p1 = self.model.probabilities_for(pred, i, tiers)
        pf = self.sizing.power_factor
        options = [
            trusted(
                TierOption,
                capacity_kva=float(t),
                p_appropriate=float(p1.p_appropriate[0, j]),
                p_undersized=float(p1.p_undersized[0, j]),
                p_oversized=float(p1.p_oversized[0, j]),
                expected_load_rate=peak / (float(t) * pf),
                monthly_capacity_charge_yuan=self._monthly_charge(float(t)),
                recommended=j == k,
            )
            for j, t in enumerate(tiers)
        ]
        peers = self._peers(i, app, d)
        if peers.too_few_peers:
            warnings.append(_warn("few_peers", {"n": peers.n_peers}))
        if peers.outside_p5_p95:
            warnings.append(_warn("outside_peers"))
        if d.few_customers[i]:
            few: dict[str, Any] = {
                "industry": app.industry,
                "n": int(d.industry_n[i]),
                "min": self.model.calibrator.min_group_size,
                "weight": float(d.calibration_weight[i]),
            }
            warnings.append(_warn("few_customers", few))
        if d.density_outside[i]:
            warnings.append(_warn("implausible_density"))
        manual_review = bool(d.manual_review[i])
        drivers = self._drivers(i, pred, phi, sheet, basis, row)
        tariff = final_kva >= self.engineering.tariff_threshold_kva
        comparison = None
        if tariff:
            power = pf * self.sizing.high

            mu_i, group_i = pred.mu[i : i + 1], pred.groups[i : i + 1]
            high = self.sizing.high

            def survival(x: np.ndarray) -> np.ndarray:
                # P(peak > x) is P(undersized) at the capacity whose limit is x: the
                # one CDF of tier_probabilities that gives it (the same arithmetic,
                # without the second CDF, P(oversized), which nothing here reads).
                caps = np.maximum(np.asarray(x, dtype=float), 1e-9) / power
                log_hi = np.log(caps * pf * high)[None, :]
                return np.asarray(1.0 - self.model.calibrator.cdf(mu_i, group_i, log_hi)[0])

            comparison = compare_bases(
                final_kva,
                survival,
                capacity_price_yuan_per_kva_month=self.config.capacity_price_yuan_per_kva_month,
                demand_price_yuan_per_kw_month=self.config.demand_price_yuan_per_kw_month,
                min_demand_share=self.config.min_demand_share,
                upper_kw=3.0 * float(pred.high90[i]),
            )
        missing = self._missing_loads(r, basis)
        for item in missing:
            cat = self.catalog.categories[item.category]
            warnings.append(
                _warn(
                    "missing_load",
                    {
                        "industry": app.industry,
                        "category": item.category,
                        "category_zh": cat.name_zh,
                        "category_en": cat.name_en.lower(),
                        "share": item.share_of_peers,
                        "typical_kw": item.typical_kw,
                    },
                )
            )
        industry_found = (
            industry_matcher().match(app.industry_text)
            if app.industry_text != app.industry
            else None
        )
        risk = self._risk_statement(i, app, d)
        return Recommendation(
            model_version=self.model_version,
            source="model" if fallback_reason is None else "fallback",
            fallback_reason=fallback_reason,
            basis=basis,
            recommended_kva=final_kva,
            supply_voltage=supply_voltage(peak, final_kva, self.engineering)[0],
            two_part_tariff=tariff,
            capacity_price_yuan_per_kva_month=self.config.capacity_price_yuan_per_kva_month,
            monthly_capacity_charge_yuan=self._monthly_charge(final_kva),
            predicted_peak_kw=peak,
            peak_low80_kw=float(pred.low80[i]),
            peak_high80_kw=float(pred.high80[i]),
            peak_low90_kw=float(pred.low90[i]),
            peak_high90_kw=float(pred.high90[i]),
            expected_load_rate=peak / (final_kva * pf),
            p_appropriate=float(d.p_appropriate[i]),
            p_undersized=float(d.p_undersized[i]),
            p_oversized=float(d.p_oversized[i]),
            tiers=options,
            drivers=drivers,
            installed_kw=installed,
            standby_kw=float(
                sum(
                    it.rated_kw * it.quantity
                    for it, c in zip(app.equipment, r.categories, strict=True)
                    if c is not None and (it.standby or c in EXCLUDED_CATEGORIES)
                )
            ),
            peers=peers,
            bounds=bounds,
            manual_review=manual_review,
            calibration_customers=int(d.calibration_n[i]),
            calibration_own_weight=float(d.calibration_weight[i]),
            warnings=warnings,
            engineering=sheet,
            engineering_kva=sheet.transformer_kva if sheet is not None else None,
            matches=r.matches,
            industry_match=IndustryMatch(
                text=app.industry_text,
                industry=app.industry,
                confidence=industry_found.confidence if industry_found else 1.0,
                source="name" if industry_found else "code",
                matched_alias=industry_found.matched_alias if industry_found else None,
                guess=is_guess(industry_found.confidence) if industry_found else False,
                not_listed=app.industry == OTHER_INDUSTRY,
            ),
            undersized_risk=risk,
            tariff=comparison,
            missing_loads=missing,
            existing=self._existing(i, app, pred, row, final_kva),
        )

    def _existing(
        self, i: int, app: Application, pred: Prediction, row: np.ndarray, final_kva: float
    ) -> ExistingCustomer | None:
        """What the meter shows, the change, and today's capacity against the answer."""
        cap = app.existing_capacity_kva
        if cap is None or not self.model.builder.metered_:
            return None
        col = self._col
        mean = float(row[col["meter_mean_kw"]])
        demand = float(row[col["meter_max_demand_kw"]])
        measured = demand if np.isfinite(demand) else float(row[col["meter_max_month_kw"]])
        metered = float(row[col["metered_kw"]])
        change = float(row[col["change_kw"]])
        peak = float(pred.peak_kw[i])
        today = self.model.probabilities_for(pred, i, np.array([cap]))
        yearly = 12.0 * (self._monthly_charge(final_kva) - self._monthly_charge(cap))
        rate = measured / (cap * self.sizing.power_factor)
        p_under = float(
            self.model.probabilities_for(pred, i, np.array([final_kva])).p_undersized[0, 0]
        )
        params = {
            "kind": app.application_type,
            "months": len(app.meter_readings),
            "measured_kw": measured,
            "demand_metered": bool(np.isfinite(demand)),
            "measured_rate": rate,
            "existing_kva": cap,
            "recommended_kva": final_kva,
            "p_undersized": p_under,
            "p_undersized_today": float(today.p_undersized[0, 0]),
            "yearly_difference_yuan": yearly,
        }
        return ExistingCustomer(
            application_type=app.application_type,
            existing_capacity_kva=cap,
            months_metered=len(app.meter_readings),
            mean_kw=mean,
            max_demand_kw=demand if np.isfinite(demand) else None,
            measured_peak_kw=measured,
            measured_load_rate=rate,
            metered_part_kw=metered,
            change_kw=change,
            correction_kw=peak - metered - change,
            p_appropriate_today=float(today.p_appropriate[0, 0]),
            p_undersized_today=float(today.p_undersized[0, 0]),
            p_oversized_today=float(today.p_oversized[0, 0]),
            capacity_change_kva=final_kva - cap,
            yearly_difference_yuan=yearly,
            message_zh=render("existing_customer", params, "zh"),
            message_en=render("existing_customer", params, "en"),
        )

    def _risk_statement(self, i: int, app: Application, d: Decisions) -> UndersizedRisk:
        """Row ``i``'s P(undersized) in plain words, and what its risk cap did."""
        cap = float(d.risk_cap[i])
        final, uncapped = float(d.final_kva[i]), float(d.uncapped_kva[i])
        p_under = float(d.p_undersized[i])
        params: dict[str, Any] = {
            "p": p_under,
            "final_kva": final,
            "p_oversized": float(d.p_oversized[i]),
        }
        source: Literal["request", "utility"] | None = None
        code = "undersized_risk"
        if math.isfinite(cap):
            source = "request" if app.max_undersized_risk is not None else "utility"
            params |= {"cap": cap, "uncapped_kva": uncapped}
            if p_under > cap + 1e-9:
                code = "undersized_risk_cap_missed"
            elif float(d.policy_kva[i]) > uncapped:
                code = "undersized_risk_capped"
            else:
                code = "undersized_risk_within_cap"
        return UndersizedRisk(
            p_undersized=p_under,
            max_undersized_risk=cap if source else None,
            cap_source=source,
            uncapped_kva=uncapped,
            code=code,
            params=params,
            message_zh=render(code, params, "zh"),
            message_en=render(code, params, "en"),
        )

    def _missing_loads(self, r: _Resolved, basis: str) -> list[MissingLoad]:
        """Loads most peers of the industry list and this list lacks (equipment basis only)."""
        if basis != "equipment":
            return []
        running = [
            (c, it.rated_kw * it.quantity)
            for it, c in zip(r.app.equipment, r.categories, strict=True)
            if c is not None and not it.standby and c not in EXCLUDED_CATEGORIES
        ]
        found = missing_loads(
            self.model.peers,
            r.app.industry,
            [c for c, _ in running],
            float(sum(kw for _, kw in running)),
        )
        return [
            MissingLoad(
                category=m.category,
                share_of_peers=m.share,
                typical_kw=m.typical_kw,
                included=False,
            )
            for m in found
        ]


def _coded(code: str, params: dict[str, Any]) -> Warning_:
    """A warning rendered from the message catalogs in both languages (see :func:`_warn`)."""
    return _warn(code, params)


def neighbour_tiers(final_kva: float, neighbours: int) -> tuple[np.ndarray, int]:
    """The standard tiers around ``final_kva`` (``neighbours`` each side) and its index.

    Computed arithmetically above 2,500 kVA (multiples of 1,250 kVA), so a large answer
    never builds the whole series up to itself.
    """
    std = [float(t) for t in standard_tiers(2500.0)]

    def up(t: float) -> float:
        return t + 1250.0 if t >= std[-1] else std[std.index(t) + 1]

    def down(t: float) -> float | None:
        if t > std[-1]:
            return t - 1250.0 if t - 1250.0 >= std[-1] else std[-1]
        j = std.index(t)
        return std[j - 1] if j > 0 else None

    below: list[float] = []
    low: float | None = final_kva
    while len(below) < neighbours and low is not None:
        low = down(low)
        if low is not None:
            below.append(low)
    above: list[float] = []
    high = final_kva
    while len(above) < neighbours:
        high = up(high)
        above.append(high)
    tiers = np.array([*reversed(below), final_kva, *above])
    return tiers, len(below)


def _warn(code: str, params: dict[str, Any] | None = None) -> Warning_:
    """A warning as a code with parameters, rendered by the message catalogs."""
    p = params or {}
    return Warning_(
        code=code, params=p, message_zh=render(code, p, "zh"), message_en=render(code, p, "en")
    )


def _opt(value: float) -> float | None:
    """A finite float, or None."""
    return float(value) if np.isfinite(value) else None


def _text(rule: BoundRule | None, lang: str) -> str | None:
    """A bound rule in ``lang``, or None."""
    return render(rule.code, rule.params, lang) if rule is not None else None


VERDICTS = np.array(["appropriate", "undersized", "oversized"], dtype=object)
"""Verdict labels in tie-break order: the first of equally likely outcomes wins."""


def verdicts(p_ok: np.ndarray, p_under: np.ndarray, p_over: np.ndarray) -> np.ndarray:
    """The planner verdict per row: the most likely outcome (ties: first of VERDICTS)."""
    stacked = np.stack([p_ok, p_under, p_over], axis=1)
    return np.asarray(VERDICTS[np.argmax(stacked, axis=1)])
