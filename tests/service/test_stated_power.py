"""A stated power decides AC/DC-type choices on the served path (issue 25, item 1)."""

from __future__ import annotations

import pytest

from features.schemas import Application, EquipmentItem
from serving.core import Recommender
from serving.model.predictor import CapacityModel


@pytest.fixture(scope="module")
def recommender(trained_model: CapacityModel) -> Recommender:
    return Recommender(trained_model, "test-1")


def _charging(name: str, kw: float) -> Application:
    return Application(
        industry="ev_charging",
        floor_area_m2=3000.0,
        equipment=[EquipmentItem(name=name, rated_kw=kw, quantity=10)],
    )


def test_a_120_kw_charger_that_does_not_say_dc_is_answered_as_dc(recommender: Recommender) -> None:
    neutral = recommender.recommend(_charging("充电桩", 120.0))
    dc = recommender.recommend(_charging("直流充电桩", 120.0))
    assert neutral.matches[0].category == "ev_charger_dc"
    assert "assumed AC" not in neutral.matches[0].reason
    assert neutral.recommended_kva == dc.recommended_kva


def test_a_7_kw_charger_stays_ac(recommender: Recommender) -> None:
    assert recommender.recommend(_charging("充电桩", 7.0)).matches[0].category == "ev_charger_ac"
