"""The demand factors' pull towards their prior is chosen by held-out folds.

``features.build.choose_factor_prior_rows`` must let an industry whose equipment really
runs unlike the others' keep its own factors (a weak pull) and hold an industry that only
differs by noise at its prior (a strong pull); the fixed 10 pseudo-customers did neither.
"""

from __future__ import annotations

import numpy as np

from features.build import (
    FACTOR_PRIOR_CANDIDATES,
    choose_factor_prior_rows,
    fit_coincident_factors,
)


def _industry(
    rng: np.random.Generator, n: int, truth: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` customers of four categories whose peak is ``truth · demand`` with log noise."""
    demand = rng.gamma(1.5, 40.0, size=(n, len(truth))) * (rng.random((n, len(truth))) < 0.7)
    demand[demand.sum(axis=1) == 0, 0] = 50.0
    peak = demand @ truth * np.exp(rng.normal(0.0, noise, size=n))
    return demand, peak


def _held_out_error(m: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((m / truth - 1.0) ** 2)))


def test_an_industry_unlike_its_prior_gets_a_weak_pull() -> None:
    rng = np.random.default_rng(3)
    truth = np.array([0.9, 0.2, 0.6, 0.3])
    prior = np.full(4, 0.5)
    demand, peak = _industry(rng, 600, truth, noise=0.05)
    chosen = choose_factor_prior_rows(demand, None, peak, prior)
    assert chosen <= 10.0
    m_chosen, _ = fit_coincident_factors(demand, None, peak, chosen, prior)
    m_strong, _ = fit_coincident_factors(demand, None, peak, max(FACTOR_PRIOR_CANDIDATES), prior)
    assert _held_out_error(m_chosen, truth) < _held_out_error(m_strong, truth)


def test_an_industry_that_differs_only_by_noise_is_held_at_its_prior() -> None:
    rng = np.random.default_rng(4)
    truth = np.full(4, 0.5)
    demand, peak = _industry(rng, 80, truth, noise=0.45)
    chosen = choose_factor_prior_rows(demand, None, peak, truth)
    assert chosen >= 100.0
    m_chosen, _ = fit_coincident_factors(demand, None, peak, chosen, truth)
    m_weak, _ = fit_coincident_factors(demand, None, peak, min(FACTOR_PRIOR_CANDIDATES), truth)
    assert _held_out_error(m_chosen, truth) < _held_out_error(m_weak, truth)


def test_too_few_customers_keep_the_fixed_strength_and_the_choice_is_repeatable() -> None:
    rng = np.random.default_rng(5)
    truth = np.array([0.9, 0.2, 0.6, 0.3])
    demand, peak = _industry(rng, 30, truth, noise=0.1)
    assert choose_factor_prior_rows(demand, None, peak, np.full(4, 0.5)) == 10.0
    demand, peak = _industry(rng, 300, truth, noise=0.2)
    first = choose_factor_prior_rows(demand, None, peak, np.full(4, 0.5))
    assert choose_factor_prior_rows(demand, None, peak, np.full(4, 0.5)) == first
