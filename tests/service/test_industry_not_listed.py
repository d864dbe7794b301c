"""其他 / not listed: the all-industry (pooled) answer, flagged for review, one rule everywhere.

The reserved code :data:`features.catalog.OTHER_INDUSTRY` is no contract code, so no
history holds it: every industry-dependent figure falls to the all-industry one (base
weights, calibration pool, typical peak). These tests fail if 其他 (or a word that leads
to it: 住宅小区, 加油站) is read as a listed industry, or if the flag is lost.
"""

from __future__ import annotations

import numpy as np
import pytest

from features.catalog import OTHER_INDUSTRY
from features.schemas import Application
from serving.core import Recommender
from serving.model.predictor import CapacityModel

LINES = [
    {"name": "空调 5匹", "rated_kw": 3.7, "quantity": 10},
    {"name": "照明", "rated_kw": 0.04, "quantity": 200},
    {"category": "pump", "rated_kw": 7.5, "quantity": 2},
]


@pytest.fixture(scope="module")
def recommender(trained_model: CapacityModel) -> Recommender:
    return Recommender(trained_model, "test-1")


def _answer(recommender: Recommender, industry: str) -> object:
    app = Application.model_validate(
        {"industry": industry, "floor_area_m2": 2000.0, "equipment": LINES}
    )
    return recommender.recommend(app)


@pytest.mark.parametrize("word", ["其他", "other", "住宅小区", "加油站", "petrol station"])
def test_not_listed_is_the_pooled_answer_and_flagged(recommender: Recommender, word: str) -> None:
    a = _answer(recommender, word)
    assert a.industry_match.industry == OTHER_INDUSTRY
    assert a.industry_match.not_listed
    assert a.fallback_reason == "industry_not_listed"
    assert a.source == "fallback"
    assert a.manual_review
    assert "industry_not_listed" in {w.code for w in a.warnings}
    # Nothing of any listed industry's own: the calibration is the pool's entirely.
    assert a.calibration_own_weight == 0.0


def test_every_word_of_the_path_gives_the_same_answer(recommender: Recommender) -> None:
    answers = {w: _answer(recommender, w).recommended_kva for w in ("其他", "住宅小区", "加油站")}
    assert len(set(answers.values())) == 1, answers


def test_a_listed_industry_is_not_flagged(recommender: Recommender) -> None:
    a = _answer(recommender, "restaurant")
    assert not a.industry_match.not_listed
    assert a.fallback_reason != "industry_not_listed"
    assert "industry_not_listed" not in {w.code for w in a.warnings}


def test_the_builder_uses_the_all_industry_base_weights(trained_model: CapacityModel) -> None:
    b = trained_model.builder
    pooled = b.base_weights_[len(b.industries_)]
    assert np.array_equal(b.row_base_weights([OTHER_INDUSTRY])[0], pooled)
    # ... and a listed industry has weights of its own (else the check above proves nothing).
    own = b.row_base_weights([b.industries_[0]])[0]
    assert not np.array_equal(own, pooled) or b.base_weights_.shape[0] == 1


@pytest.mark.parametrize(("word", "guess"), [("工厂", True), ("machinary", True), ("饭店", False)])
def test_the_answer_says_when_the_industry_was_a_guess(
    recommender: Recommender, word: str, guess: bool
) -> None:
    a = _answer(recommender, word)
    assert a.industry_match.guess is guess
    assert not a.industry_match.not_listed


def test_an_equipment_guess_is_said_so(recommender: Recommender) -> None:
    # A typo corrected ('compresor') is a guess; the plain name is not.
    app = Application.model_validate(
        {
            "industry": "machinery",
            "equipment": [
                {"name": "air compresor", "rated_kw": 37.0},
                {"name": "空压机", "rated_kw": 37.0},
            ],
        }
    )
    matches = recommender.recommend(app).matches
    assert [m.guess for m in matches] == [True, False]


def test_the_batch_path_takes_the_same_rule(recommender: Recommender) -> None:
    import pandas as pd

    from features.uploads import resolve_customers
    from features.validation import validate_frames

    customers = pd.DataFrame(
        {
            "customer_id": ["H1", "R1"],
            "industry": ["住宅小区", "饭店"],
            "floor_area_m2": ["2000"] * 2,
        }
    )
    equipment = pd.DataFrame(
        {
            "customer_id": ["H1", "R1"],
            "category": ["pump"] * 2,
            "rated_kw": ["7.5"] * 2,
            "quantity": ["2"] * 2,
        }
    )
    resolve_customers(customers)
    assert customers["industry"].tolist() == [OTHER_INDUSTRY, "restaurant"]
    # A history never holds 其他 (no contract code); applications to answer may.
    history = validate_frames(customers, equipment)
    assert history.customers["customer_id"].tolist() == ["R1"]
    batch = validate_frames(customers, equipment, allow_not_listed=True)
    scored = recommender.score_frames(batch.customers, batch.equipment).set_index("customer_id")
    assert scored.loc["H1", "fallback_reason"] == "industry_not_listed"
    assert bool(scored.loc["H1", "manual_review"])
    assert scored.loc["R1", "fallback_reason"] != "industry_not_listed"
