"""Completeness against peers: shares of listing customers, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from features.build import HistoryFrames
from serving.model.completeness import missing_loads
from training.completeness import build_completeness


def _frames() -> HistoryFrames:
    # 20 hotels: all have lighting (100 kW); 16 have a kitchen of 50 kW (ratio 0.5); the
    # kitchen of hotel 0 is a standby line only (not listed as running).
    customers = pd.DataFrame(
        {"customer_id": [f"h{i}" for i in range(20)], "industry": ["hotel"] * 20}
    )
    lines = []
    for i in range(20):
        lines.append((f"h{i}", "lighting", 100.0, 1, False))
        if i < 17:
            lines.append((f"h{i}", "kitchen_equipment", 50.0, 1, i == 0))
    equipment = pd.DataFrame(
        lines, columns=["customer_id", "category", "rated_kw", "quantity", "standby"]
    )
    return HistoryFrames(customers, equipment)


def test_shares_and_typical_ratios_by_hand() -> None:
    doc = build_completeness(_frames())["industries"]["hotel"]
    assert doc["n"] == 20
    assert doc["categories"]["lighting"]["share"] == pytest.approx(1.0)
    kitchen = doc["categories"]["kitchen_equipment"]
    assert kitchen["share"] == pytest.approx(16 / 20)
    assert kitchen["median_ratio"] == pytest.approx(0.5)
    assert kitchen["median_kw"] == pytest.approx(50.0)


def test_a_hotel_without_kitchen_is_asked_and_one_with_it_is_not() -> None:
    peers = {"completeness": build_completeness(_frames())}
    found = missing_loads(peers, "hotel", ["lighting"], 400.0)
    assert [(m.category, m.share) for m in found] == [("kitchen_equipment", 0.8)]
    assert found[0].typical_kw == pytest.approx(0.5 * 400.0)
    assert missing_loads(peers, "hotel", ["lighting", "kitchen_equipment"], 400.0) == []
    assert missing_loads(peers, "office", ["lighting"], 400.0) == []  # no such peers
    assert missing_loads({}, "hotel", [], 10.0) == []  # an older bundle


def test_an_area_only_history_has_no_statistics() -> None:
    frames = _frames()
    empty = HistoryFrames(frames.customers, frames.equipment.iloc[0:0])
    assert build_completeness(empty) == {"version": 1, "industries": {}}
