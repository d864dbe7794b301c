"""Response objects of the recommender, declared once (API, web page, batch CSV, log)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from features.contract import CAPACITY_KVA_MAX, CAPACITY_KVA_MIN
from features.engineering import CalculationSheet
from features.schemas import Application

Verdict = Literal["appropriate", "undersized", "oversized"]


class TierOption(BaseModel):
    """Outcome probabilities of one standard capacity."""

    capacity_kva: float
    p_appropriate: float
    p_undersized: float
    p_oversized: float
    expected_load_rate: float = Field(..., description="predicted peak / (capacity × 0.9)")
    monthly_capacity_charge_yuan: float
    recommended: bool


class Driver(BaseModel):
    """What drives the predicted peak, in kW (drivers sum to the predicted peak)."""

    key: str = Field(..., description="e.g. category:machine_tool, floor_area, shifts")
    label_zh: str
    label_en: str
    kw: float = Field(..., description="Contribution to the predicted peak, kW")
    engineering_kw: float = Field(
        ...,
        description="Part from the base estimate: demand factors fitted to the history × "
        "installed kW (or floor area / industry when there is no list)",
    )
    correction_kw: float = Field(..., description="Part from the model's learned correction")


class PeerQuantiles(BaseModel):
    """P5/P10/P50/P90/P95 of a peer statistic."""

    p5: float
    p10: float
    p50: float
    p90: float
    p95: float


class PeerComparison(BaseModel):
    """Same-industry, same-scale peers (aggregates only, no identities)."""

    industry: str
    scale_band: str
    level: Literal["industry_and_scale", "industry", "none"]
    n_peers: int
    peak_per_installed_kw: PeerQuantiles | None
    peak_w_per_m2: PeerQuantiles | None
    this_peak_per_installed_kw: float | None
    this_peak_w_per_m2: float | None
    percentile_per_installed_kw: float | None
    percentile_w_per_m2: float | None
    outside_p5_p95: bool
    too_few_peers: bool


class SanityBounds(BaseModel):
    """Capacity bounds learned from the history (and the physical unit rule), and the clamp.

    Each rule comes as a code (``bound_unit``, ``bound_s30_high``…) with its evidence,
    rendered in both languages by :mod:`serving.messages`.
    """

    lower_kva: float | None
    lower_rule: str | None
    lower_rule_zh: str | None = None
    lower_rule_code: str | None = None
    upper_kva: float | None
    upper_rule: str | None
    upper_rule_zh: str | None = None
    upper_rule_code: str | None = None
    unclamped_kva: float
    clamped: bool
    clamp_rule: str | None
    clamp_rule_zh: str | None = None
    clamp_rule_code: str | None = None
    clamp_rule_params: dict[str, Any] | None = None


class NameMatch(BaseModel):
    """How one equipment line's category was resolved."""

    index: int
    text: str | None
    category: str | None
    confidence: float
    matched_alias: str | None
    source: Literal["code", "name", "unmatched", "assumed"]
    reason: str
    candidates: list[str] = Field(
        default_factory=list,
        description="For a name that matched no category: the three likeliest categories",
    )
    guess: bool = Field(
        False,
        description="Matched, but only as a guess (a tie between two aliases, a typo "
        "corrected): confirm the category",
    )


class IndustryMatch(BaseModel):
    """How the request's industry was read: a code, or a name people use (机加工, 写字楼…)."""

    text: str = Field(..., description="The industry as the request wrote it")
    industry: str = Field(..., description="The industry code it was read as")
    confidence: float
    source: Literal["code", "name"]
    matched_alias: str | None
    guess: bool = Field(
        False,
        description="Read from a broad or doubtful word (工厂, a typo): a guess to confirm, "
        "not a recognised industry",
    )
    not_listed: bool = Field(
        False,
        description="The industry is not in the list (其他): the all-industry answer, "
        "flagged for review",
    )


class TariffComparison(BaseModel):
    """基本电费 by capacity (按容量) against by maximum demand (按需量), two-part tariff only.

    The demand basis bills each month's maximum demand (kW), at least
    ``min_demand_share`` of the capacity; expected values come from the predicted peak
    distribution (each month's maximum taken as distributed like the 12-month peak, which
    can only overstate the demand basis). See :mod:`serving.tariff`.
    """

    capacity_kva: float
    capacity_price_yuan_per_kva_month: float
    demand_price_yuan_per_kw_month: float
    min_demand_share: float
    min_demand_kw: float
    expected_billed_demand_kw: float
    monthly_by_capacity_yuan: float
    monthly_by_demand_yuan: float
    cheaper: Literal["capacity", "demand"]
    yearly_saving_yuan: float = Field(
        ..., description="12 × the monthly difference, by the cheaper basis"
    )


class MissingLoad(BaseModel):
    """A load most peers of the industry list and this application does not (item of concern).

    From the training history (:mod:`serving.model.completeness`): the share of the
    industry's customers whose list has the category and the median kW they install.
    """

    category: str
    share_of_peers: float
    typical_kw: float
    included: bool = Field(False, description="Whether the recommendation includes it")


class Warning_(BaseModel):
    """A plain-words warning: a code with parameters, rendered in both languages.

    The page renders ``code`` and ``params`` from its own catalog; ``message_zh`` and
    ``message_en`` are the server's rendering (:mod:`serving.messages`).
    """

    code: str
    params: dict[str, Any] = Field(default_factory=dict)
    message_zh: str
    message_en: str


