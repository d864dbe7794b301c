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

from features.contract import DEFAULT_SIZING, SizingDefinition, standard_tiers
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
        top = float(np.exp(np.nanmax(mu)) * 4.0 / sizing.power_factor) if len(mu) else 2500.0
        tiers = standard_tiers(max(top, 2500.0))
    log_hi = np.log(tiers * sizing.power_factor * sizing.high)[None, :].repeat(len(mu), 0)
    log_lo = np.log(tiers * sizing.power_factor * sizing.low)[None, :].repeat(len(mu), 0)
    f_hi = calibrator.cdf(mu, groups, log_hi)
    f_lo = calibrator.cdf(mu, groups, log_lo)
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
        for group in np.unique(resolved[inside]):
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
    probs = tier_probabilities(mu, groups, calibrator, config.sizing)
    idx = choose_tiers(probs, config)
    if tables is None:
        return probs.tiers[idx], probs, idx
    chosen = tables.lookup(mu, groups, calibrator)
    chosen = np.where(np.isfinite(chosen), chosen, probs.tiers[idx])
    if chosen.max(initial=0.0) > probs.tiers[-1]:
        probs = tier_probabilities(
            mu, groups, calibrator, config.sizing, standard_tiers(float(chosen.max()))
        )
    idx = np.searchsorted(probs.tiers, chosen)
    return chosen, probs, idx
