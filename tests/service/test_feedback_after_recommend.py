"""Over HTTP: an id from /recommend is accepted by /feedback at once.

The service logs the recommendation in the logbook's background writer; /feedback must
still find the id immediately (the logbook writes its queue before every read)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

# Every test here talks to a real `bentoml serve` (tests/server_process.py).
pytestmark = pytest.mark.live

LINES = {
    "printing": [("printing_press", 45.0, 2), ("lighting", 1.0, 30), ("split_ac", 3.5, 6)],
    "food": [("refrigeration_compressor", 22.0, 3), ("pump", 7.5, 4), ("lighting", 1.0, 40)],
    "machinery": [("machine_tool", 7.5, 12), ("air_compressor", 37.0, 1), ("crane", 22.0, 1)],
}


def application(industry: str) -> dict[str, Any]:
    return {
        "industry": industry,
        "climate_zone": "hot_summer_cold_winter",
        "floor_area_m2": 2400,
        "employees": 60,
        "shifts": 2,
        "equipment": [
            {"category": c, "rated_kw": kw, "quantity": q} for c, kw, q in LINES[industry]
        ],
    }


def test_feedback_right_after_recommend_is_recorded(
    client: httpx.Client, feedback_key: str
) -> None:
    key = {"X-API-Key": feedback_key}
    for industry in ("printing", "food", "machinery"):
        r = client.post("/recommend", json=application(industry))
        assert r.status_code == 200, r.text
        rid = r.json()["id"]
        assert isinstance(rid, str) and len(rid) == 32
        fb = client.post(
            "/feedback",
            json={"recommendation_id": rid, "granted_kva": 250, "metered_peak_kw": 120.5},
            headers=key,
        )
        assert fb.status_code == 200, fb.text
        assert fb.json()["recommendation_id"] == rid


def test_feedback_right_after_check_is_recorded(client: httpx.Client, feedback_key: str) -> None:
    r = client.post("/check", json={"application": application("food"), "proposed_kva": 400})
    assert r.status_code == 200, r.text
    rid = r.json()["recommendation"]["id"]
    fb = client.post(
        "/feedback",
        json={"recommendation_id": rid, "granted_kva": 400, "metered_peak_kw": 150.0},
        headers={"X-API-Key": feedback_key},
    )
    assert fb.status_code == 200, fb.text