class ExistingCustomer(BaseModel):
    """What an existing customer's meter shows and what the change means (增容/减容/暂停)."""

    application_type: str
    existing_capacity_kva: float
    months_metered: int
    mean_kw: float = Field(..., description="Mean demand over the metered months, kW")
    max_demand_kw: float | None = Field(
        None, description="Highest monthly maximum demand (demand meter), kW"
    )
    measured_peak_kw: float = Field(
        ...,
        description="What the meter shows of the peak: the maximum demand, or without a demand "
        "meter the busiest month's mean (a lower bound of the peak)",
    )
    measured_load_rate: float = Field(
        ..., description="measured_peak_kw / (existing capacity × 0.9)"
    )
    metered_part_kw: float = Field(
        ..., description="The peak's metered part (the meter's figure with the learned allowance)"
    )
    change_kw: float = Field(
        ..., description="What the added (minus removed) lines add to the peak, kW"
    )
    correction_kw: float = Field(
        ..., description="The model's learned correction: predicted peak − metered part − change"
    )
    p_appropriate_today: float
    p_undersized_today: float
    p_oversized_today: float
    capacity_change_kva: float = Field(..., description="recommended − existing capacity")
    yearly_difference_yuan: float = Field(
        ...,
        description="Yearly capacity charge (基本电费) of the recommendation minus that of "
        "keeping today's capacity (negative: a saving)",
    )
    message_zh: str
    message_en: str


class UndersizedRisk(BaseModel):
    """The answer's risk of being undersized, in figures and in plain words.

    ``code`` is one of ``undersized_risk`` (no cap asked for), ``undersized_risk_within_cap``
    (the policy's answer already met the cap), ``undersized_risk_capped`` (raised from
    ``uncapped_kva`` to meet it) and ``undersized_risk_cap_missed`` (the sanity bounds kept
    it above the cap); ``params`` feed the page's catalog, ``message_zh``/``message_en`` are
    the server's rendering (:mod:`serving.messages`).
    """

    p_undersized: float
    max_undersized_risk: float | None = Field(
        None, description="The cap on P(undersized) applied (None: the policy's own choice)"
    )
    cap_source: Literal["request", "utility"] | None = None
    uncapped_kva: float = Field(..., description="The tier policy's choice before the cap")
    code: str
    params: dict[str, Any] = Field(default_factory=dict)
    message_zh: str
    message_en: str


class Recommendation(BaseModel):
    """The full answer to one application."""

    id: str | None = Field(None, description="Recommendation log id (for outcome feedback)")
    model_version: str
    source: Literal["model", "fallback"]
    fallback_reason: str | None
    basis: Literal["meter", "equipment", "area", "industry"]
    recommended_kva: float
    supply_voltage: str
    two_part_tariff: bool
    capacity_price_yuan_per_kva_month: float
    monthly_capacity_charge_yuan: float
    predicted_peak_kw: float
    peak_low80_kw: float
    peak_high80_kw: float
    peak_low90_kw: float
    peak_high90_kw: float
    expected_load_rate: float
    p_appropriate: float
    p_undersized: float
    p_oversized: float
    tiers: list[TierOption]
    drivers: list[Driver]
    drivers_base_kw: float = Field(
        0.0, description="Base value; drivers plus this equal the predicted peak"
    )
    installed_kw: float
    standby_kw: float
    peers: PeerComparison
    bounds: SanityBounds
    manual_review: bool
    calibration_customers: int | None = Field(
        None,
        description="Calibration customers of this answer's own group (industry, or its "
        "area-only group) behind its probabilities and intervals",
    )
    calibration_own_weight: float | None = Field(
        None,
        description="Their weight in the distribution: 1 its own, less when shrunk towards "
        "all industries' for lack of data",
    )
    warnings: list[Warning_]
    engineering: CalculationSheet | None
    engineering_kva: float | None
    matches: list[NameMatch]
    industry_match: IndustryMatch | None = None
    tariff: TariffComparison | None = Field(
        None, description="Capacity against demand basis of 基本电费 (two-part tariff only)"
    )
    missing_loads: list[MissingLoad] = Field(
        default_factory=list,
        description="Loads most peers of the industry list and this application does not",
    )
    existing: ExistingCustomer | None = Field(
        None, description="An existing customer's meter and change (None for a new connection)"
    )
    undersized_risk: UndersizedRisk | None = Field(
        None, description="P(undersized) in plain words, and the risk cap applied if any"
    )


class CheckRequest(BaseModel):
    """A planner's proposed capacity for an application."""

    application: Application
    proposed_kva: float = Field(
        ...,
        ge=CAPACITY_KVA_MIN,
        le=CAPACITY_KVA_MAX,
        allow_inf_nan=False,
        strict=True,
        description=f"Proposed capacity, kVA ({CAPACITY_KVA_MIN:g} to {CAPACITY_KVA_MAX:g})",
    )


class CheckResult(BaseModel):
    """The planner check: verdict on the proposal beside the recommendation."""

    proposed_kva: float
    proposed_is_standard: bool
    verdict: Verdict
    p_appropriate: float
    p_undersized: float
    p_oversized: float
    expected_load_rate: float
    recommended_kva: float
    recommended_p_appropriate: float
    yearly_capacity_charge_proposed_yuan: float
    yearly_capacity_charge_recommended_yuan: float
    yearly_difference_yuan: float = Field(
        ..., description="proposed minus recommended yearly capacity charge"
    )
    costs_more_than_recommended: bool = Field(
        False,
        description="The proposal is appropriate but its yearly capacity charge is higher than "
        "the recommendation's (the verdict says so, in words and yuan).",
    )
    message_zh: str
    message_en: str
    recommendation: Recommendation
