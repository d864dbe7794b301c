"""The one decision path: from a prediction to the answer a user gets.

:func:`decide` takes a :class:`~serving.model.predictor.Prediction` (the peak
distribution of every row) and the applications' engineering figures, and applies, in
this order and vectorised over the batch:

1. the tier policy's choice (already in the prediction), raised where a risk appetite
   caps P(undersized) (:func:`serving.model.policy.cap_undersized_risk`);
2. the sanity bounds learned from the history plus the physical unit rule
   (:mod:`serving.model.bounds`), and the clamp;
3. the outcome probabilities at the FINAL capacity;
4. the basis of the estimate and the fallback reason;
5. how many calibration customers stand behind each answer, and the few-customer flag
   (an industry with fewer than half of ``min_group_size`` of them has mostly borrowed
   figures, shrunk towards all industries': a planner should look);
6. the manual-review flags (clamp, fallback, implausible density, outside the peers,
   few customers, a risk cap the bounds kept the answer from meeting).

Everything that states a figure about answers (``/recommend``, ``/check``,
``/recommend_batch``, ``capacity recommend``, ``capacity evaluate``, the promotion gate,
the model card, the pilot simulation) goes through here, so the figure describes what
users receive. The single answer is this path for one row, with explanations added.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.build import base_source_of
from features.catalog import OTHER_INDUSTRY, load_catalog
from features.density import density_outside_range
from features.engineering import industry_density
from serving.model.bounds import BoundRule, CapacityBounds, apply_bounds
from serving.model.peers import MIN_PEERS, PeerLookup, peer_lookup
from serving.model.policy import cap_undersized_risk
from serving.model.predictor import CapacityModel, Prediction

FALLBACK_REASONS = ("area_only", "no_equipment_no_area", "unknown_industry", "industry_not_listed")
"""``industry_not_listed``: the customer said its industry is not in the list (其他,
:data:`features.catalog.OTHER_INDUSTRY`); like an industry the history lacks, every figure
is the all-industry one (base weights, area multiplier, calibration pool), and a planner
reviews it."""
FEW_CUSTOMERS_SHARE = 0.5
"""An industry with fewer than this share of ``min_group_size`` calibration customers is
flagged: most of its figures are borrowed from all industries. (At the full
``min_group_size`` a third of the 20,000-customer model's answers were flagged for
industries of ~140 calibration customers, whose own weight was already 0.93.)"""


@dataclass
class Decisions:
    """The final answer per row, and how it came about.

    Attributes
    ----------
    policy_kva
        The tier policy's choice before the bounds.
    final_kva
        The answer (after the clamp).
    clamp_side
        +1 where the upper bound cut the answer, -1 where the lower bound raised it, 0
        where the policy's choice stood.
    bounds
        Lower and upper bounds per row (NaN where none applies), with the binding rules
        when asked for.
    p_appropriate, p_undersized, p_oversized
        Outcome probabilities at ``final_kva``.
    basis
        ``equipment``, ``area`` or ``industry``: what the estimate rests on.
    fallback_reason
        None, or one of :data:`FALLBACK_REASONS`.
    density_outside, peers
        Installed W/m² far outside the industry's range; peer comparison per row.
    calibration_n
        Calibration customers of the row's own group (industry, or its area-only group)
        behind its distribution (a shrunk group counts only its own).
    calibration_weight
        Weight of those customers in the distribution (1: its own; less: shrunk towards
        all industries' in proportion to the data; 0: borrowed entirely).
    industry_n
        Calibration customers of the row's industry (equipment lists and area only).
    few_customers
        A known industry with fewer than ``FEW_CUSTOMERS_SHARE × min_group_size``
        calibration customers.
    manual_review
        The answer needs a planner's look (clamp, weak fallback, density, peers, few
        customers).
    risk_cap
        The cap on P(undersized) applied to each row (NaN: none, the policy's own choice).
    uncapped_kva
        The tier policy's choice before the risk cap (equal to ``policy_kva`` where the
        cap did not bind).
    """

    policy_kva: np.ndarray
    final_kva: np.ndarray
    clamp_side: np.ndarray
    bounds: CapacityBounds
    p_appropriate: np.ndarray
    p_undersized: np.ndarray
    p_oversized: np.ndarray
    basis: np.ndarray
    fallback_reason: np.ndarray
    density_outside: np.ndarray
    peers: PeerLookup
    calibration_n: np.ndarray
    calibration_weight: np.ndarray
    industry_n: np.ndarray
    few_customers: np.ndarray
    manual_review: np.ndarray
    risk_cap: np.ndarray
    uncapped_kva: np.ndarray

    @property
    def clamped(self) -> np.ndarray:
        """Rows whose answer the bounds changed."""
        return np.asarray(self.clamp_side != 0, dtype=bool)

    def rule(self, i: int) -> BoundRule | None:
        """The rule that clamped row ``i`` (needs ``with_rules``), or None."""
        side = int(self.clamp_side[i])
        if side == 0:
            return None
        rules = self.bounds.lower_rule if side < 0 else self.bounds.upper_rule
        return rules[i] if rules else None


def outcome_probabilities(
    model: CapacityModel, pred: Prediction, kva: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(appropriate), P(undersized), P(oversized) of capacity ``kva[i]`` for row ``i``."""
    sizing = model.config.policy.sizing
    kva = np.asarray(kva, dtype=float)
    with np.errstate(divide="ignore"):
        limits = np.stack(
            [
                np.log(kva * sizing.power_factor * sizing.high),
                np.log(kva * sizing.power_factor * sizing.low),
            ],
            axis=1,
        )
        # Both limits of each row in one CDF call (elementwise: the same values as two).
        both = model.calibrator.cdf(pred.mu, pred.groups, limits)
    f_hi, f_lo = both[:, 0], both[:, 1]
    return np.clip(f_hi - f_lo, 0.0, 1.0), 1.0 - f_hi, f_lo


