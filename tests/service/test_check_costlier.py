"""The planner check says when a proposal is appropriate but dearer (issue 25, item 9)."""

from __future__ import annotations

import pytest

from features.schemas import Application, EquipmentItem
from serving.core import Recommender
from serving.model.predictor import CapacityModel


@pytest.fixture(scope="module")
def recommender(trained_model: CapacityModel) -> Recommender:
    return Recommender(trained_model, "test-1")


def test_an_appropriate_proposal_above_the_recommendation_names_the_yuan(
    recommender: Recommender,
) -> None:
    app = Application(
        industry="office",
        floor_area_m2=20000.0,
        equipment=[EquipmentItem(category="chiller", rated_kw=350.0, quantity=2)],
    )
    rec = recommender.recommend(app)
    dearer = [
        t.capacity_kva
        for t in rec.tiers
        if t.capacity_kva > rec.recommended_kva
        and t.p_appropriate >= max(t.p_oversized, t.p_undersized)
    ]
    if not dearer:
        pytest.skip("no appropriate tier above the recommendation for this model")
    check = recommender.check(app, dearer[0])
    assert check.verdict == "appropriate" and check.yearly_difference_yuan > 0
    assert check.costs_more_than_recommended
    assert f"{check.yearly_difference_yuan:,.0f} 元" in check.message_zh
    assert "costs" in check.message_en
    same = recommender.check(app, rec.recommended_kva)
    assert not same.costs_more_than_recommended
