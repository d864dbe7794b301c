"""No answer above the contract's limits (1,000,000 kVA / kW), for any industry or caller.

An absurd but valid floor area once answered up to 22,005,000 kVA (14 of 23 industries
above the contract's own 1,000,000 kVA).
"""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from features.catalog import load_catalog
from features.contract import CAPACITY_KVA_MAX, FLOOR_AREA_M2_MAX

pytestmark = [pytest.mark.slow, pytest.mark.live]


def test_an_absurd_area_never_answers_above_the_limit(client: httpx.Client) -> None:
    refused = 0
    for industry in load_catalog().industry_codes:
        app = {"industry": industry, "floor_area_m2": FLOOR_AREA_M2_MAX}
        r = client.post("/recommend", json=app)
        if r.status_code == 200:
            assert r.json()["recommended_kva"] <= CAPACITY_KVA_MAX, industry
            continue
        assert r.status_code == 400, (industry, r.status_code, r.text[:300])
        error = r.json()["errors"][0]
        assert error["code"] == "answer_over_contract_limit" and error["field"] == "floor_area_m2"
        refused += 1
        check = client.post("/check", json={"application": app, "proposed_kva": 1000})
        assert check.status_code == 400
    assert refused > 0  # the test reaches the limit at all


def test_a_batch_row_above_the_limit_is_rejected_and_reported(client: httpx.Client) -> None:
    codes = load_catalog().industry_codes
    rows = ["customer_id,industry,climate_zone,floor_area_m2,employees,shifts"]
    rows += [f"huge-{c},{c},cold,{FLOOR_AREA_M2_MAX:.0f},10,1" for c in codes]
    rows.append("ok-1,machinery,cold,5000,80,2")
    r = client.post(
        "/recommend_batch",
        files={"customers": ("c.csv", "\n".join(rows).encode())},
        data={"output": "csv"},
    )
    assert r.status_code == 200, r.text[:300]
    answers = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    ok = [a for a in answers if a["status"] == "ok"]
    assert all(float(a["recommended_kva"]) <= CAPACITY_KVA_MAX for a in ok)
    assert "ok-1" in {a["customer_id"] for a in ok}
    rejected = [a for a in answers if a["status"].startswith("rejected")]
    assert rejected and all("contract's limits" in a["reason"] for a in rejected)
    assert len(ok) + len(rejected) == len(codes) + 1  # every row answered or reported
