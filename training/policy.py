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
from training.uncertainty import ResidualCalibrator


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


def recommend_tiers(
    mu: np.ndarray,
    groups: np.ndarray,
    calibrator: ResidualCalibrator,
    config: PolicyConfig,
) -> tuple[np.ndarray, TierProbabilities, np.ndarray]:
    """Recommended capacity per row, the probability table and the chosen indices."""
    probs = tier_probabilities(mu, groups, calibrator, config.sizing)
    idx = choose_tiers(probs, config)
    return probs.tiers[idx], probs, idx
