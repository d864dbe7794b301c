"""Risk appetite: a cap on P(undersized) raises the answer to the smallest tier meeting it.

Protects :func:`serving.model.policy.cap_undersized_risk` (the one rule every caller gets
through :func:`serving.model.decision.decide`) and the declaration of the field.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from features.contract import DEFAULT_SIZING, standard_tiers
from features.schemas import MAX_UNDERSIZED_RISK, MIN_UNDERSIZED_RISK, UndersizedRiskCap
from serving.messages import CATALOGS, render
from serving.model.calibration import ResidualCalibrator
from serving.model.policy import (
    DecisionTables,
    PolicyConfig,
    RiskAppetite,
    cap_undersized_risk,
    recommend_capacity,
    tier_probabilities,
)

SIGMA = 0.3
N_CAL = 3000


@pytest.fixture(scope="module")
def calibrator() -> ResidualCalibrator:
    rng = np.random.default_rng(7)
    # Skewed residuals (a long upper tail), as thin-information answers have.
    residuals = rng.gumbel(0.0, SIGMA, N_CAL)
    return ResidualCalibrator(min_group_size=150).fit(residuals, np.full(N_CAL, "g"))


@pytest.fixture(scope="module")
def mus() -> np.ndarray:
    return np.linspace(np.log(8.0), np.log(6000.0), 500)


def _p_under(cal: ResidualCalibrator, mu: np.ndarray, kva: np.ndarray) -> np.ndarray:
    power = DEFAULT_SIZING.power_factor * DEFAULT_SIZING.high
    return 1.0 - cal.cdf(mu, np.full(len(mu), "g"), np.log(kva * power))


@pytest.mark.parametrize("cap", [0.05, 0.10, 0.25])
def test_capped_answer_is_the_smallest_tier_meeting_the_cap(
    calibrator: ResidualCalibrator, mus: np.ndarray, cap: float
) -> None:
    groups = np.full(len(mus), "g")
    # Starting from the smallest tier, the cap alone decides: the answer must be exactly
    # the smallest standard tier whose P(undersized) is at most the cap.
    floor = np.full(len(mus), 30.0)
    capped = cap_undersized_risk(mus, groups, calibrator, DEFAULT_SIZING, floor, cap)
    assert np.all(_p_under(calibrator, mus, capped) <= cap + 1e-12)
    tiers = standard_tiers(float(capped.max()) * 2)
    below = np.array([tiers[max(np.searchsorted(tiers, c) - 1, 0)] for c in capped])
    smaller = below < capped
    assert smaller.sum() > 400
    assert np.all(_p_under(calibrator, mus[smaller], below[smaller]) > cap)


def test_cap_never_lowers_and_binds_where_the_policy_is_riskier(
    calibrator: ResidualCalibrator, mus: np.ndarray
) -> None:
    groups = np.full(len(mus), "g")
    config = PolicyConfig()
    policy = recommend_capacity(mus, groups, calibrator, config, DecisionTables(calibrator, config))
    p_policy = _p_under(calibrator, mus, policy)
    for cap in (0.05, 0.10):
        capped = cap_undersized_risk(mus, groups, calibrator, DEFAULT_SIZING, policy, cap)
        assert np.all(capped >= policy)
        assert np.all(_p_under(calibrator, mus, capped) <= cap + 1e-12)
        # Where the policy already met the cap, its answer stands.
        met = p_policy <= cap
        np.testing.assert_array_equal(capped[met], policy[met])
        assert (~met).sum() > 50  # the cap really binds on this wide distribution
        # Monotone in the predicted peak, like the policy's own answer.
        assert np.all(np.diff(capped) >= 0)
    # A tighter cap never gives a smaller answer.
    c5 = cap_undersized_risk(mus, groups, calibrator, DEFAULT_SIZING, policy, 0.05)
    c10 = cap_undersized_risk(mus, groups, calibrator, DEFAULT_SIZING, policy, 0.10)
    assert np.all(c5 >= c10) and np.any(c5 > c10)


def test_per_row_caps_and_nan_rows(calibrator: ResidualCalibrator, mus: np.ndarray) -> None:
    groups = np.full(len(mus), "g")
    start = np.full(len(mus), 30.0)
    caps = np.where(np.arange(len(mus)) % 2 == 0, 0.05, np.nan)
    out = cap_undersized_risk(mus, groups, calibrator, DEFAULT_SIZING, start, caps)
    np.testing.assert_array_equal(out[1::2], start[1::2])  # NaN: no cap, untouched
    alone = cap_undersized_risk(mus[::2], groups[::2], calibrator, DEFAULT_SIZING, start[::2], 0.05)
    np.testing.assert_array_equal(out[::2], alone)
    assert cap_undersized_risk(mus, groups, calibrator, DEFAULT_SIZING, start, None) is not start


def test_capped_probabilities_agree_with_the_tier_table(
    calibrator: ResidualCalibrator, mus: np.ndarray
) -> None:
    """The cap is checked with the same CDF the tier table shows the user."""
    groups = np.full(len(mus), "g")
    capped = cap_undersized_risk(
        mus, groups, calibrator, DEFAULT_SIZING, np.full(len(mus), 30.0), 0.10
    )
    probs = tier_probabilities(mus, groups, calibrator, DEFAULT_SIZING, np.unique(capped))
    j = np.searchsorted(probs.tiers, capped)
    assert np.all(probs.p_undersized[np.arange(len(mus)), j] <= 0.10 + 1e-12)


@pytest.mark.parametrize("bad", [0.0, 0.005, 0.51, 1.0, -0.1, float("nan"), float("inf"), "0.1"])
def test_a_bad_cap_is_refused_naming_the_range(bad: object) -> None:
    with pytest.raises(ValidationError) as err:
        TypeAdapter(UndersizedRiskCap).validate_python(bad)
    assert err.value.errors()[0]["type"] in {
        "greater_than_equal",
        "less_than_equal",
        "finite_number",
        "float_type",
    }
    with pytest.raises(ValidationError):
        RiskAppetite.model_validate({"max_undersized_risk": bad})


def test_edges_of_the_range_are_accepted() -> None:
    for ok in (MIN_UNDERSIZED_RISK, 0.05, 0.1, MAX_UNDERSIZED_RISK, 1 // 10):
        if ok == 0:
            continue
        assert RiskAppetite(max_undersized_risk=ok).max_undersized_risk == ok


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_risk_messages_say_it_in_plain_words(lang: str) -> None:
    base = {"p": 0.083, "final_kva": 630.0, "p_oversized": 0.3}
    text = render("undersized_risk", base, lang)
    assert "630" in text and "8.3 %" in text
    assert ("1 in 12" if lang == "en" else "12 户中有 1 户") in text
    capped = render("undersized_risk_capped", {**base, "cap": 0.1, "uncapped_kva": 500.0}, lang)
    assert "500" in capped and "10.0 %" in capped
    tiny = render("undersized_risk", {**base, "p": 0.001}, lang)
    assert ("fewer than 1 in 200" if lang == "en" else "不到 1/200") in tiny
    codes = {c for c in CATALOGS[lang] if c.startswith("undersized_risk")}
    assert codes == {
        "undersized_risk",
        "undersized_risk_within_cap",
        "undersized_risk_capped",
        "undersized_risk_cap_missed",
    }
