"""The batch CSV answer a planner works from, and the exported sheet, over real HTTP.

CSV rows carry the supply voltage, tariff, monthly charge, the verdict on the capacity
the customer applied for, the incomplete-list flag and the validation flags, at sensible
precision; ``detail=full`` on a CSV upload is refused by name; customers-only uploads
are answered area-only.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from features.contract import is_standard_capacity
from tests.service.test_http import (
    CUSTOMERS_HEADER,
    EQUIPMENT_HEADER,
    application,
    contract_upload,
    one_error,
)

# Every test here talks to a real `bentoml serve` (tests/server_process.py).
pytestmark = pytest.mark.live


def _upload(cust: str, equip: str | None) -> dict[str, Any]:
    files = {"customers": ("customers.csv", cust.encode("utf-8"), "text/csv")}
    if equip is not None:
        files["equipment"] = ("equipment.csv", equip.encode("utf-8"), "text/csv")
    return files


def _rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def test_csv_answer_carries_voltage_tariff_charge_verdict_and_flags(client: httpx.Client) -> None:
    cust, equip, valid, _ = contract_upload()
    # A1 applies for 630 kVA, A4 for 2,000 kVA.
    cust = cust.replace("A1,machinery,cold,3000,60,2,,", "A1,machinery,cold,3000,60,2,630,")
    cust = cust.replace("A4,hotel,,12000,,,,", "A4,hotel,,12000,,,2000,")
    rows = _rows(
        client.post("/recommend_batch", files=_upload(cust, equip), data={"output": "csv"})
    )
    ok = {row["customer_id"]: row for row in rows if row["status"] == "ok"}
    assert set(ok) == valid
    for row in ok.values():
        kva = float(row["recommended_kva"])
        assert is_standard_capacity(kva) and "." not in row["recommended_kva"]
        assert row["supply_voltage"] in {"220V", "0.4kV", "10kV", "35kV+"}
        two_part = row["two_part_tariff"] == "True"
        assert two_part == (kva >= 315)
        assert float(row["monthly_capacity_charge_yuan"]) == (kva * 22 if two_part else 0)
        assert _decimals(row["predicted_peak_kw"]) == 1
        assert _decimals(row["p_appropriate"]) == 3
        assert row["incomplete_list"] == "False"
    assert (ok["A1"]["applied_kva"], ok["A4"]["applied_kva"]) == ("630", "2000")
    for row in (ok["A1"], ok["A4"]):
        assert row["applied_verdict"] in {"appropriate", "undersized", "oversized"}
        applied, rec = float(row["applied_kva"]), float(row["recommended_kva"])
        yearly = lambda k: k * 22 * 12 if k >= 315 else 0.0  # noqa: E731
        assert float(row["applied_yearly_difference_yuan"]) == round(yearly(applied) - yearly(rec))
    # Customers that lost equipment lines are rejected and flagged as incomplete lists;
    # a rejected customer is one row naming its rows of the files (issue 25).
    incomplete = {
        row["customer_id"]
        for row in rows
        if row["status"] == "rejected" and row["incomplete_list"] == "True"
    }
    assert incomplete == {"A2", "A3"}
    rejected = [row["customer_id"] for row in rows if row["status"] != "ok"]
    assert len(rejected) == len(set(rejected))
    assert all(
        row["source_rows"].startswith("customers ")
        for row in rows
        if row["customer_id"] in incomplete
    )


def test_validation_flags_reach_the_csv_answer(client: httpx.Client) -> None:
    cust = CUSTOMERS_HEADER + "\nF1,machinery,,2000,40,2,630,\n"
    # One unit of 1,500 kW is flagged (a total or W typed as kW?), not rejected.
    equip = EQUIPMENT_HEADER + "\nF1,other_motor,1500,1,false,big motor\nF1,pump,15,2,false,\n"
    rows = _rows(
        client.post("/recommend_batch", files=_upload(cust, equip), data={"output": "csv"})
    )
    assert len(rows) == 1 and rows[0]["status"] == "ok"
    assert rows[0]["flags"], rows[0]


def test_csv_upload_with_detail_full_is_400_naming_detail(client: httpx.Client) -> None:
    cust, equip, _, _ = contract_upload()
    err = one_error(
        client.post(
            "/recommend_batch", files=_upload(cust, equip), data={"detail": "full", "output": "csv"}
        )
    )
    assert (err["field"], err["value"]) == ("detail", "full")
    assert "JSON" in err["expected"]


def test_customers_only_upload_is_answered_area_only(client: httpx.Client) -> None:
    cust = CUSTOMERS_HEADER + "\nC1,office,,12000,300,1,1250,\nC2,hotel,,8000,120,3,,\n"
    rows = _rows(client.post("/recommend_batch", files=_upload(cust, None), data={"output": "csv"}))
    assert [row["customer_id"] for row in rows] == ["C1", "C2"]
    assert all(row["status"] == "ok" and row["basis"] == "area" for row in rows)
    assert rows[0]["applied_verdict"] and not rows[1]["applied_verdict"]
    answer = client.post("/recommend_batch", files=_upload(cust, None)).json()
    assert answer["n"] == 2 and answer["results"][1]["applied_kva"] is None


def test_export_sheet_answers_a_pdf_with_its_file_name(client: httpx.Client) -> None:
    body = {
        "application": application("machinery"),
        "format": "pdf",
        "proposed_kva": 1000,
        "header": {"工程名称": "测试工程", "户号": "0012345", "date": "2026-12-01"},
    }
    r = client.post("/export/sheet", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert "0012345" in r.headers["content-disposition"]
    assert r.headers["x-recommendation-id"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "测试工程" in text.replace(" ", "")
    for fmt, media in (("xlsx", "spreadsheetml"), ("docx", "wordprocessingml")):
        r = client.post("/export/sheet", json={**body, "format": fmt})
        assert r.status_code == 200 and media in r.headers["content-type"], r.text


def test_export_sheet_bad_input_is_400_naming_the_field(client: httpx.Client) -> None:
    err = one_error(
        client.post("/export/sheet", json={"application": application("food"), "format": "odt"})
    )
    assert err["field"] == "format"
    err = one_error(
        client.post("/export/sheet", json={"application": {"industry": "food"}, "format": "pdf"})
    )
    assert err["field"] == "application"


def _workbook(customers: str, equipment: str | None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "customers"
    for line in customers.strip().splitlines():
        ws.append(line.split(","))
    if equipment is not None:
        eq = wb.create_sheet("equipment")
        for line in equipment.strip().splitlines():
            eq.append(line.split(","))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_workbook_upload_answers_like_the_two_csv_files(client: httpx.Client) -> None:
    cust, equip, valid, _ = contract_upload()
    from_csv = _rows(
        client.post("/recommend_batch", files=_upload(cust, equip), data={"output": "csv"})
    )
    files = {"workbook": ("batch.xlsx", _workbook(cust, equip), XLSX)}
    from_xlsx = _rows(client.post("/recommend_batch", files=files, data={"output": "csv"}))
    key = lambda r: (r["customer_id"], r["status"])  # noqa: E731
    assert sorted(map(key, from_xlsx)) == sorted(map(key, from_csv))
    by_id = {r["customer_id"]: r["recommended_kva"] for r in from_csv if r["status"] == "ok"}
    assert {r["customer_id"]: r["recommended_kva"] for r in from_xlsx if r["status"] == "ok"} == (
        by_id
    )
    assert set(by_id) == valid


def test_workbook_without_customers_sheet_is_400(client: httpx.Client) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    out = io.BytesIO()
    wb.save(out)
    files = {"workbook": ("batch.xlsx", out.getvalue(), XLSX)}
    err = one_error(client.post("/recommend_batch", files=files))
    assert err["field"] == "workbook" and "customers" in err["expected"]
    files = {"workbook": ("batch.xlsx", b"not a zip", XLSX)}
    assert one_error(client.post("/recommend_batch", files=files))["field"] == "workbook"


def test_export_batch_turns_the_csv_answer_into_a_typed_workbook(client: httpx.Client) -> None:
    from openpyxl import load_workbook

    cust, equip, _, _ = contract_upload()
    answer = client.post("/recommend_batch", files=_upload(cust, equip), data={"output": "csv"})
    text = answer.content.decode("utf-8-sig")
    r = client.post("/export/batch", json={"csv": text, "format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX, r.text
    ws = load_workbook(io.BytesIO(r.content))["recommendations"]
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == len(text.strip().splitlines())
    header = list(rows[0])
    kva = header.index("recommended_kva")
    ok = [row for row in rows[1:] if row[header.index("status")] == "ok"]
    assert ok and all(isinstance(row[kva], int | float) for row in ok)
    err = one_error(client.post("/export/batch", json={"csv": "a,b\n1,2\n"}))
    assert err["field"] == "csv"


def test_csv_batch_rows_are_logged_as_applications(client: httpx.Client, live_server: Any) -> None:
    # Issue 24: CSV rows were logged as {"customer": …, "equipment": …}, which the monitor
    # read as industry None and the retrain skipped; now every path logs the application.
    import json
    import sqlite3
    import time

    from features.schemas import Application

    cust, equip, valid, _ = contract_upload()
    rows = _rows(
        client.post("/recommend_batch", files=_upload(cust, equip), data={"output": "csv"})
    )
    ids = {r["recommendation_id"]: r for r in rows if r["status"] == "ok"}
    assert len(ids) == len(valid)
    found: dict[str, str] = {}
    deadline = time.monotonic() + 15
    while len(found) < len(ids) and time.monotonic() < deadline:
        with sqlite3.connect(live_server.home / "log.db") as db:
            marks = ",".join("?" * len(ids))
            found = dict(
                db.execute(
                    f"SELECT id, request_json FROM recommendations WHERE id IN ({marks})",
                    list(ids),
                ).fetchall()
            )
        time.sleep(0.2)
    assert set(found) == set(ids)
    uploaded = {r["customer_id"]: r for r in csv.DictReader(io.StringIO(cust))}
    for rid, text in found.items():
        request = json.loads(text)
        assert "customer" not in request
        app = Application.model_validate(request)
        sent = uploaded[ids[rid]["customer_id"]]
        assert app.industry == sent["industry"]
        area = sent.get("floor_area_m2") or None
        assert app.floor_area_m2 == (None if area is None else float(area))
