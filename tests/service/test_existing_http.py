"""An existing customer sent to a model trained without existing customers: a clear 400.

The session bundle has no existing customers, so it cannot size from meter readings
(features.metered.MeteredModelRequired). Every path says so with a code the page words
(``model_without_existing_customers``), never a 500: /recommend, /check and the batch CSV upload with
its meter_readings file.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

# Every test here talks to a real `bentoml serve` (tests/server_process.py).
pytestmark = pytest.mark.live

READINGS = [{"period": f"2025-{m:02d}", "energy_kwh": 70000.0} for m in range(1, 13)]
EXISTING: dict[str, Any] = {
    "industry": "office",
    "application_type": "reduce",
    "existing_capacity_kva": 1250.0,
    "meter_readings": READINGS,
    "equipment": [],
}


def _only_error(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 400, resp.text
    (error,) = resp.json()["errors"]
    assert error["code"] == "model_without_existing_customers"
    assert "without existing customers" in error["expected"]
    return dict(error)


def test_recommend_and_check_refuse_readings_with_a_reason(client: httpx.Client) -> None:
    assert _only_error(client.post("/recommend", json=EXISTING))["field"] == "application_type"
    check = client.post("/check", json={"application": EXISTING, "proposed_kva": 800})
    assert _only_error(check)["field"] == "application.application_type"
    # The same model still answers new connections.
    new = {
        k: v
        for k, v in EXISTING.items()
        if k not in ("application_type", "existing_capacity_kva", "meter_readings")
    }
    assert client.post("/recommend", json={**new, "floor_area_m2": 6000}).status_code == 200


def test_the_batch_upload_with_meter_readings_is_refused_with_a_reason(
    client: httpx.Client,
) -> None:
    customers = (
        "customer_id,industry,floor_area_m2,application_type,existing_capacity_kva\n"
        "E1,office,12000,reduce,1250\n"
    )
    readings = "customer_id,period,energy_kwh,max_demand_kw\n" + "".join(
        f"E1,{r['period']},{r['energy_kwh']},\n" for r in READINGS
    )
    files = {
        "customers": ("customers.csv", customers.encode(), "text/csv"),
        "meter_readings": ("meter_readings.csv", readings.encode(), "text/csv"),
    }
    error = _only_error(client.post("/recommend_batch", files=files, data={"output": "csv"}))
    assert error["field"] == "meter_readings"
