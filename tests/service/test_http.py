"""The real service over HTTP: ``bentoml serve`` in a subprocess, called with httpx.

Covers every endpoint: answers for all 23 industries, fallbacks, name matching, planner
checks, peers, sanity bounds, every validation error (status, field, value, expectation),
body limits, the JSON and CSV batch paths, feedback with its API key, probes, metrics, the
OpenAPI document and the web helpers, and the not-ready behaviour without a model. No
response of the run may be a 500: ``_no_unexpected_500`` checks each test, and the session
checks the whole run at its end, in whatever order the tests ran (``pytest_sessionfinish`` in
``tests/conftest.py``, which also compares the server's own count of 500s).

The last section pins bugs found in the package code (once a 500 or a vague 400): each
sends the request that used to fail and asserts the correct answer.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from features.catalog import OTHER_INDUSTRY, load_catalog
from features.contract import is_standard_capacity
from features.schemas import MAX_EQUIPMENT_LINES
from serving.batch_rejects import parse_rows_text
from serving.examples import EXAMPLES, MACHINERY_WORKSHOP

pytestmark = [pytest.mark.slow, pytest.mark.live]

PRICE = 22.0  # CAPACITY_PRICE_YUAN_PER_KVA_MONTH default
TARIFF_MIN_KVA = 315.0

# One small, typical application per industry: floor area (m²) and 2-3 equipment lines
# (category, rated kW of one unit, quantity).
TYPICAL: dict[str, tuple[float, list[tuple[str, float, int]]]] = {
    "machinery": (3000, [("machine_tool", 7.5, 12), ("air_compressor", 37, 2), ("crane", 15, 2)]),
    "plastics": (
        2500,
        [("injection_molding", 30, 8), ("chiller", 40, 1), ("air_compressor", 22, 1)],
    ),
    "food": (
        2000,
        [("refrigeration_compressor", 30, 2), ("resistance_furnace", 24, 3), ("conveyor", 4, 5)],
    ),
    "textile": (
        4000,
        [("textile_machinery", 11, 20), ("air_compressor", 37, 1), ("lighting", 1, 60)],
    ),
    "chemical": (3500, [("pump", 15, 6), ("mixer_crusher", 30, 3), ("fan", 7.5, 4)]),
    "building_materials": (5000, [("mixer_crusher", 75, 2), ("conveyor", 11, 4), ("fan", 15, 2)]),
    "electronics": (3000, [("resistance_furnace", 20, 4), ("chiller", 60, 1), ("lighting", 1, 80)]),
    "printing": (2000, [("printing_press", 22, 4), ("air_compressor", 15, 1), ("lighting", 1, 40)]),
    "woodworking": (
        2500,
        [("woodworking_machine", 5.5, 15), ("fan", 11, 2), ("air_compressor", 15, 1)],
    ),
    "foundry": (
        3000,
        [("induction_furnace", 250, 2), ("crane", 22, 2), ("resistance_furnace", 45, 2)],
    ),
    "cold_storage": (
        4000,
        [("refrigeration_compressor", 55, 3), ("fan", 2.2, 12), ("lighting", 1, 30)],
    ),
    "logistics": (12000, [("conveyor", 5.5, 10), ("lighting", 1, 150), ("office_sockets", 20, 1)]),
    "data_center": (800, [("it_equipment", 200, 2), ("chiller", 120, 2), ("pump", 15, 2)]),
    "office": (15000, [("chiller", 140, 2), ("elevator", 15, 4), ("office_sockets", 200, 1)]),
    "retail": (8000, [("chiller", 120, 2), ("lighting", 150, 1), ("elevator", 11, 4)]),
    "hotel": (12000, [("chiller", 150, 2), ("kitchen_equipment", 20, 6), ("elevator", 15, 4)]),
    "restaurant": (600, [("kitchen_equipment", 12, 6), ("split_ac", 3.5, 8), ("lighting", 1, 20)]),
    "hospital": (20000, [("medical_imaging", 80, 3), ("chiller", 200, 2), ("elevator", 18, 6)]),
    "school": (10000, [("lighting", 1, 300), ("split_ac", 3.5, 40), ("office_sockets", 50, 1)]),
    "ev_charging": (
        2000,
        [("ev_charger_dc", 120, 6), ("ev_charger_ac", 7, 10), ("lighting", 1, 20)],
    ),
    "irrigation": (300, [("pump", 55, 4), ("other_motor", 7.5, 2)]),
    "water_treatment": (6000, [("pump", 45, 6), ("fan", 75, 3), ("mixer_crusher", 7.5, 4)]),
    "construction_site": (
        20000,
        [("crane", 45, 2), ("mixer_crusher", 30, 2), ("arc_welder", 25, 6)],
    ),
}
INDUSTRIES = load_catalog().industry_codes


def application(industry: str) -> dict[str, Any]:
    area, lines = TYPICAL[industry]
    return {
        "industry": industry,
        "climate_zone": "hot_summer_cold_winter",
        "floor_area_m2": area,
        "employees": 60,
        "shifts": 2,
        "equipment": [{"category": c, "rated_kw": kw, "quantity": q} for c, kw, q in lines],
    }


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The error items of one of our JSON error bodies (asserting its shape)."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("errors"), list), body
    assert body["errors"], body
    for item in body["errors"]:
        assert set(item) >= {"field", "value", "expected", "message"}, item
    return body["errors"]


def one_error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    errors = errors_of(response)
    assert len(errors) == 1, errors
    return errors[0]


def assert_consistent(rec: dict[str, Any]) -> None:
    """Invariants of every recommendation."""
    assert is_standard_capacity(rec["recommended_kva"]), rec["recommended_kva"]
    peak = rec["predicted_peak_kw"]
    assert peak > 0
    total = sum(d["kw"] for d in rec["drivers"]) + rec.get("drivers_base_kw", 0.0)
    assert abs(total - peak) <= 0.005 * peak, (total, peak, rec["drivers"])
    for d in rec["drivers"]:
        assert math.isclose(d["kw"], d["engineering_kw"] + d["correction_kw"], abs_tol=1e-6)
    assert rec["peak_low90_kw"] <= rec["peak_low80_kw"] <= peak <= rec["peak_high80_kw"]
    assert rec["peak_high80_kw"] <= rec["peak_high90_kw"]
    probs = rec["p_appropriate"] + rec["p_undersized"] + rec["p_oversized"]
    assert math.isclose(probs, 1.0, abs_tol=1e-6)
    assert [t["capacity_kva"] for t in rec["tiers"] if t["recommended"]] == [rec["recommended_kva"]]
    assert rec["id"] and re.fullmatch(r"[0-9a-f]{32}", rec["id"]), rec["id"]


@pytest.fixture(autouse=True)
def _no_unexpected_500(request: pytest.FixtureRequest, response_log: Any) -> Iterator[None]:
    """Fail the test during which the server answered a 500 that no known bug explains."""
    response_log.current_test = request.node.nodeid
    start = len(response_log.entries)
    yield
    bad = response_log.unexpected_500s(since=start)
    if bad:
        lines = "\n".join(f"  {e.method} {e.path} -> {e.status} ({e.server})" for e in bad)
        pytest.fail(f"the server answered 5xx during this test:\n{lines}", pytrace=False)


# --------------------------------------------------------------------------------------
# /recommend: answers
# --------------------------------------------------------------------------------------


def test_the_table_covers_every_industry() -> None:
    assert len(INDUSTRIES) == 23
    assert set(TYPICAL) == set(INDUSTRIES)


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_recommend_every_industry(client: httpx.Client, industry: str) -> None:
    r = client.post("/recommend", json=application(industry))
    assert r.status_code == 200, r.text
    rec = r.json()
    assert_consistent(rec)
    assert rec["source"] == "model" and rec["fallback_reason"] is None
    assert rec["basis"] == "equipment"
    expected_kw = sum(kw * q for _, kw, q in TYPICAL[industry][1])
    assert math.isclose(rec["installed_kw"], expected_kw, rel_tol=1e-9)
    assert rec["peers"]["industry"] == industry
    assert [m["source"] for m in rec["matches"]] == ["code"] * len(TYPICAL[industry][1])
    assert rec["engineering"] is not None and rec["engineering_kva"] > 0
    assert {d["key"] for d in rec["drivers"]} & {
        f"category:{c}" for c, _, _ in TYPICAL[industry][1]
    }


def test_area_only_is_a_fallback(client: httpx.Client) -> None:
    r = client.post("/recommend", json=EXAMPLES["area_only_retail"])
    assert r.status_code == 200, r.text
    rec = r.json()
    assert_consistent(rec)
    assert rec["source"] == "fallback"
    assert rec["fallback_reason"] == "area_only"
    assert rec["basis"] == "area"
    assert "area_only" in {w["code"] for w in rec["warnings"]}
    assert [d["key"] for d in rec["drivers"] if d["engineering_kw"]] == ["floor_area"]


def test_no_equipment_and_no_area_is_an_industry_fallback(client: httpx.Client) -> None:
    rec = client.post("/recommend", json={"industry": "office"}).json()
    assert_consistent(rec)
    assert (rec["source"], rec["fallback_reason"], rec["basis"]) == (
        "fallback",
        "no_equipment_no_area",
        "industry",
    )
    assert rec["manual_review"] is True


def test_free_text_names_are_matched_and_unmatched_ones_named(client: httpx.Client) -> None:
    body = {
        "industry": "机加工",
        "floor_area_m2": 3000,
        "equipment": [
            {"name": "数控车床 CK6140", "rated_kw": 7.5, "quantity": 10},
            {"name": "螺杆空压机 37kW", "rated_kw": 37, "quantity": 2},
            {"name": "10t 行车", "rated_kw": 22, "quantity": 1},
            {"name": "量子纠缠发生器", "rated_kw": 3, "quantity": 1},
        ],
    }
    # An unmatched line without a category is a 400 naming the line and three guesses.
    r = client.post("/recommend", json=body)
    assert r.status_code == 400, r.text
    err = one_error(r)
    assert (err["field"], err["value"], err["code"]) == (
        "equipment[3].category",
        "量子纠缠发生器",
        "unmatched_line",
    )
    assert err["params"]["index"] == 3 and len(err["params"]["suggestions"]) == 3
    # The request says how to count it: it is counted, never left out.
    r = client.post("/recommend", json={**body, "unmatched": "other_motor"})
    assert r.status_code == 200, r.text
    rec = r.json()
    assert_consistent(rec)
    assert rec["industry_match"] == {
        "text": "机加工",
        "industry": "machinery",
        "confidence": 1.0,
        "source": "name",
        "matched_alias": "机加工",
        "guess": False,
        "not_listed": False,
    }
    matches = {m["index"]: m for m in rec["matches"]}
    assert [matches[i]["category"] for i in range(3)] == ["machine_tool", "air_compressor", "crane"]
    assert all(matches[i]["source"] == "name" and matches[i]["confidence"] >= 0.5 for i in range(3))
    assert (matches[3]["source"], matches[3]["category"]) == ("assumed", "other_motor")
    warning = next(w for w in rec["warnings"] if w["code"] == "unmatched_assumed")
    assert warning["params"] == {"n": 1, "names": ["量子纠缠发生器"], "as": "other_motor"}
    assert "量子纠缠发生器" in warning["message_zh"] and "量子纠缠发生器" in warning["message_en"]
    assert math.isclose(rec["installed_kw"], 7.5 * 10 + 37 * 2 + 22 + 3)


def test_unmatched_lines_in_a_batch_are_named(client: httpx.Client) -> None:
    bad = {"industry": "office", "equipment": [{"name": "神秘机器", "rated_kw": 3}]}
    r = client.post("/recommend_batch", json={"applications": [application("food"), bad]})
    assert r.status_code == 400, r.text
    assert one_error(r)["field"] == "applications[1].equipment[0].category"


def test_the_worked_examples_answer(client: httpx.Client) -> None:
    for name, body in EXAMPLES.items():
        r = client.post("/recommend", json=body)
        assert r.status_code == 200, (name, r.text)
        assert_consistent(r.json())


def test_peer_comparison_fields(client: httpx.Client) -> None:
    rec = client.post("/recommend", json=MACHINERY_WORKSHOP).json()
    peers = rec["peers"]
    assert set(peers) >= {
        "industry",
        "scale_band",
        "level",
        "n_peers",
        "peak_per_installed_kw",
        "peak_w_per_m2",
        "this_peak_per_installed_kw",
        "this_peak_w_per_m2",
        "percentile_per_installed_kw",
        "percentile_w_per_m2",
        "outside_p5_p95",
        "too_few_peers",
    }
    assert peers["industry"] == "machinery" and peers["level"] != "none" and peers["n_peers"] > 0
    q = peers["peak_per_installed_kw"]
    assert q["p5"] <= q["p10"] <= q["p50"] <= q["p90"] <= q["p95"]
    assert 0 <= peers["percentile_per_installed_kw"] <= 100
    codes = {w["code"] for w in rec["warnings"]}
    assert ("outside_peers" in codes) == peers["outside_p5_p95"]
    assert ("few_peers" in codes) == peers["too_few_peers"]
    if peers["outside_p5_p95"]:
        assert rec["manual_review"] is True


def test_sanity_bounds_name_the_largest_unit_and_clamp(client: httpx.Client) -> None:
    candidates = [
        {
            "industry": "machinery",
            "floor_area_m2": 500,
            "equipment": [
                {"category": "other_motor", "rated_kw": 2000},
                {"category": "lighting", "rated_kw": 1, "quantity": 5},
            ],
        },
        {"industry": "water_treatment", "equipment": [{"category": "pump", "rated_kw": 2000}]},
        {"industry": "irrigation", "equipment": [{"category": "pump", "rated_kw": 2000}]},
    ]
    clamped = []
    for body in candidates:
        r = client.post("/recommend", json=body)
        assert r.status_code == 200, r.text
        rec = r.json()
        assert_consistent(rec)
        b = rec["bounds"]
        assert "largest running unit (2000 kW)" in b["lower_rule"], b
        assert b["lower_kva"] >= 2000 / 0.9
        assert rec["recommended_kva"] >= b["lower_kva"]
        assert b["unclamped_kva"] > 0
        if b["clamped"]:
            clamped.append(rec)
            assert b["clamp_rule"], b
            assert b["unclamped_kva"] != rec["recommended_kva"]
            assert "clamped" in {w["code"] for w in rec["warnings"]}
            assert rec["manual_review"] is True
        else:
            assert b["clamp_rule"] is None and b["unclamped_kva"] == rec["recommended_kva"]
    assert clamped, "no candidate was clamped: the lower bound should lift a 2,000 kW single unit"


# --------------------------------------------------------------------------------------
# /check
# --------------------------------------------------------------------------------------


def _yearly(kva: float) -> float:
    return kva * PRICE * 12 if kva >= TARIFF_MIN_KVA else 0.0


def _check(client: httpx.Client, app: dict[str, Any], kva: float) -> dict[str, Any]:
    r = client.post("/check", json={"application": app, "proposed_kva": kva})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["proposed_kva"] == kva
    assert_consistent(out["recommendation"])
    assert out["recommended_kva"] == out["recommendation"]["recommended_kva"]
    assert math.isclose(out["p_appropriate"] + out["p_undersized"] + out["p_oversized"], 1.0)
    assert math.isclose(
        out["yearly_difference_yuan"],
        _yearly(kva) - _yearly(out["recommended_kva"]),
        abs_tol=1e-6,
    )
    assert out["message_zh"] and out["message_en"]
    return out


def test_check_verdicts_and_yearly_difference(client: httpx.Client) -> None:
    app = EXAMPLES["office_building"]  # a large site: two-part tariff
    tiny = _check(client, app, 30)
    assert tiny["verdict"] == "undersized"
    assert tiny["p_undersized"] > 0.9
    huge = _check(client, app, 20_000)
    assert huge["verdict"] == "oversized"
    assert huge["yearly_difference_yuan"] > 0
    recommended = huge["recommended_kva"]
    assert recommended >= 630, "the office example should need a two-part-tariff capacity"
    below = _check(client, app, TARIFF_MIN_KVA)
    assert below["verdict"] == "undersized"
    assert below["yearly_difference_yuan"] < 0
    same = _check(client, app, recommended)
    assert same["yearly_difference_yuan"] == 0
    assert same["verdict"] == "appropriate"
    assert math.isclose(same["p_appropriate"], same["recommended_p_appropriate"], abs_tol=1e-9)
    odd = _check(client, app, 777)
    assert odd["proposed_is_standard"] is False


def test_check_rejects_a_non_positive_proposal(client: httpx.Client) -> None:
    r = client.post("/check", json={"application": {"industry": "office"}, "proposed_kva": 0})
    err = one_error(r)
    assert (err["field"], err["value"], err["expected"]) == ("proposed_kva", 0, ">= 1")


def test_check_names_fields_inside_the_application(client: httpx.Client) -> None:
    body = {"application": {"industry": "office", "shifts": 5}, "proposed_kva": 100}
    err = one_error(client.post("/check", json=body))
    assert (err["field"], err["value"], err["expected"]) == ("application.shifts", 5, "<= 3")


# --------------------------------------------------------------------------------------
# /recommend: validation errors (400 with field, value, expectation)
# --------------------------------------------------------------------------------------

GOOD_LINE = {"category": "machine_tool", "rated_kw": 7.5, "quantity": 2}


def test_unknown_industry_suggests_the_nearest(client: httpx.Client) -> None:
    # A typo of a code is read as the code, and the answer says how it was read.
    r = client.post("/recommend", json={"industry": "machinary", "equipment": [GOOD_LINE]})
    assert r.status_code == 200, r.text
    found = r.json()["industry_match"]
    assert (found["industry"], found["source"]) == ("machinery", "name")
    assert found["confidence"] < 1.0
    # A word that is no industry is a 400 with the nearest code and the guesses as params.
    err = one_error(
        client.post("/recommend", json={"industry": "manufactury", "equipment": [GOOD_LINE]})
    )
    assert err["field"] == "industry" and err["value"] == "manufactury"
    assert err["code"] == "unknown_industry"
    assert "expected one of the contract's industry codes" in err["message"]


def test_unknown_category_suggests_the_nearest(client: httpx.Client) -> None:
    body = {
        "industry": "machinery",
        "equipment": [GOOD_LINE, {"category": "air_compresor", "rated_kw": 3}],
    }
    err = one_error(client.post("/recommend", json=body))
    assert err["field"] == "equipment[1].category" and err["value"] == "air_compresor"
    assert "did you mean 'air_compressor'" in err["message"]


def test_negative_rating(client: httpx.Client) -> None:
    body = {
        "industry": "machinery",
        "equipment": [GOOD_LINE, GOOD_LINE, {"category": "pump", "rated_kw": -1}],
    }
    err = one_error(client.post("/recommend", json=body))
    assert (err["field"], err["value"], err["expected"]) == (
        "equipment[2].rated_kw",
        -1,
        ">= 0.001",
    )
    assert "greater than or equal to 0.001" in err["message"]


def test_zero_quantity(client: httpx.Client) -> None:
    body = {
        "industry": "machinery",
        "equipment": [{"category": "pump", "rated_kw": 5, "quantity": 0}],
    }
    err = one_error(client.post("/recommend", json=body))
    assert (err["field"], err["value"], err["expected"]) == ("equipment[0].quantity", 0, ">= 1")


def test_five_shifts(client: httpx.Client) -> None:
    err = one_error(client.post("/recommend", json={"industry": "office", "shifts": 5}))
    assert (err["field"], err["value"], err["expected"]) == ("shifts", 5, "<= 3")


def test_climate_zone_typo(client: httpx.Client) -> None:
    body = {"industry": "office", "climate_zone": "hot_summer_cold_wintr"}
    err = one_error(client.post("/recommend", json=body))
    assert err["field"] == "climate_zone" and err["value"] == "hot_summer_cold_wintr"
    assert "did you mean 'hot_summer_cold_winter'" in err["message"]


@pytest.mark.parametrize("bad", [0, 0.6, "10%", None])
def test_a_bad_risk_cap_is_400_naming_the_field(client: httpx.Client, bad: Any) -> None:
    body = {"industry": "office", "floor_area_m2": 2000, "max_undersized_risk": bad}
    if bad is None:
        assert client.post("/recommend", json=body).status_code == 200
        return
    err = one_error(client.post("/recommend", json=body))
    assert (err["field"], err["value"]) == ("max_undersized_risk", bad)


def test_a_risk_cap_is_applied_and_stated(client: httpx.Client) -> None:
    body = {"industry": "office", "floor_area_m2": 2000}
    free = client.post("/recommend", json=body).json()
    capped = client.post("/recommend", json={**body, "max_undersized_risk": 0.05}).json()
    assert capped["recommended_kva"] > free["recommended_kva"]  # area only: a wide spread
    assert capped["p_undersized"] <= 0.05
    risk = capped["undersized_risk"]
    assert (risk["code"], risk["cap_source"], risk["max_undersized_risk"]) == (
        "undersized_risk_capped",
        "request",
        0.05,
    )
    assert risk["uncapped_kva"] == free["recommended_kva"]
    assert "5.0 %" in risk["message_en"] and "5.0 %" in risk["message_zh"]
    assert free["undersized_risk"]["code"] == "undersized_risk"


def test_unknown_field(client: httpx.Client) -> None:
    body = {"industry": "office", "floor_area_m2": 100, "colour": "red"}
    err = one_error(client.post("/recommend", json=body))
    assert (err["field"], err["value"]) == ("colour", "red")
    assert "unknown fields" in err["expected"]


def test_unknown_field_in_an_equipment_line(client: httpx.Client) -> None:
    body = {"industry": "office", "equipment": [{**GOOD_LINE, "power": 3}]}
    err = one_error(client.post("/recommend", json=body))
    assert (err["field"], err["value"]) == ("equipment[0].power", 3)


def test_missing_industry(client: httpx.Client) -> None:
    err = one_error(client.post("/recommend", json={"equipment": [GOOD_LINE]}))
    assert err["field"] == "industry"
    assert err["message"] == "Field required"
    assert "required" in err["expected"]


def test_equipment_line_without_category_or_name(client: httpx.Client) -> None:
    body = {"industry": "office", "equipment": [GOOD_LINE, {"rated_kw": 3, "quantity": 2}]}
    err = one_error(client.post("/recommend", json=body))
    assert err["field"] == "equipment[1]"
    assert err["value"] == {"rated_kw": 3, "quantity": 2}
    assert "'category'" in err["message"] and "'name'" in err["message"]


def test_several_errors_are_reported_together(client: httpx.Client) -> None:
    body = {"industry": "office", "shifts": 0, "equipment": [{"category": "pump", "rated_kw": 0}]}
    r = client.post("/recommend", json=body)
    assert r.status_code == 400
    assert {e["field"] for e in errors_of(r)} == {"shifts", "equipment[0].rated_kw"}


def test_too_many_equipment_lines(client: httpx.Client) -> None:
    body = {"industry": "machinery", "equipment": [GOOD_LINE] * (MAX_EQUIPMENT_LINES + 1)}
    err = one_error(client.post("/recommend", json=body))
    assert err["field"] == "equipment"
    assert err["expected"] == f"at most {MAX_EQUIPMENT_LINES} items"
    assert err["value"] == f"<list of {MAX_EQUIPMENT_LINES + 1} items>"


def test_exactly_the_maximum_of_equipment_lines_is_accepted(client: httpx.Client) -> None:
    body = {"industry": "machinery", "equipment": [GOOD_LINE] * MAX_EQUIPMENT_LINES}
    r = client.post("/recommend", json=body)
    assert r.status_code == 200, r.text
    assert_consistent(r.json())


@pytest.mark.parametrize(
    "raw",
    [
        b'{"industry": "office",',
        b'{"industry": office}',
        b'{"a":1}}',
        b"\xff\xfe\x00",
        b"industry=office",
    ],
    ids=["truncated", "bare-word", "trailing", "not-utf8", "form-encoded"],
)
def test_malformed_json_is_400(client: httpx.Client, raw: bytes) -> None:
    r = client.post("/recommend", content=raw, headers={"content-type": "application/json"})
    err = one_error(r)
    assert err["field"] == "(body)"
    assert "not valid JSON" in err["message"]


@pytest.mark.parametrize("body", [[1, 2], [{"industry": "office"}], "office", 7])
def test_a_json_document_that_is_not_an_object_is_400(client: httpx.Client, body: Any) -> None:
    err = one_error(client.post("/recommend", json=body))
    assert err["field"] == "(body)" and err["expected"] == "an object"


def test_a_body_over_the_limit_is_413(client: httpx.Client, max_body_bytes: int) -> None:
    big = {"industry": "office", "equipment": [], "pad": "x" * 300_000}
    r = client.post(
        "/recommend", content=json.dumps(big).encode(), headers={"content-type": "application/json"}
    )
    err = one_error(r, 413)
    assert err["message"] == "request body too large"
    assert err["expected"] == f"a body of at most {max_body_bytes} bytes"


def test_a_chunked_body_over_the_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"industry": "office", "pad": "'
        for _ in range(30):
            yield b"x" * 10_000
        yield b'"}'

    r = client.post("/recommend", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert one_error(r, 413)["message"] == "request body too large"


def test_a_small_chunked_body_is_answered(client: httpx.Client) -> None:
    r = client.post(
        "/recommend",
        content=iter([b'{"industry": "office", ', b'"floor_area_m2": 1200}']),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["fallback_reason"] == "area_only"


def test_get_on_an_api_is_405(client: httpx.Client) -> None:
    assert client.get("/recommend").status_code == 405


# --------------------------------------------------------------------------------------
# /recommend_batch
# --------------------------------------------------------------------------------------


def test_batch_json_list(client: httpx.Client) -> None:
    apps = [application(i) for i in ("machinery", "office", "restaurant")] + [
        EXAMPLES["area_only_retail"],
        {"industry": "hotel"},
    ]
    r = client.post("/recommend_batch", json={"applications": apps, "detail": "full"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["n"] == len(apps) == len(out["results"])
    assert out["rejects"] == []
    for rec in out["results"]:
        assert_consistent(rec)
    assert len({rec["id"] for rec in out["results"]}) == len(apps)
    assert [rec["peers"]["industry"] for rec in out["results"]] == [a["industry"] for a in apps]
    # a batch answer equals the single answer for the same application
    single = client.post("/recommend", json=apps[0]).json()
    assert out["results"][0]["recommended_kva"] == single["recommended_kva"]
    assert math.isclose(
        out["results"][0]["predicted_peak_kw"], single["predicted_peak_kw"], rel_tol=1e-9
    )


def test_batch_summary_rows_match_the_full_answers(client: httpx.Client) -> None:
    apps = [application(i) for i in ("machinery", "office", "foundry")] + [
        EXAMPLES["area_only_retail"],
        EXAMPLES["machinery_workshop"],
    ]
    summary = client.post("/recommend_batch", json={"applications": apps}).json()
    full = client.post("/recommend_batch", json={"applications": apps, "detail": "full"}).json()
    assert summary["n"] == full["n"] == len(apps)
    for s_row, f_row in zip(summary["results"], full["results"], strict=True):
        assert s_row["recommended_kva"] == f_row["recommended_kva"]
        assert math.isclose(s_row["predicted_peak_kw"], f_row["predicted_peak_kw"], rel_tol=1e-9)
        assert math.isclose(s_row["p_appropriate"], f_row["p_appropriate"], rel_tol=1e-9)
        assert s_row["engineering_kva"] == f_row["engineering_kva"]
        assert re.fullmatch(r"[0-9a-f]{32}", s_row["recommendation_id"])
    unmatched = [m for m in full["results"][4]["matches"] if m["source"] == "unmatched"]
    assert summary["results"][4]["unmatched_lines"] == len(unmatched)


def test_batch_unknown_detail_is_400(client: httpx.Client) -> None:
    r = client.post(
        "/recommend_batch", json={"applications": [application("food")], "detail": "everything"}
    )
    err = one_error(r)
    assert (err["field"], err["value"]) == ("detail", "everything")


def test_batch_json_list_as_csv(client: httpx.Client) -> None:
    apps = [application("machinery"), application("school")]
    r = client.post("/recommend_batch", json={"applications": apps, "output": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["customer_id"] for row in rows] == ["app-0", "app-1"]
    assert all(row["status"] == "ok" and row["recommendation_id"] for row in rows)
    assert all(is_standard_capacity(float(row["recommended_kva"])) for row in rows)


def test_batch_over_ten_thousand_is_400(client: httpx.Client, max_body_bytes: int) -> None:
    body = json.dumps({"applications": [{"industry": "hotel"}] * 10_001}, separators=(",", ":"))
    assert len(body) < max_body_bytes  # so that the batch rule answers, not the body limit
    r = client.post(
        "/recommend_batch", content=body.encode(), headers={"content-type": "application/json"}
    )
    err = one_error(r)
    assert (err["field"], err["value"]) == ("applications", 10_001)
    assert "10000" in err["expected"]


def test_batch_with_one_invalid_application_names_it(client: httpx.Client) -> None:
    apps = [application("office"), application("hotel"), {**application("school"), "shifts": 4}]
    err = one_error(client.post("/recommend_batch", json={"applications": apps}))
    assert (err["field"], err["value"], err["expected"]) == ("applications[2].shifts", 4, "<= 3")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "applications", "nothing to score"),
        ({"applications": []}, "applications", "empty batch"),
        ({"applications": "x"}, "applications", "Input should be a valid list"),
        (
            {"applications": [{"industry": "office"}], "output": "xml"},
            "output",
            "unknown output format",
        ),
    ],
    ids=["nothing", "empty", "not-a-list", "bad-output"],
)
def test_batch_input_errors(client: httpx.Client, body: Any, field: str, message: str) -> None:
    err = one_error(client.post("/recommend_batch", json=body))
    assert err["field"] == field and message in err["message"]


def test_batch_bare_list_is_400(client: httpx.Client) -> None:
    r = client.post("/recommend_batch", json=[{"industry": "office"}])
    assert r.status_code == 400, r.text


CUSTOMERS_HEADER = "customer_id,industry,climate_zone,floor_area_m2,employees,shifts,applied_capacity_kva,peak_demand_kw"
EQUIPMENT_HEADER = "customer_id,category,rated_kw,quantity,standby,name"


def contract_upload() -> tuple[str, str, set[str], set[tuple[str, int]]]:
    """customers.csv and equipment.csv with valid customers and deliberately broken rows.

    Returns the two texts, the ids of the customers that must be scored and the
    (file, spreadsheet row number) of every broken row (the header is row 1). A2 and A3
    lose equipment lines, so they are rejected whole (an incomplete list would undersize
    them), and so are their remaining lines (rows 4 and 6).
    """
    customers = [
        "A1,machinery,cold,3000,60,2,,",  # row 2
        "A2,office,,15000,,1,,",  # row 3
        "A3,restaurant,mild,600,20,2,,",  # row 4
        "B1,machinary,,100,,1,,",  # row 5: unknown industry
        "B2,retail,,-5,,1,,",  # row 6: negative floor area
        "B3,food,,800,20,7,,",  # row 7: shifts out of range
        "A4,hotel,,12000,,,,",  # row 8: valid, area only
    ]
    equipment = [
        "A1,machine_tool,7.5,12,false,数控车床",  # row 2
        "A1,air_compressor,37,2,false,空压机",  # row 3
        "A2,chiller,140,2,false,冷水机组",  # row 4
        "A2,lighting,-3,1,false,照明",  # row 5: negative rating
        "A3,kitchen_equipment,12,6,false,灶具",  # row 6
        "A3,split_ac,abc,1,false,空调",  # row 7: not a number
        "A3,lighting,1,0,false,照明",  # row 8: zero quantity
        "Z9,pump,5,1,false,孤儿行",  # row 9: unknown customer
        "A2,quantum_thing,5,1,false,",  # row 10: unknown category
        "B1,pump,5,1,false,",  # row 11: its customer is rejected
    ]
    broken = {
        ("customers", 5),
        ("customers", 6),
        ("customers", 7),
        ("equipment", 5),
        ("equipment", 7),
        ("equipment", 8),
        ("equipment", 9),
        ("equipment", 10),
        ("equipment", 11),
        ("customers", 3),  # A2: lines rejected, so the customer too
        ("customers", 4),  # A3: likewise
        ("equipment", 4),  # A2's remaining line
        ("equipment", 6),  # A3's remaining line
    }
    cust = "\n".join([CUSTOMERS_HEADER, *customers]) + "\n"
    equip = "\n".join([EQUIPMENT_HEADER, *equipment]) + "\n"
    return cust, equip, {"A1", "A4"}, broken


def _upload(cust: str, equip: str) -> dict[str, Any]:
    return {
        "customers": ("customers.csv", cust.encode("utf-8"), "text/csv"),
        "equipment": ("equipment.csv", equip.encode("utf-8"), "text/csv"),
    }


def test_batch_csv_upload_json_answer(client: httpx.Client) -> None:
    cust, equip, valid, broken = contract_upload()
    r = client.post("/recommend_batch", files=_upload(cust, equip))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["n"] == len(valid) == len(out["results"])
    assert {row["customer_id"] for row in out["results"]} == valid
    for row in out["results"]:
        assert is_standard_capacity(row["recommended_kva"])
        assert row["predicted_peak_kw"] > 0
        assert math.isclose(row["p_appropriate"] + row["p_undersized"] + row["p_oversized"], 1.0)
    by_id = {row["customer_id"]: row for row in out["results"]}
    assert by_id["A4"]["basis"] == "area"
    rejected = {(rej["file"], rej["row_number"]) for rej in out["rejects"]}
    assert broken <= rejected, broken - rejected
    assert all(rej["reason"] and rej["column"] for rej in out["rejects"])
    unknown = next(
        rej for rej in out["rejects"] if rej["customer_id"] == "B1" and rej["file"] == "customers"
    )
    assert "did you mean 'machinery'" in unknown["reason"]
    # customers that lost equipment rows are not scored on an incomplete list: rejected,
    # with the reason
    incomplete = {
        rej["customer_id"]: rej["reason"]
        for rej in out["rejects"]
        if rej["file"] == "customers" and rej["customer_id"] in {"A2", "A3"}
    }
    assert set(incomplete) == {"A2", "A3"}
    assert all("incomplete" in reason for reason in incomplete.values()), incomplete


def test_batch_csv_upload_csv_answer(client: httpx.Client) -> None:
    cust, equip, valid, broken = contract_upload()
    r = client.post("/recommend_batch", files=_upload(cust, equip), data={"output": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers.get("content-disposition", "")
    text = r.content.decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert header[:3] == ["customer_id", "status", "recommended_kva"] and "reason" in header
    rows = list(csv.DictReader(io.StringIO(text)))
    ok = [row for row in rows if row["status"] == "ok"]
    assert {row["customer_id"] for row in ok} == valid
    assert all(is_standard_capacity(float(row["recommended_kva"])) for row in ok)
    # One row per rejected customer naming every row of its lines (issue 25; before, one
    # row per line, "rejected (equipment row 5)"): every broken row is still named.
    marked = {
        (file, n)
        for row in rows
        if row["status"] == "rejected"
        for file, numbers in parse_rows_text(row["source_rows"]).items()
        for n in numbers
    }
    assert broken <= marked, broken - marked
    assert all(row["reason"] for row in rows if row["status"] != "ok")
    assert len(rows) == len(ok) + len([row for row in rows if row["status"].startswith("rejected")])


def test_batch_csv_over_ten_thousand_customers_is_400(client: httpx.Client) -> None:
    cust = "customer_id,industry\n" + "".join(f"C{i},office\n" for i in range(10_001))
    equip = "customer_id,category,rated_kw,quantity\n"
    err = one_error(client.post("/recommend_batch", files=_upload(cust, equip)))
    assert (err["field"], err["value"]) == ("customers", 10_001)


def test_batch_csv_with_a_missing_column_is_400(client: httpx.Client) -> None:
    files = _upload("id,industry\nA,office\n", EQUIPMENT_HEADER + "\n")
    err = one_error(client.post("/recommend_batch", files=files))
    assert "customer_id" in err["message"]


def test_batch_csv_without_customers_is_400(client: httpx.Client) -> None:
    # Customers alone are answered area-only (test_batch_http.py); equipment alone is not.
    files = {
        "equipment": ("equipment.csv", b"customer_id,category,rated_kw,quantity\n", "text/csv")
    }
    err = one_error(client.post("/recommend_batch", files=files))
    assert err["field"] == "customers" and "missing customers file" in err["message"]


def test_batch_csv_upload_over_the_limit_is_413(client: httpx.Client, max_body_bytes: int) -> None:
    cust = "customer_id,industry,floor_area_m2\n" + "".join(
        f"C{i:07d},office,{1000 + i}\n" for i in range(15_000)
    )
    assert len(cust) > max_body_bytes
    r = client.post("/recommend_batch", files=_upload(cust, EQUIPMENT_HEADER + "\n"))
    assert one_error(r, 413)["message"] == "request body too large"


# --------------------------------------------------------------------------------------
# /feedback
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issued_id(client: httpx.Client) -> str:
    r = client.post("/recommend", json=application("printing"))
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


@pytest.fixture(scope="module")
def key(feedback_key: str) -> dict[str, str]:
    return {"X-API-Key": feedback_key}


def _feedback(rid: str, **over: Any) -> dict[str, Any]:
    return {"recommendation_id": rid, "granted_kva": 250, "metered_peak_kw": 120.5, **over}


def test_feedback_without_key_is_401(client: httpx.Client, issued_id: str) -> None:
    err = one_error(client.post("/feedback", json=_feedback(issued_id)), 401)
    assert err["field"] == "X-API-Key" and "missing" in err["message"]


def test_feedback_with_a_wrong_key_is_401(
    client: httpx.Client, issued_id: str, key: dict[str, str]
) -> None:
    r = client.post(
        "/feedback", json=_feedback(issued_id), headers={"X-API-Key": "not-" + key["X-API-Key"]}
    )
    err = one_error(r, 401)
    assert err["message"] == "wrong API key"
    assert err["value"] is None  # the key given is never echoed


def test_feedback_for_an_unknown_id_is_404(client: httpx.Client, key: dict[str, str]) -> None:
    r = client.post("/feedback", json=_feedback("0" * 32), headers=key)
    err = one_error(r, 404)
    assert (err["field"], err["value"]) == ("recommendation_id", "0" * 32)


def test_feedback_for_an_issued_id_is_recorded(
    client: httpx.Client, issued_id: str, key: dict[str, str]
) -> None:
    r = client.post("/feedback", json=_feedback(issued_id, note="pilot"), headers=key)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["recorded"] is True and out["recommendation_id"] == issued_id
    assert isinstance(out["outcome_id"], int)


def test_feedback_for_a_batch_id_is_recorded(client: httpx.Client, key: dict[str, str]) -> None:
    out = client.post("/recommend_batch", json={"applications": [application("food")]}).json()
    rid = out["results"][0]["recommendation_id"]
    r = client.post("/feedback", json=_feedback(rid), headers=key)
    assert r.status_code == 200, r.text


def test_feedback_with_a_negative_metered_peak_is_400(
    client: httpx.Client, issued_id: str, key: dict[str, str]
) -> None:
    r = client.post("/feedback", json=_feedback(issued_id, metered_peak_kw=-5), headers=key)
    err = one_error(r, 400)
    assert err["field"] == "metered_peak_kw" and err["expected"] == ">= 0.01"


def test_feedback_with_a_missing_field_is_400(
    client: httpx.Client, issued_id: str, key: dict[str, str]
) -> None:
    body = {"recommendation_id": issued_id, "granted_kva": 250}
    err = one_error(client.post("/feedback", json=body, headers=key))
    assert err["field"] == "metered_peak_kw"


# --------------------------------------------------------------------------------------
# probes, metrics, OpenAPI, web page and its helpers
# --------------------------------------------------------------------------------------


def test_probes(client: httpx.Client) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        assert client.get(path).status_code == 200, path


def test_trivial_endpoint(client: httpx.Client) -> None:
    # benchmark-only: served when CAPACITY_BENCHMARK_ENDPOINTS=1 (benchmarks/bench_service.py)
    r = client.post("/trivial", json={})
    assert r.status_code == 404 and r.json()["errors"][0]["value"] == "/trivial"


def test_metrics(client: httpx.Client) -> None:
    client.post("/recommend", json=application("school"))
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "bentoml_service_request_total" in r.text
    assert re.search(
        r'bentoml_service_request_total\{endpoint="/recommend",http_response_code="200"', r.text
    )
    assert 'http_response_code="400"' in r.text


def test_openapi_document(client: httpx.Client) -> None:
    r = client.get("/docs.json")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    for path in ("/recommend", "/check", "/recommend_batch", "/feedback"):
        assert "post" in doc["paths"][path], path
    body = doc["paths"]["/recommend"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["examples"]) == set(EXAMPLES)
    assert body["examples"]["machinery_workshop"]["value"] == MACHINERY_WORKSHOP
    assert "Application" in doc["components"]["schemas"]
    assert "400" in doc["paths"]["/recommend"]["post"]["responses"]


def test_swagger_page(client: httpx.Client) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert 'id="swagger-ui"' in r.text
    # the page's assets resolve from /docs and its initializer reads our /docs.json
    init = client.get("/static_content/swagger-initializer.js")
    assert init.status_code == 200
    assert '"./docs.json"' in init.text


def test_web_page(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<title" in r.text.lower()


def test_catalog(client: httpx.Client) -> None:
    r = client.get("/api/catalog")
    assert r.status_code == 200
    cat = r.json()
    # The listed industries, then 其他 (not listed: the all-industry answer, reviewed).
    assert [i["code"] for i in cat["industries"]] == [*INDUSTRIES, OTHER_INDUSTRY]
    assert [i["not_listed"] for i in cat["industries"]][-2:] == [False, True]
    assert {c["code"] for c in cat["categories"]} >= {"machine_tool", "fire_pump"}
    assert len(cat["climate_zones"]) == 5
    assert cat["max_equipment_lines"] == MAX_EQUIPMENT_LINES
    assert set(cat["examples"]) == set(EXAMPLES)


def test_match(client: httpx.Client) -> None:
    r = client.get("/api/match", params={"text": "数控车床"})
    assert r.status_code == 200
    out = r.json()
    assert out["category"] == "machine_tool" and out["confidence"] >= 0.5
    r = client.get("/api/match", params={"text": "螺杆空压机 37kW"})
    assert r.json()["category"] == "air_compressor"


def test_match_errors(client: httpx.Client) -> None:
    err = one_error(client.get("/api/match", params={"text": "x" * 201}))
    assert err["field"] == "text"
    err = one_error(client.get("/api/match", params={"text": "车床", "rated_kw": "abc"}))
    assert (err["field"], err["value"]) == ("rated_kw", "abc")


def test_unknown_path_is_404(client: httpx.Client) -> None:
    assert client.get("/no/such/page").status_code == 404


# --------------------------------------------------------------------------------------
# no model: the process stays up and says why
# --------------------------------------------------------------------------------------


def test_not_ready_probes(not_ready_client: httpx.Client) -> None:
    r = not_ready_client.get("/readyz")
    assert r.status_code == 503
    assert "model could not be loaded" in r.text
    assert "no-such-bundle" in r.text  # the reason names the missing folder
    assert not_ready_client.get("/healthz").status_code == 200
    assert not_ready_client.get("/livez").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/recommend", {"industry": "office"}),
        ("/check", {"application": {"industry": "office"}, "proposed_kva": 100}),
        ("/recommend_batch", {"applications": [{"industry": "office"}]}),
    ],
)
def test_not_ready_apis_are_503_json(not_ready_client: httpx.Client, path: str, body: Any) -> None:
    err = one_error(not_ready_client.post(path, json=body), 503)
    assert err["message"].startswith("service not ready: model could not be loaded")


def test_not_ready_still_serves_the_model_free_pages(not_ready_client: httpx.Client) -> None:
    assert not_ready_client.get("/api/catalog").status_code == 200
    assert not_ready_client.get("/docs.json").status_code == 200
    assert not_ready_client.get("/").status_code == 200
    assert not_ready_client.post("/trivial", json={}).status_code == 404  # benchmark-only


# --------------------------------------------------------------------------------------
# bugs found in the package code, fixed: each once answered 500 or a vague 400
# --------------------------------------------------------------------------------------


def test_csv_upload_with_every_customer_rejected_answers_the_rejects(
    client: httpx.Client, response_log: Any
) -> None:
    files = _upload(CUSTOMERS_HEADER + "\nB1,machinary,,100,,1,,\n", EQUIPMENT_HEADER + "\n")
    r = client.post("/recommend_batch", files=files)
    assert r.status_code == 200, r.text
    assert r.json()["n"] == 0 and len(r.json()["rejects"]) == 1


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"1e400"])
def test_non_finite_number_is_400(client: httpx.Client, response_log: Any, literal: bytes) -> None:
    raw = b'{"industry": "office", "floor_area_m2": ' + literal + b"}"
    r = client.post("/recommend", content=raw, headers={"content-type": "application/json"})
    assert one_error(r)["field"] == "floor_area_m2"


def test_malformed_multipart_body_is_400(client: httpx.Client, response_log: Any) -> None:
    r = client.post(
        "/recommend_batch",
        content=b'{"applications": []}',
        headers={"content-type": "multipart/form-data; boundary=zz"},
    )
    assert r.status_code == 400, r.text


def test_text_field_for_a_csv_file_is_400(client: httpx.Client, response_log: Any) -> None:
    files = {"equipment": ("equipment.csv", (EQUIPMENT_HEADER + "\n").encode(), "text/csv")}
    r = client.post(
        "/recommend_batch", data={"customers": "http://127.0.0.1:9/customers.csv"}, files=files
    )
    assert r.status_code == 400, r.text


def test_feedback_error_names_the_field(
    client: httpx.Client, issued_id: str, key: dict[str, str]
) -> None:
    r = client.post("/feedback", json=_feedback(issued_id, metered_peak_kw=-5), headers=key)
    err = one_error(r, 400)
    assert (err["field"], err["value"]) == ("metered_peak_kw", -5)


def test_csv_batch_answers_are_logged_and_take_feedback(
    client: httpx.Client, key: dict[str, str]
) -> None:
    cust, equip, valid, _ = contract_upload()
    out = client.post("/recommend_batch", files=_upload(cust, equip)).json()
    ids = [row["recommendation_id"] for row in out["results"]]
    assert len(ids) == len(valid) and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    r = client.post("/recommend_batch", files=_upload(cust, equip), data={"output": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    csv_ids = [row["recommendation_id"] for row in rows if row["status"] == "ok"]
    assert len(csv_ids) == len(valid) and all(csv_ids)
    assert not set(csv_ids) & set(ids)  # every answer is logged on its own
    r = client.post("/feedback", json=_feedback(csv_ids[0]), headers=key)
    assert r.status_code == 200, r.text


def test_match_many_names_in_one_request(client: httpx.Client) -> None:
    items = [{"text": "数控车床 CK6140", "rated_kw": 7.5}, {"text": "神秘机器"}, {"text": ""}]
    r = client.post("/api/match", json={"items": items})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["category"] for x in results] == ["machine_tool", None, None]
    assert len(results[1]["candidates"]) >= 3  # guesses for the unmatched name
    too_many = client.post("/api/match", json={"items": [{"text": "a"}] * 501})
    assert one_error(too_many)["code"] == "too_long"
    industry = client.get("/api/match", params={"kind": "industry", "text": "写字楼"}).json()
    assert industry["category"] == "office"
    assert one_error(client.get("/api/match", params={"kind": "x", "text": "a"}))["field"] == "kind"


def test_the_catalog_gives_the_page_its_limits_words_and_next_steps(client: httpx.Client) -> None:
    cat = client.get("/api/catalog").json()
    assert cat["limits"]["rated_kw_max"] == 100_000.0
    assert 0 < cat["min_match_confidence"] < 1
    assert "备用" in cat["standby_words"] and "spare" in cat["standby_words"]
    office = next(i for i in cat["industries"] if i["code"] == "office")
    assert "写字楼" in office["aliases_zh"] and "office block" in office["aliases_en"]
    assert set(cat["next_steps"]) == {"zh", "en"}