def _density_outside(industry: np.ndarray, total_kw: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Installed W/m² outside the industry's plausible range (the sheet's rule, one function)."""
    low = np.full(len(industry), np.nan)
    high = np.full(len(industry), np.nan)
    known = load_catalog().industries
    # The distinct codes in order of appearance, without pandas (pd.unique was ~10 % of
    # the decision's time on a single answer); NaN (unknown) is skipped below anyway.
    for code in dict.fromkeys(np.asarray(industry, dtype=object).tolist()):
        if code not in known:
            continue  # no range, no flag (features.density)
        d = industry_density(str(code))
        rows = industry == code
        low[rows], high[rows] = d.installed_w_m2_low, d.installed_w_m2_high
    return density_outside_range(total_kw, area, low, high)


def decide(
    model: CapacityModel,
    pred: Prediction,
    engineering: pd.DataFrame | Mapping[str, np.ndarray],
    *,
    apply_sanity_bounds: bool = True,
    with_rules: bool = False,
    min_peers: int = MIN_PEERS,
    max_undersized_risk: float | np.ndarray | None = None,
    industries: np.ndarray | None = None,
) -> Decisions:
    """The final answer for every row of ``pred`` (see the module docstring).

    Parameters
    ----------
    model
        The model that made ``pred``.
    pred
        Its prediction.
    engineering
        The rows' classical estimates (``eng_s30_comp_kva``), in the order of ``pred``
        (:meth:`CapacityModel.engineering_of`; a mapping of arrays will do).
    apply_sanity_bounds
        False only to measure what the bounds change (evaluation reports both).
    with_rules
        Also name the binding rule of each bound (for explanations and reports).
    min_peers
        Fewest peers a comparison cell needs.
    max_undersized_risk
        The risk appetite: a cap on P(undersized), one for all rows or one per row (NaN:
        none); None keeps the policy's choice. The sanity bounds still apply after it: a
        row whose upper bound cuts the capped answer reports its real P(undersized).
    industries
        The rows' industry codes as the applications gave them (the prediction holds only
        codes the model knows): rows of :data:`~features.catalog.OTHER_INDUSTRY` get the
        ``industry_not_listed`` fallback. None: no row is 其他 (a history).
    """
    # The feature columns as arrays (the same values as ``pred.features``, without pandas).
    industry = pred.industry
    total = pred.column("total_kw")
    largest = pred.column("largest_unit_kw")
    area = pred.column("floor_area_m2")
    basis = base_source_of(
        pred.column("base_kw"),
        pred.column("has_equipment"),
        pred.column("has_meter") if model.builder.metered_ else None,
    )
    s30 = np.asarray(engineering["eng_s30_comp_kva"], dtype=float)
    uncapped = np.asarray(pred.recommended_kva, dtype=float)
    risk_cap = np.full(len(uncapped), np.nan)
    if max_undersized_risk is not None:
        risk_cap[:] = np.asarray(max_undersized_risk, dtype=float)
    policy_kva = cap_undersized_risk(
        pred.mu, pred.groups, model.calibrator, model.config.policy.sizing, uncapped, risk_cap
    )
    if model.bounds is not None and apply_sanity_bounds:
        bounds = model.bounds.capacity_bounds(
            industry, basis, total, largest, s30, model.config.policy.sizing, with_rules
        )
        final, side = apply_bounds(policy_kva, bounds)
    else:
        nan = np.full(len(policy_kva), np.nan)
        bounds = CapacityBounds(nan, nan.copy(), [], [])
        final, side = policy_kva.copy(), np.zeros(len(policy_kva), dtype=int)
    p_ok, p_under, p_over = outcome_probabilities(model, pred, final)
    known = model.known_industries
    fallback = np.full(len(final), None, dtype=object)
    fallback[basis == "area"] = "area_only"
    fallback[basis == "industry"] = "no_equipment_no_area"
    unknown = np.fromiter((i not in known for i in industry), dtype=bool, count=len(industry))
    fallback[unknown] = "unknown_industry"
    if industries is not None:
        fallback[np.asarray(industries, dtype=object) == OTHER_INDUSTRY] = "industry_not_listed"
    density = _density_outside(industry, total, area)
    peers = peer_lookup(model.peers, industry, total, area, pred.peak_kw, min_peers)
    cal = model.calibrator
    industry_n = cal.industry_residuals(industry)
    few = ~unknown & (industry_n < FEW_CUSTOMERS_SHARE * cal.min_group_size)
    # A cap the answer could not meet (the upper bound cut it) needs a planner's look.
    cap_missed = np.isfinite(risk_cap) & (p_under > risk_cap + 1e-9)
    review = (
        cap_missed
        | density
        | peers.outside
        | (side != 0)
        | (fallback == "unknown_industry")
        | (fallback == "industry_not_listed")
        | (fallback == "no_equipment_no_area")
        | few
    )
    return Decisions(
        policy_kva=policy_kva,
        final_kva=final,
        clamp_side=side,
        bounds=bounds,
        p_appropriate=p_ok,
        p_undersized=p_under,
        p_oversized=p_over,
        basis=basis,
        fallback_reason=fallback,
        density_outside=density,
        peers=peers,
        calibration_n=cal.n_residuals(pred.groups),
        calibration_weight=cal.own_weight(pred.groups),
        industry_n=industry_n,
        few_customers=few,
        manual_review=review,
        risk_cap=risk_cap,
        uncapped_kva=uncapped,
    )
