"""``/api/match`` returns what was read from a line and reads a kW box with a unit.

In-process (the page's model-free helper app, no server): the page, its paste importer
and the batch page show and use these figures instead of reading numbers themselves.
"""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from serving.web.app import build_ui_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(build_ui_app())


def test_a_charger_with_120_kw_and_ten_units_in_its_name(client: TestClient) -> None:
    doc = client.get("/api/match", params={"text": "充电桩, 120 kW × 10"}).json()
    assert doc["category"] == "ev_charger_dc"
    assert doc["figures"]["rated_kw"] == 120.0 and doc["figures"]["quantity"] == 10


def test_a_kva_box_is_converted_with_the_categorys_power_factor(client: TestClient) -> None:
    doc = client.get("/api/match", params={"text": "arc_welder", "rated_kw": "32kVA"}).json()
    rating = doc["rating"]
    assert rating["kva"] == 32.0 and rating["rated_kw"] == pytest.approx(
        32 * rating["power_factor"]
    )
    assert rating["notes"][-1]["code"] == "kva_converted"


@pytest.mark.parametrize(("box", "kw"), [("750W", 0.75), ("15HP", 11.1855), ("7.5 kW", 7.5)])
def test_a_kw_box_with_a_unit_is_read(client: TestClient, box: str, kw: float) -> None:
    doc = client.get("/api/match", params={"text": "风机", "rated_kw": box}).json()
    assert doc["rating"]["rated_kw"] == pytest.approx(kw)


def test_a_kw_box_that_is_no_power_is_refused_naming_the_field(client: TestClient) -> None:
    r = client.get("/api/match", params={"text": "风机", "rated_kw": "abc"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "rated_kw"


def test_a_line_without_power_is_offered_a_typical_rating_not_given_one(
    client: TestClient,
) -> None:
    doc = client.get("/api/match", params={"text": "行车 10t"}).json()
    assert doc["category"] == "crane" and doc["rated_kw_hint"] is None
    assert doc["typical_kw"] and doc["typical_kw"] > 0
    stated = client.get("/api/match", params={"text": "行车 10t 18kW"}).json()
    assert stated["typical_kw"] is None and stated["rated_kw_hint"] == 18.0


def test_the_post_form_reads_the_same(client: TestClient) -> None:
    items = [{"text": "空压机 37kW 2台", "rated_kw": None}, {"text": "风机", "rated_kw": "15HP"}]
    res = client.post("/api/match", json={"items": items}).json()["results"]
    assert res[0]["figures"]["quantity"] == 2 and res[0]["figures"]["rated_kw"] == 37.0
    assert res[1]["rating"]["unit"] == "HP"
