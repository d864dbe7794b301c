"""Tier policy: from a predictive distribution of peak to a standard capacity.

For every candidate standard capacity ``C`` the probabilities of the contract's three
outcomes follow from the predictive CDF ``F`` of the peak:

* undersized: ``P(peak > high * pf * C) = 1 - F(high * pf * C)``
* oversized: ``P(peak < low * pf * C) = F(low * pf * C)``
* appropriate: the rest.

The policy picks the capacity with the highest ``P(appropriate) - w * P(undersized)``
(ties go to the smaller, cheaper capacity). ``w`` (``undersize_weight``, default 0.3)
states explicitly that an undersized connection costs more than an oversized one
(overload, re-application, delay against a few months of capacity charges): among
capacities of nearly equal P(appropriate) it prefers the one that overloads less. With
``w = 0`` this is the pure "maximise P(appropriate)" rule. Optionally only capacities
whose P(undersized) stays under a cap are considered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from features.contract import (
    DEFAULT_SIZING,
    MULTI_TRANSFORMER_STEP_KVA,
    STANDARD_SERIES_KVA,
    SizingDefinition,
    standard_tiers,
)
from features.schemas import UNDERSIZED_RISK_HELP, UndersizedRiskCap
from serving.model.calibration import ResidualCalibrator


class PolicyConfig(BaseModel):
    """Tier-policy settings (band and power factor come from the sizing definition)."""

    model_config = ConfigDict(frozen=True)

    sizing: SizingDefinition = DEFAULT_SIZING
    undersize_weight: float = Field(
        0.3,
        ge=0,
        le=5,
        description="Weight w of P(undersized) in the score P(appropriate) - w·P(undersized).",
    )
    max_p_undersized: float | None = Field(
        None,
        ge=0,
        le=1,
        description="If set, prefer capacities whose P(undersized) is at most this.",
    )
    neighbours: int = Field(2, ge=0, le=6, description="Tiers reported each side of the answer.")


@dataclass
class TierProbabilities:
    """Outcome probabilities per row and candidate tier."""

    tiers: np.ndarray  # (n_tiers,)
    p_appropriate: np.ndarray  # (n_rows, n_tiers)
    p_undersized: np.ndarray
    p_oversized: np.ndarray


def tier_probabilities(
    mu: np.ndarray,
    groups: np.ndarray,
    calibrator: ResidualCalibrator,
    sizing: SizingDefinition = DEFAULT_SIZING,
    tiers: np.ndarray | None = None,
) -> TierProbabilities:
    """Outcome probabilities of each candidate tier for each row (vectorised)."""
    mu = np.asarray(mu, dtype=float)
    if tiers is None:
        tiers = candidate_tiers(mu)
    log_hi = np.log(tiers * sizing.power_factor * sizing.high)
    log_lo = np.log(tiers * sizing.power_factor * sizing.low)
    # Both limits in one CDF call (the CDF is elementwise: the same values as two calls).
    n_tiers = len(log_hi)
    both = calibrator.cdf(mu, groups, np.concatenate([log_hi, log_lo])[None, :].repeat(len(mu), 0))
    f_hi, f_lo = both[:, :n_tiers], both[:, n_tiers:]
    p_under = 1.0 - f_hi
    p_over = f_lo
    p_ok = np.clip(f_hi - f_lo, 0.0, 1.0)
    return TierProbabilities(
        tiers=tiers, p_appropriate=p_ok, p_undersized=p_under, p_oversized=p_over
    )


def choose_tiers(probs: TierProbabilities, config: PolicyConfig) -> np.ndarray:
    """Index of the chosen tier per row."""
    score = probs.p_appropriate - config.undersize_weight * probs.p_undersized
    if config.max_p_undersized is not None:
        # Capacities that undersize too often are only chosen when nothing else qualifies.
        score = np.where(probs.p_undersized <= config.max_p_undersized, score, score - 2.0)
    # argmax returns the first (smallest) tier among ties: the cheaper capacity wins.
    rounded = np.round(score, 9)
    return np.asarray(np.argmax(rounded, axis=1))


MU_STEP = 0.002
"""Resolution (in log kW) of the precomputed decision tables."""
MU_RANGE = (float(np.log(0.5)), float(np.log(5.0e4)))
"""Predicted peaks the tables cover (0.5 kW to 50 MW); outside, the plain argmax is used."""
T_WINDOW = (-1.0, 2.2)
"""Candidate tiers per grid point: log(C) - mu within this window. An appropriate tier has
log(C) - mu between log(1/0.9) and log(1/0.36); the margin covers shifted residuals."""
CHUNK = 250
MAX_CANDIDATES = 1024
"""Most candidate tiers :func:`candidate_tiers` gives (memory is bounded for any input)."""
_MU_CLIP = (-30.0, 40.0)  # log kW; exp(40) kW is far beyond any connection

_SERIES = np.asarray(STANDARD_SERIES_KVA, dtype=float)
_FIRST_MULTI = float(
    (STANDARD_SERIES_KVA[-1] // MULTI_TRANSFORMER_STEP_KVA + 1) * MULTI_TRANSFORMER_STEP_KVA
)


def _tier_index_at_most(kva: float) -> int:
    """Index (in the endless standard list) of the largest tier <= kva, 0 if none."""
    if kva < _FIRST_MULTI:
        return max(int(np.searchsorted(_SERIES, kva, side="right")) - 1, 0)
    return len(_SERIES) + int((kva - _FIRST_MULTI) // MULTI_TRANSFORMER_STEP_KVA)


def _tier_index_at_least(kva: float) -> int:
    """Index of the smallest tier >= kva."""
    if kva <= _SERIES[-1]:
        return int(np.searchsorted(_SERIES, kva, side="left"))
    return len(_SERIES) + max(int(np.ceil((kva - _FIRST_MULTI) / MULTI_TRANSFORMER_STEP_KVA)), 0)


def _tiers_at(index: np.ndarray) -> np.ndarray:
    index = np.asarray(index, dtype=np.int64)
    multi = _FIRST_MULTI + (index - len(_SERIES)).astype(float) * MULTI_TRANSFORMER_STEP_KVA
    return np.where(index < len(_SERIES), _SERIES[np.minimum(index, len(_SERIES) - 1)], multi)


def candidate_tiers(mu: np.ndarray, max_count: int = MAX_CANDIDATES) -> np.ndarray:
    """The standard tiers a policy can choose for predictions ``mu`` (log kW).

    Tiers with ``log(C) - mu`` inside :data:`T_WINDOW` for some row, widened by one tier
    each side (and to 2,500 kVA at least, as :func:`standard_tiers` gives by default).
    Above 2,500 kVA the standard list grows by 1,250 kVA steps without end, so for a huge
    prediction the window is thinned evenly to at most ``max_count`` tiers: memory stays
    bounded whatever the input. Without a finite ``mu`` the default list is returned.
    """
    mu = np.asarray(mu, dtype=float)
    finite = mu[np.isfinite(mu)]
    if not finite.size:
        return standard_tiers(2500.0)
    lo_mu, hi_mu = np.clip([finite.min(), finite.max()], *_MU_CLIP)
    first = _tier_index_at_most(float(np.exp(lo_mu + T_WINDOW[0])))
    last = max(
        _tier_index_at_least(float(np.exp(hi_mu + T_WINDOW[1]))), _tier_index_at_least(2500.0)
    )
    if last - first + 1 <= max_count:
        index = np.arange(first, last + 1)
    else:
        index = np.unique(np.linspace(first, last, max_count).round().astype(np.int64))
    return _tiers_at(index)


def _argmax_rows(
    mu: np.ndarray, groups: np.ndarray, calibrator: ResidualCalibrator, config: PolicyConfig
) -> np.ndarray:
    """The plain argmax choice per row, each over its own candidate window."""
    out = np.empty(len(mu))
    for i in range(len(mu)):
        probs = tier_probabilities(
            mu[i : i + 1],
            groups[i : i + 1],
            calibrator,
            config.sizing,
            candidate_tiers(mu[i : i + 1]),
        )
        out[i] = probs.tiers[choose_tiers(probs, config)[0]]
    return out


class DecisionTables:
    """Monotone tier decisions per calibration group, precomputed on a grid of ``mu``.

    The plain argmax over tiers integrates a step-shaped empirical CDF, so a slightly
    larger predicted peak can occasionally pick a smaller tier. Here the argmax is taken
    on a fine grid of ``mu`` and then made non-decreasing (running maximum), and a
    prediction between grid points takes the upper point's decision: the recommended
    capacity can then never fall when the predicted peak rises.
    """

    def __init__(self, calibrator: ResidualCalibrator, config: PolicyConfig) -> None:
        sizing = config.sizing
        self.mu0, mu1 = MU_RANGE
        self.grid = np.arange(self.mu0, mu1 + MU_STEP, MU_STEP)
        self.tiers = standard_tiers(float(np.exp(mu1)) * 4.0 / sizing.power_factor)
        log_tiers = np.log(self.tiers)
        self.tables: dict[str, np.ndarray] = {}
        for group in calibrator.residuals_:
            choice = np.empty(len(self.grid), dtype=np.int64)
            for start in range(0, len(self.grid), CHUNK):
                mu = self.grid[start : start + CHUNK]
                lo = int(np.searchsorted(log_tiers, mu[0] + T_WINDOW[0]))
                hi = int(np.searchsorted(log_tiers, mu[-1] + T_WINDOW[1])) + 1
                cand = self.tiers[lo:hi]
                probs = tier_probabilities(mu, np.full(len(mu), group), calibrator, sizing, cand)
                choice[start : start + CHUNK] = lo + choose_tiers(probs, config)
            self.tables[group] = np.maximum.accumulate(choice)

    def lookup(
        self, mu: np.ndarray, groups: np.ndarray, calibrator: ResidualCalibrator
    ) -> np.ndarray:
        """Chosen capacity (kVA) per row; NaN where ``mu`` is outside the tables."""
        mu = np.asarray(mu, dtype=float)
        resolved = calibrator._resolve(groups)
        k = np.ceil((mu - self.mu0) / MU_STEP - 1e-9)
        inside = np.isfinite(k) & (k >= 0) & (k < len(self.grid))
        out = np.full(len(mu), np.nan)
        # The distinct groups (disjoint rows, any order) without np.unique's sort.
        for group in dict.fromkeys(resolved[inside].tolist()):
            rows = inside & (resolved == group)
            out[rows] = self.tiers[self.tables[str(group)][k[rows].astype(np.int64)]]
        return out


def recommend_tiers(
    mu: np.ndarray,
    groups: np.ndarray,
    calibrator: ResidualCalibrator,
    config: PolicyConfig,
    tables: DecisionTables | None = None,
) -> tuple[np.ndarray, TierProbabilities, np.ndarray]:
    """Recommended capacity per row, the probability table and the chosen indices.

    With ``tables`` the monotone decisions are used (the tier table is extended when a
    decision lies beyond it); without, the plain argmax.
    """
    if tables is None:
        probs = tier_probabilities(mu, groups, calibrator, config.sizing)
        idx = choose_tiers(probs, config)
        return probs.tiers[idx], probs, idx
    chosen = recommend_capacity(mu, groups, calibrator, config, tables)
    probs = probabilities_covering(mu, groups, calibrator, config.sizing, chosen)
    idx = np.searchsorted(probs.tiers, chosen)
    return chosen, probs, idx


def recommend_capacity(
    mu: np.ndarray,
    groups: np.ndarray,
    calibrator: ResidualCalibrator,
    config: PolicyConfig,
    tables: DecisionTables,
) -> np.ndarray:
    """The recommended capacity per row, without the rows × tiers probability table.

    The monotone table decides inside its range; outside it (or for a non-finite ``mu``)
    the plain argmax over the row's own candidate window.
    """
    mu = np.asarray(mu, dtype=float)
    chosen = tables.lookup(mu, groups, calibrator)
    missing = ~np.isfinite(chosen)
    if missing.any():
        groups = np.asarray(groups)
        chosen[missing] = _argmax_rows(mu[missing], groups[missing], calibrator, config)
    return chosen


def probabilities_covering(
    mu: np.ndarray,
    groups: np.ndarray,
    calibrator: ResidualCalibrator,
    sizing: SizingDefinition,
    chosen: np.ndarray,
) -> TierProbabilities:
    """The probability table over candidate tiers that include every ``chosen`` capacity."""
    chosen = np.asarray(chosen, dtype=float)
    tiers = np.union1d(candidate_tiers(mu), chosen[np.isfinite(chosen)])
    return tier_probabilities(mu, groups, calibrator, sizing, tiers)


MAX_RISK_STEPS = 64
"""Most tiers :func:`cap_undersized_risk` climbs above its starting tier (a cap far out in
the fitted tail of a wide distribution needs a few; the bound keeps the loop finite)."""


def cap_undersized_risk(
    mu: np.ndarray,
    groups: np.ndarray,
    calibrator: ResidualCalibrator,
    sizing: SizingDefinition,
    chosen: np.ndarray,
    cap: np.ndarray | float | None,
) -> np.ndarray:
    """Raise each ``chosen`` capacity to the smallest standard tier with P(undersized) ≤ cap.

    The risk appetite of :class:`RiskAppetite`: a row whose cap is NaN (or ``cap`` None)
    keeps its capacity; a capacity already at or under the cap is kept (a cap is a
    ceiling on the risk, not a target: it never makes an answer smaller). P(undersized)
    falls as the capacity grows and rises with ``mu``, so the capped answer is monotone in
    the predicted peak like the policy's own. The search starts from the tier the
    conformal quantile gives, steps down while the tier below still meets the cap and up
    until the tier meets it (the quantile and the CDF's fitted tails differ slightly).
    """
    chosen = np.asarray(chosen, dtype=float).copy()
    if cap is None:
        return chosen
    mu = np.asarray(mu, dtype=float)
    caps = np.broadcast_to(np.asarray(cap, dtype=float), mu.shape)
    rows = np.flatnonzero(np.isfinite(caps) & np.isfinite(mu) & np.isfinite(chosen))
    if not rows.size:
        return chosen
    groups = np.asarray(groups)
    m, g, c = mu[rows], groups[rows], caps[rows]
    power = sizing.power_factor * sizing.high

    def p_under(index: np.ndarray) -> np.ndarray:
        kva = _tiers_at(index)
        return 1.0 - calibrator.cdf(m, g, np.log(kva * power))

    start = np.empty(len(rows), dtype=np.int64)
    for level in np.unique(c):
        at = c == level
        q = calibrator.quantile(m[at], g[at], 1.0 - float(level))
        start[at] = [_tier_index_at_least(float(x)) for x in np.exp(q) / power]
    index = start
    for _ in range(3):  # down while the tier below still meets the cap
        below = np.maximum(index - 1, 0)
        ok = (index > 0) & (p_under(below) <= c)
        if not ok.any():
            break
        index = np.where(ok, below, index)
    for _ in range(MAX_RISK_STEPS):  # up until it meets it
        short = p_under(index) > c
        if not short.any():
            break
        index = np.where(short, index + 1, index)
    chosen[rows] = np.maximum(chosen[rows], _tiers_at(index))
    return chosen


class RiskAppetite(BaseModel):
    """How much risk of undersizing an answer may carry (utility setting or per request).

    ``max_undersized_risk`` None: the tier policy's own choice (maximise P(appropriate),
    undersizing weighed by :attr:`PolicyConfig.undersize_weight`). A level such as 0.10:
    the answer is the policy's choice, raised where needed to the smallest standard tier
    whose P(undersized) is at most that level, at the cost of oversizing more often.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_undersized_risk: UndersizedRiskCap | None = Field(None, description=UNDERSIZED_RISK_HELP)
