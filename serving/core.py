"""Recommender core: model + bounds + peers + explanations, in plain Python.

Used by the BentoML service, the web page (through the service) and the CLI batch path.
The model part is vectorised over a batch (one LightGBM call for predictions, one for
TreeSHAP contributions); the per-application assembly (calculation sheet, drivers, peers,
bounds, warnings) is cheap Python.

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
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features.build import EXCLUDED_CATEGORIES, HistoryFrames, frames_from_applications
from features.catalog import load_catalog
from features.contract import SizingDefinition, is_standard_capacity, tier_at_or_above
from features.engineering import (
    CalculationSheet,
    EngineeringConfig,
    calculation_sheet,
    groups_from_equipment,
)
from features.matching import NameMatcher
from features.schemas import Application, EquipmentItem
from serving.schemas import (
    CheckResult,
    Driver,
    NameMatch,
    PeerComparison,
    PeerQuantiles,
    Recommendation,
    SanityBounds,
    TierOption,
    Warning_,
)
from training.model import CapacityModel, Prediction
from training.peers import percentile_in, scale_band

GROUP_LABELS: dict[str, tuple[str, str]] = {
    "floor_area": ("建筑面积", "Floor area"),
    "employees": ("员工人数", "Employees"),
    "shifts": ("班制", "Shifts"),
    "industry": ("行业", "Industry"),
    "climate_zone": ("气候区", "Climate zone"),
    "equipment_size": ("设备规模与台数", "Equipment size and unit counts"),
    "engineering_estimate": ("需要系数法估算及基准", "Demand-coefficient estimate and base"),
    "equipment_mix": ("设备构成（未列出的类别）", "Equipment mix (categories not listed)"),
}


class RecommenderConfig(BaseModel):
    """Serving-time settings (passed in explicitly)."""

    model_config = ConfigDict(frozen=True)

    capacity_price_yuan_per_kva_month: float = Field(22.0, gt=0)
    min_peers: int = Field(20, ge=1)
    base_load_share: float = Field(
        0.10, ge=0, le=1, description="Base load beside the largest unit, share of the rest"
    )
    engineering_reach_low: float = Field(0.25, gt=0, description="Lower reach × engineering S30")
    engineering_reach_high: float = Field(1.5, gt=0, description="Upper reach × engineering S30")
    min_match_confidence: float = Field(0.5, ge=0, le=1)


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
        self._known_industries = set(model.builder.industry_fallback_kw_) or set(
            model.peers.get("industries", {})
        )
        self._col = {name: j for j, name in enumerate(model.builder.feature_names_)}

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
        contrib = self.model.contributions(pred.matrix)
        # Row values as plain floats (a pandas row lookup per feature is slow).
        values = pred.matrix
        basis = self.model.builder.base_source(pred.features)
        recs = [
            self._assemble(i, r, pred, contrib[i], values[i], str(basis[i]))
            for i, r in enumerate(resolved)
        ]
        return recs, pred

    def check(self, application: Application, proposed_kva: float) -> CheckResult:
        """Planner check of a proposed capacity."""
        recs, pred = self._answer([application])
        rec = recs[0]
        assert pred is not None
        probs = self.model.probabilities_for(pred, 0, np.array([float(proposed_kva)]))
        p_ok = float(probs.p_appropriate[0, 0])
        p_under = float(probs.p_undersized[0, 0])
        p_over = float(probs.p_oversized[0, 0])
        verdict = max(
            (("appropriate", p_ok), ("undersized", p_under), ("oversized", p_over)),
            key=lambda kv: kv[1],
        )[0]
        price = self.config.capacity_price_yuan_per_kva_month
        yearly_prop = self._monthly_charge(proposed_kva) * 12
        yearly_rec = self._monthly_charge(rec.recommended_kva) * 12
        diff = yearly_prop - yearly_rec
        load = rec.predicted_peak_kw / (proposed_kva * self.sizing.power_factor)
        zh_verdict = {"appropriate": "容量合适", "undersized": "容量偏小", "oversized": "容量偏大"}[
            verdict
        ]
        msg_zh = (
            f"申报 {proposed_kva:g} kVA：{zh_verdict}（合适概率 {p_ok:.0%}，偏小 {p_under:.0%}，"
            f"偏大 {p_over:.0%}）。建议 {rec.recommended_kva:g} kVA，"
            f"每年基本电费相差 {diff:,.0f} 元（单价 {price:g} 元/kVA·月）。"
        )
        msg_en = (
            f"Proposed {proposed_kva:g} kVA is {verdict} (P appropriate {p_ok:.0%}, undersized "
            f"{p_under:.0%}, oversized {p_over:.0%}). Recommended {rec.recommended_kva:g} kVA; "
            f"the yearly capacity charge differs by {diff:,.0f} yuan (at {price:g} yuan/kVA·month)."
        )
        return CheckResult(
            proposed_kva=float(proposed_kva),
            proposed_is_standard=is_standard_capacity(float(proposed_kva)),
            verdict=verdict,  # type: ignore[arg-type]
            p_appropriate=p_ok,
            p_undersized=p_under,
            p_oversized=p_over,
            expected_load_rate=float(load),
            recommended_kva=rec.recommended_kva,
            recommended_p_appropriate=rec.p_appropriate,
            yearly_capacity_charge_proposed_yuan=yearly_prop,
            yearly_capacity_charge_recommended_yuan=yearly_rec,
            yearly_difference_yuan=diff,
            message_zh=msg_zh,
            message_en=msg_en,
            recommendation=rec,
        )

    def score_applications(self, applications: Sequence[Application]) -> pd.DataFrame:
        """Vectorised summary answers for API applications (names matched first).

        Rows follow :meth:`score_frames` (customer ids ``app-0``, ``app-1``…) plus
        ``unmatched_lines``: equipment lines whose free-text name matched no category and
        were left out (the full answer lists them).
        """
        resolved = [self._resolve(a) for a in applications]
        flat: list[str | None] = [c for r in resolved for c in r.categories]
        frames = frames_from_applications(applications, categories=flat)
        scored = self.score_frames(frames.customers, frames.equipment)
        scored["unmatched_lines"] = [sum(c is None for c in r.categories) for r in resolved]
        return scored

    def score_frames(self, customers: pd.DataFrame, equipment: pd.DataFrame) -> pd.DataFrame:
        """Vectorised batch scoring of clean contract frames (CLI batch path, CSV answers).

        Same model, policy and sanity bounds as :meth:`recommend`, without the
        per-application explanations, so 100,000 customers score in seconds.
        """
        frames = HistoryFrames(customers.reset_index(drop=True), equipment.reset_index(drop=True))
        pred = self.model.predict(frames)
        ids = frames.customers["customer_id"].astype(str).to_numpy()
        # Reused from the feature path (same engineering defaults; the price override does
        # not enter the estimates).
        eng = self.model.engineering_of(frames, pred)
        lower, upper = sanity_bounds(
            pred.features["total_kw"].to_numpy(dtype=float),
            pred.features["largest_unit_kw"].to_numpy(dtype=float),
            eng["eng_s30_comp_kva"].to_numpy(dtype=float),
            self.config,
            self.sizing,
        )
        policy_kva = pred.recommended_kva
        final = np.where(np.isfinite(upper) & (policy_kva > upper), upper, policy_kva)
        final = np.where(np.isfinite(lower) & (final < lower), lower, final)
        clamped = final != policy_kva
        n = len(ids)
        rows = np.arange(n)
        p_ok = pred.probs.p_appropriate[rows, pred.chosen]
        p_under = pred.probs.p_undersized[rows, pred.chosen]
        p_over = pred.probs.p_oversized[rows, pred.chosen]
        if clamped.any():
            # Re-evaluate the outcome probabilities at the clamped capacities.
            idx = np.searchsorted(pred.probs.tiers, final[clamped])
            inside = (idx < len(pred.probs.tiers)) & (
                pred.probs.tiers[np.minimum(idx, len(pred.probs.tiers) - 1)] == final[clamped]
            )
            sel = np.where(clamped)[0]
            for j, (r, k, ok) in enumerate(zip(sel, idx, inside, strict=True)):
                if ok:
                    p_ok[r] = pred.probs.p_appropriate[r, k]
                    p_under[r] = pred.probs.p_undersized[r, k]
                    p_over[r] = pred.probs.p_oversized[r, k]
                else:  # pragma: no cover - clamps always land on standard tiers
                    one = self.model.probabilities_for(pred, int(r), np.array([final[sel[j]]]))
                    p_ok[r], p_under[r], p_over[r] = (
                        one.p_appropriate[0, 0],
                        one.p_undersized[0, 0],
                        one.p_oversized[0, 0],
                    )
        basis = self.model.builder.base_source(pred.features)
        return pd.DataFrame(
            {
                "customer_id": ids,
                "industry": frames.customers["industry"].astype(str).to_numpy(),
                "recommended_kva": final,
                "predicted_peak_kw": pred.peak_kw,
                "peak_low_kw": pred.low90,
                "peak_high_kw": pred.high90,
                "peak_low80_kw": pred.low80,
                "peak_high80_kw": pred.high80,
                "p_appropriate": p_ok,
                "p_undersized": p_under,
                "p_oversized": p_over,
                "engineering_kva": eng["eng_kva"].to_numpy(dtype=float),
                "basis": basis,
                "clamped": clamped,
                "model_version": self.model_version,
            }
        )

    # -- helpers -------------------------------------------------------------------------
    def _monthly_charge(self, kva: float) -> float:
        """基本电费 per month: only under the two-part tariff (≥ 315 kVA)."""
        if kva >= self.engineering.tariff_threshold_kva:
            return float(kva) * self.config.capacity_price_yuan_per_kva_month
        return 0.0

    def _resolve(self, app: Application) -> _Resolved:
        cats: list[str | None] = []
        matches: list[NameMatch] = []
        for i, item in enumerate(app.equipment):
            if item.category:
                cats.append(item.category)
                matches.append(
                    NameMatch(
                        index=i,
                        text=item.name,
                        category=item.category,
                        confidence=1.0,
                        matched_alias=None,
                        source="code",
                        reason="category code given",
                    )
                )
                continue
            m = self.matcher.match(item.name or "")
            ok = m.category is not None and m.confidence >= self.config.min_match_confidence
            cats.append(m.category if ok else None)
            matches.append(
                NameMatch(
                    index=i,
                    text=item.name,
                    category=m.category if ok else None,
                    confidence=float(m.confidence),
                    matched_alias=m.matched_alias,
                    source="name" if ok else "unmatched",
                    reason=m.reason,
                )
            )
        return _Resolved(app=app, categories=cats, matches=matches)

    def _sheet(self, r: _Resolved) -> CalculationSheet | None:
        items = [
            EquipmentItem(
                category=c,
                name=it.name,
                rated_kw=it.rated_kw,
                quantity=it.quantity,
                standby=it.standby,
            )
            for it, c in zip(r.app.equipment, r.categories, strict=True)
            if c is not None
        ]
        built = groups_from_equipment(items)
        try:
            return calculation_sheet(
                built.groups,
                self.engineering,
                industry=r.app.industry,
                floor_area_m2=r.app.floor_area_m2,
                excluded=built.excluded,
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
        groups = self.model.builder.feature_groups()
        names = self.model.builder.feature_names_
        corr: dict[str, float] = {}
        for name, value in zip(names, feat, strict=True):
            g = groups[name]
            if g.startswith("category:") and not row[self._col[f"kw__{g.split(':', 1)[1]}"]] > 0:
                # A category the application does not have still shifts the prediction
                # (its absence says something about the mix); reporting it as "fans
                # 0.3 kW" for a site without fans would confuse, so it is pooled.
                g = "equipment_mix"
            corr[g] = corr.get(g, 0.0) + scale * float(value) * factor
        eng: dict[str, float] = {}
        builder = self.model.builder
        industry = pred.features["industry"].iloc[i]
        installed = np.array([row[self._col[f"kw__{c}"]] for c in builder.categories_])
        parts = installed * builder.row_base_weights([industry])[0]
        if basis == "equipment" and parts.sum() > 0:
            # The base is a sum over categories (fitted demand factor × installed kW).
            for code, part in zip(builder.categories_, parts, strict=True):
                if part > 0:
                    eng[f"category:{code}"] = scale * float(part) / float(parts.sum())
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
                Driver(
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

    def _peers(self, app: Application, installed_kw: float, peak_kw: float) -> PeerComparison:
        band = str(scale_band(np.array([installed_kw]), np.array([app.floor_area_m2 or np.nan]))[0])
        cells = self.model.peers.get("cells", {})
        cell = cells.get(f"{app.industry}|{band}")
        level = "industry_and_scale"
        if cell is None or cell["n"] < self.config.min_peers:
            cell = self.model.peers.get("industries", {}).get(app.industry)
            level = "industry"
        if cell is None:
            return PeerComparison(
                industry=app.industry,
                scale_band=band,
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
        per_kw = peak_kw / installed_kw if installed_kw > 0 else None
        per_m2 = peak_kw * 1000.0 / app.floor_area_m2 if app.floor_area_m2 else None
        q_kw = cell.get("peak_per_installed_kw")
        q_m2 = cell.get("peak_w_per_m2")
        pct_kw = percentile_in(per_kw, q_kw) if per_kw is not None else None
        pct_m2 = percentile_in(per_m2, q_m2) if per_m2 is not None else None
        outside = any(p is not None and (p < 5 or p > 95) for p in (pct_kw, pct_m2))
        return PeerComparison(
            industry=app.industry,
            scale_band=band,
            level=level,  # type: ignore[arg-type]
            n_peers=int(cell["n"]),
            peak_per_installed_kw=PeerQuantiles(**q_kw) if q_kw else None,
            peak_w_per_m2=PeerQuantiles(**q_m2) if q_m2 else None,
            this_peak_per_installed_kw=per_kw,
            this_peak_w_per_m2=per_m2,
            percentile_per_installed_kw=pct_kw,
            percentile_w_per_m2=pct_m2,
            outside_p5_p95=outside,
            too_few_peers=int(cell["n"]) < self.config.min_peers,
        )

    def _bounds(
        self, features: dict[str, Any], sheet: CalculationSheet | None, recommended: float
    ) -> SanityBounds:
        total = float(features["total_kw"])
        largest = float(features["largest_unit_kw"])
        s30 = sheet.s30_comp_kva if sheet is not None else float("nan")
        lo_arr, hi_arr, lo_rule, hi_rule = sanity_bounds(
            np.array([total]), np.array([largest]), np.array([s30]), self.config, self.sizing,
            with_rules=True,
        )  # fmt: skip
        lower = float(lo_arr[0]) if np.isfinite(lo_arr[0]) else None
        upper = float(hi_arr[0]) if np.isfinite(hi_arr[0]) else None
        value, rule = recommended, None
        if upper is not None and value > upper:
            value, rule = upper, hi_rule[0]
        if lower is not None and value < lower:
            value, rule = lower, lo_rule[0]
        return SanityBounds(
            lower_kva=lower,
            lower_rule=lo_rule[0][0] if lower is not None else None,
            lower_rule_zh=lo_rule[0][1] if lower is not None else None,
            upper_kva=upper,
            upper_rule=hi_rule[0][0] if upper is not None else None,
            upper_rule_zh=hi_rule[0][1] if upper is not None else None,
            unclamped_kva=recommended,
            clamped=rule is not None,
            clamp_rule=rule[0] if rule else None,
            clamp_rule_zh=rule[1] if rule else None,
        )

    def _assemble(
        self,
        i: int,
        r: _Resolved,
        pred: Prediction,
        phi: np.ndarray,
        row: np.ndarray,
        basis: str,
    ) -> Recommendation:
        app = r.app
        sheet = self._sheet(r)
        installed = float(row[self._col["total_kw"]])
        peak = float(pred.peak_kw[i])
        warnings: list[Warning_] = []
        fallback_reason = None
        if basis == "area":
            fallback_reason = "area_only"
            warnings.append(
                Warning_(
                    code="area_only",
                    message_zh="未提供（可识别的）设备清单：按行业和建筑面积估算，不确定性较大。",
                    message_en="No (recognisable) equipment list: estimated from industry and floor "
                    "area only, with wider uncertainty.",
                )
            )
        elif basis == "industry":
            fallback_reason = "no_equipment_no_area"
            warnings.append(
                Warning_(
                    code="industry_only",
                    message_zh="既无设备清单也无建筑面积：仅按行业典型值估算，请补充资料并人工复核。",
                    message_en="Neither an equipment list nor a floor area: estimated from the "
                    "industry's typical customer only; add data and review manually.",
                )
            )
        if app.industry not in self._known_industries:
            fallback_reason = "unknown_industry"
            warnings.append(
                Warning_(
                    code="unknown_industry",
                    message_zh="历史数据中没有该行业的客户：结果依赖通用规律，请人工复核。",
                    message_en="The training history has no customer of this industry: the answer "
                    "relies on general patterns; review manually.",
                )
            )
        unmatched = [m for m in r.matches if m.source == "unmatched"]
        if unmatched:
            names = "、".join(str(m.text) for m in unmatched[:5])
            warnings.append(
                Warning_(
                    code="unmatched_names",
                    message_zh=f"{len(unmatched)} 项设备名称无法识别，未计入：{names}。请选择设备类别。",
                    message_en=f"{len(unmatched)} equipment name(s) could not be matched and were "
                    f"left out: {names}. Please choose a category.",
                )
            )
        # Policy choice, then sanity bounds.
        tiers = pred.probs.tiers
        chosen = int(pred.chosen[i])
        policy_kva = float(tiers[chosen])
        bounds = self._bounds(
            {"total_kw": installed, "largest_unit_kw": float(row[self._col["largest_unit_kw"]])},
            sheet,
            policy_kva,
        )
        final_kva = policy_kva
        if bounds.clamped:
            final_kva = float(
                bounds.lower_kva
                if bounds.lower_kva is not None and policy_kva < bounds.lower_kva
                else bounds.upper_kva  # type: ignore[arg-type]
            )
            warnings.append(
                Warning_(
                    code="clamped",
                    message_zh=f"模型建议 {policy_kva:g} kVA 超出合理范围，已按规则调整为 {final_kva:g} kVA：{bounds.clamp_rule_zh}。",
                    message_en=f"The model's {policy_kva:g} kVA fell outside the sanity bounds and "
                    f"was adjusted to {final_kva:g} kVA: {bounds.clamp_rule}.",
                )
            )
        # Tier table around the final answer.
        if final_kva in tiers:
            k = int(np.where(tiers == final_kva)[0][0])
            probs = pred.probs
            p_row = (probs.p_appropriate[i], probs.p_undersized[i], probs.p_oversized[i])
        else:
            tiers = np.unique(np.append(tiers, final_kva))
            p1 = self.model.probabilities_for(pred, i, tiers)
            p_row = (p1.p_appropriate[0], p1.p_undersized[0], p1.p_oversized[0])
            k = int(np.where(tiers == final_kva)[0][0])
        nb = self.model.config.policy.neighbours
        lo, hi = max(0, k - nb), min(len(tiers), k + nb + 1)
        pf = self.sizing.power_factor
        options = [
            TierOption(
                capacity_kva=float(tiers[j]),
                p_appropriate=float(p_row[0][j]),
                p_undersized=float(p_row[1][j]),
                p_oversized=float(p_row[2][j]),
                expected_load_rate=peak / (float(tiers[j]) * pf),
                monthly_capacity_charge_yuan=self._monthly_charge(float(tiers[j])),
                recommended=j == k,
            )
            for j in range(lo, hi)
        ]
        peers = self._peers(app, installed, peak)
        if peers.too_few_peers:
            warnings.append(
                Warning_(
                    code="few_peers",
                    message_zh=f"同行业同规模的历史客户较少（{peers.n_peers} 户），对比仅供参考。",
                    message_en=f"Few historical customers of the same industry and scale "
                    f"({peers.n_peers}); the comparison is indicative only.",
                )
            )
        if peers.outside_p5_p95:
            warnings.append(
                Warning_(
                    code="outside_peers",
                    message_zh="预测负荷处于同行业同规模客户的 5%–95% 区间之外，请人工复核。",
                    message_en="The predicted peak lies outside the P5–P95 range of same-industry, "
                    "same-scale customers; review manually.",
                )
            )
        density_flag = bool(sheet is not None and sheet.density_outside_range)
        if density_flag:
            warnings.append(
                Warning_(
                    code="implausible_density",
                    message_zh="单位面积设备容量远超出该行业的常见范围，请核对设备清单和面积，需人工复核。",
                    message_en="Installed kW per m² is far outside this industry's usual range: check "
                    "the equipment list and floor area; manual review needed.",
                )
            )
        manual_review = bool(
            density_flag
            or peers.outside_p5_p95
            or bounds.clamped
            or fallback_reason in {"unknown_industry", "no_equipment_no_area"}
        )
        drivers = self._drivers(i, pred, phi, sheet, basis, row)
        tariff = final_kva >= self.engineering.tariff_threshold_kva
        return Recommendation(
            model_version=self.model_version,
            source="model" if fallback_reason is None else "fallback",
            fallback_reason=fallback_reason,
            basis=basis,  # type: ignore[arg-type]
            recommended_kva=final_kva,
            supply_voltage=_supply_voltage(peak, final_kva, self.engineering),
            two_part_tariff=tariff,
            capacity_price_yuan_per_kva_month=self.config.capacity_price_yuan_per_kva_month,
            monthly_capacity_charge_yuan=self._monthly_charge(final_kva),
            predicted_peak_kw=peak,
            peak_low80_kw=float(pred.low80[i]),
            peak_high80_kw=float(pred.high80[i]),
            peak_low90_kw=float(pred.low90[i]),
            peak_high90_kw=float(pred.high90[i]),
            expected_load_rate=peak / (final_kva * pf),
            p_appropriate=float(p_row[0][k]),
            p_undersized=float(p_row[1][k]),
            p_oversized=float(p_row[2][k]),
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
            warnings=warnings,
            engineering=sheet,
            engineering_kva=sheet.transformer_kva if sheet is not None else None,
            matches=r.matches,
        )


def sanity_bounds(
    total_kw: np.ndarray,
    largest_kw: np.ndarray,
    eng_s30_comp_kva: np.ndarray,
    config: RecommenderConfig,
    sizing: SizingDefinition,
    with_rules: bool = False,
) -> Any:
    """Rule-based capacity bounds per row (NaN where a rule does not apply).

    Lower: the largest single running unit plus a base load must not overload the
    capacity; and no less than ``engineering_reach_low`` × the demand-coefficient S30.
    Upper: never above all non-standby equipment running at once at cos φ 0.8; and no
    more than ``engineering_reach_high`` × the demand-coefficient S30. When the lower
    bound exceeds the upper, the lower wins (an overloaded transformer is worse).

    Returns ``(lower, upper)``, plus the binding rules as (English, Chinese) pairs when
    ``with_rules``.
    """
    total = np.asarray(total_kw, dtype=float)
    largest = np.asarray(largest_kw, dtype=float)
    s30 = np.asarray(eng_s30_comp_kva, dtype=float)
    has_eq = total > 0
    has_eng = np.isfinite(s30) & (s30 > 0)
    base_load = config.base_load_share * np.maximum(total - largest, 0.0)
    nan = np.full(total.shape, np.nan)
    unit_lo = np.where(
        has_eq, _tiers((largest + base_load) / (sizing.power_factor * sizing.high)), nan
    )
    eng_lo = np.where(has_eng, _tiers(s30 * config.engineering_reach_low), nan)
    all_hi = np.where(has_eq, _tiers(total / 0.8), nan)
    eng_hi = np.where(has_eng, _tiers(s30 * config.engineering_reach_high), nan)
    lower = np.fmax(unit_lo, eng_lo)
    upper = np.fmin(all_hi, eng_hi)
    if not with_rules:
        return lower, upper
    # Each rule in English and Chinese: (en, zh).
    lo_rule = [
        (
            f"largest running unit ({lg:g} kW) plus base load ({bl:.1f} kW) must not overload "
            "the capacity",
            f"最大单台运行设备（{lg:g} kW）加基础负荷（{bl:.1f} kW）不得使容量过载",
        )
        if (np.isfinite(u) and (not np.isfinite(e) or u >= e))
        else (
            f"at least {config.engineering_reach_low:g} × the demand-coefficient S30 ({s:.0f} kVA)",
            f"不低于需要系数法计算容量 S30（{s:.0f} kVA）的 {config.engineering_reach_low:g} 倍",
        )
        for lg, bl, u, e, s in zip(largest, base_load, unit_lo, eng_lo, s30, strict=True)
    ]
    hi_rule = [
        (
            f"all non-standby equipment ({t:g} kW) running at once at cos φ 0.8",
            f"全部非备用设备（{t:g} kW）按 cos φ 0.8 同时运行",
        )
        if (np.isfinite(a) and (not np.isfinite(e) or a <= e))
        else (
            f"at most {config.engineering_reach_high:g} × the demand-coefficient S30 ({s:.0f} kVA)",
            f"不高于需要系数法计算容量 S30（{s:.0f} kVA）的 {config.engineering_reach_high:g} 倍",
        )
        for t, a, e, s in zip(total, all_hi, eng_hi, s30, strict=True)
    ]
    return lower, upper, lo_rule, hi_rule


def _tiers(kva: np.ndarray) -> np.ndarray:
    """Standard tier at or above each value (NaN stays NaN)."""
    out = np.full(np.shape(kva), np.nan)
    ok = np.isfinite(kva) & (np.asarray(kva) > 0)
    if ok.any():
        out[ok] = tier_at_or_above(np.asarray(kva)[ok])
    return out


def _supply_voltage(peak_kw: float, capacity_kva: float, eng: EngineeringConfig) -> str:
    """Supply voltage suggestion by the same thresholds as the engineering method."""
    if peak_kw < eng.single_phase_max_kw:
        return "220V"
    if peak_kw <= eng.lv_max_kw:
        return "0.4kV"
    if capacity_kva > eng.mv_max_kva:
        return "35kV+"
    return "10kV"
