"""Rejected upload rows reported per customer, with spreadsheet row numbers and codes.

Issue 25: 57 rejected customers were reported as "582 行被拒绝", once per line, in English.
Protected here without a server: the grouping (one entry per customer naming every row
of its lines, nothing lost), the row numbers as a spreadsheet shows them (blank rows and
a lost line keep the numbers below them), every reason as a code the catalogs render in
both languages, and the reject report of ``/export/batch`` in zh and en.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from features.validation import HISTORY_REJECT_COLUMNS
from serving.batch_csv import (
    BATCH_CSV_COLUMNS,
    ContractUpload,
    csv_response,
    read_contract_upload,
    reject_rows,
)
from serving.batch_rejects import (
    customer_rejects,
    parse_rows_text,
    reason_text,
    rows_text,
    rows_words,
)
from serving.messages import COLUMN_NAMES, REJECT_CATALOGS, render_reject
from serving.sheet.batch import batch_csv_localised

REPO = Path(__file__).resolve().parents[2]

# Five bad customers (and one good, M1), written as people write them; a blank row (4).
CUSTOMERS = (
    "customer_id,industry,floor_area_m2,employees,shifts\n"
    "M1,machinery,3000,60,2\n"  # row 2: loses a line in reading (row 6 of equipment)
    "X1,machinary,100,,1\n"  # row 3: unknown industry (its equipment row 7 goes with it)
    "\n"  # row 4: blank (kept: the rows below keep their numbers)
    "R1,restaurant,600,20,2\n"  # row 5: one of its 3 lines is bad: incomplete list
    "D1,office,100,,\n"  # rows 6 and 7: the same id twice
    "D1,office,200,,\n"
    "B1,office,abc,,\n"  # row 8: floor area not a number
    "G1,office,2000,,\n"  # row 9: answered (area only)
)
EQUIPMENT = (
    "customer_id,category,rated_kw,quantity,standby,name\n"
    "M1,machine_tool,7.5,12,false,数控车床\n"  # row 2
    "R1,kitchen_equipment,12,6,false,灶具\n"  # row 3
    "R1,split_ac,abc,1,false,空调\n"  # row 4: rated kW not a number
    "R1,lighting,5,1,false,照明\n"  # row 5
    'M1,lighting,5,1,false,"照明\n'  # row 6: unclosed quote: lost, and M1 with it
    "X1,lighting,5,1,false,照明\n"  # row 7
    "Z9,lighting,5,1,false,照明\n"  # row 8: no such customer
)
EXPECTED_ROWS = {
    "X1": {"customers": [3], "equipment": [7]},
    "R1": {"customers": [5], "equipment": [3, 4, 5]},
    "D1": {"customers": [6, 7]},
    "B1": {"customers": [8]},
    "Z9": {"equipment": [8]},
    "M1": {"customers": [2], "equipment": [2, 6]},
}
OWN_CODES = {
    "X1": "reject_unknown_code",
    "R1": "reject_lines_rejected",
    "D1": "reject_duplicate_customer_id",
    "B1": "reject_not_a_number",
    "Z9": "reject_unknown_customer",
    "M1": "reject_lines_rejected",
}


@pytest.fixture
def upload(tmp_path: Path) -> Any:
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "equipment.csv").write_text(EQUIPMENT, encoding="utf-8")
    up = read_contract_upload(tmp_path / "customers.csv", tmp_path / "equipment.csv")
    assert isinstance(up, ContractUpload), up  # an upload, not an error answer
    return up


def test_one_entry_per_customer_with_every_row_of_its_lines(upload: Any) -> None:
    rows = upload.rejects()
    entries = customer_rejects(rows, upload.rows_of)
    assert {e["customer_id"]: e["rows"] for e in entries} == EXPECTED_ROWS
    assert {e["customer_id"]: e["reasons"][0]["code"] for e in entries} == OWN_CODES
    assert list(upload.validated.customers["customer_id"]) == ["G1"]
    assert set(upload.validated.equipment["customer_id"]) == set()
    # M1's list lost a line it could not read: answered on the rest it would be too small.
    m1 = next(e for e in entries if e["customer_id"] == "M1")
    assert [r["code"] for r in m1["reasons"]] == [
        "reject_lines_rejected",
        "reject_unclosed_quote",
        "reject_with_incomplete_customer",
    ]
    assert m1["reasons"][0]["params"] == {"column": "customer_id", "n": 1, "of": 2}
    # Nothing lost: every rejected row of the report is named by its customer's entry,
    # and the entries name no other row.
    reported = {(r["file"], r["row_number"]) for r in rows}
    named = {(f, n) for e in entries for f, ns in e["rows"].items() for n in ns}
    assert named == reported
    assert sum(e["lines"] for e in entries) == len(reported) == 13
    r1 = next(e for e in entries if e["customer_id"] == "R1")
    bad = next(r for r in r1["reasons"] if r["code"] == "reject_not_a_number")
    assert (bad["file"], bad["rows"], bad["column"], bad["value"]) == (
        "equipment",
        [4],
        "rated_kw",
        "abc",
    )
    assert r1["reasons"][0]["params"] == {"column": "customer_id", "n": 1, "of": 3}


def test_the_reasons_in_both_languages(upload: Any) -> None:
    entries = {e["customer_id"]: e for e in customer_rejects(upload.rejects(), upload.rows_of)}
    r1 = entries["R1"]
    assert rows_words(r1["rows"], "zh") == "客户表第 5 行；设备表第 3–5 行"
    assert rows_words(r1["rows"], "en") == "customers file row 5; equipment file rows 3–5"
    bad = next(r for r in r1["reasons"] if r["code"] == "reject_not_a_number")
    assert (
        reason_text(bad, "zh")
        == "设备表第 4 行：额定功率“abc”不是数字（请只填数字，如 7.5，不带单位）"
    )
    assert reason_text(bad, "en").startswith("equipment file row 4: rated kW 'abc' is not a number")
    x1 = entries["X1"]["reasons"][0]
    assert x1["params"]["suggestion"] == "machinery"
    assert "是否是" in reason_text(x1, "zh") and "did you mean" in reason_text(x1, "en")


def test_the_csv_answer_has_one_row_per_rejected_customer(upload: Any) -> None:
    entries = customer_rejects(upload.rejects(), upload.rows_of)
    body = csv_response(reject_rows(entries)).body
    rows = list(csv.DictReader(io.StringIO(bytes(body).decode("utf-8-sig"))))
    assert [r["customer_id"] for r in rows] == [e["customer_id"] for e in entries]
    assert {r["status"] for r in rows} == {"rejected"}
    by_id = {r["customer_id"]: r for r in rows}
    assert by_id["R1"]["source_rows"] == "customers 5; equipment 3-5"
    assert parse_rows_text(by_id["R1"]["source_rows"]) == EXPECTED_ROWS["R1"]
    assert by_id["R1"]["incomplete_list"] == "True" and by_id["B1"]["incomplete_list"] == "False"
    codes = [r["code"] for r in json.loads(by_id["R1"]["reject_reasons"])]
    assert codes[0] == "reject_lines_rejected" and "reject_not_a_number" in codes

    # The reject report of /export/batch, headers and reasons in the language asked.
    text = bytes(body).decode("utf-8-sig")
    for lang, head, words in (
        ("zh", ["客户编号", "结果", "文件中的行号", "原因"], "额定功率“abc”不是数字"),
        ("en", ["Customer", "Result", "Rows of the files", "Reason"], "rated kW 'abc' is not"),
    ):
        out = batch_csv_localised(text, BATCH_CSV_COLUMNS, lang, "rejected").decode("utf-8-sig")
        report = list(csv.reader(io.StringIO(out)))
        assert report[0] == head
        assert len(report) == 1 + len(entries)
        r1 = next(r for r in report if r[0] == "R1")
        assert words in r1[3]
        assert r1[2] == rows_words(EXPECTED_ROWS["R1"], lang)
        assert r1[1] == ("已拒绝" if lang == "zh" else "rejected")


def test_rows_text_round_trips() -> None:
    rows = {"customers": [2], "equipment": [5, 6, 7, 9, 11, 12]}
    assert rows_text(rows) == "customers 2; equipment 5-7, 9, 11-12"
    assert parse_rows_text(rows_text(rows)) == rows
    assert parse_rows_text("not rows") == {}


def _producer_codes() -> set[str]:
    """Every reject code the validation and the batch answer send."""
    found: set[str] = set()
    for path in ("features/validation.py", "serving/batch_answer.py", "serving/batch_csv.py"):
        text = (REPO / path).read_text(encoding="utf-8")
        found |= set(re.findall(r'code"?\s*[=:]\s*"(reject_[a-z_]+)"', text))
    return found


def test_every_reject_code_renders_in_both_languages() -> None:
    assert set(REJECT_CATALOGS["en"]) == set(REJECT_CATALOGS["zh"])
    produced = _producer_codes()
    assert produced - set(REJECT_CATALOGS["en"]) == set(), "codes without a text"
    assert len(produced) >= 30
    params = {
        "column": "rated_kw",
        "min": 0,
        "max": None,
        "exclusive": True,
        "limit": 5000.0,
        "suggestion": "pump",
        "n": 2,
        "of": 5,
        "kind": "increase",
        "ratio": 2.0,
        "limit_kva": 100000.0,
        "limit_kw": 100000.0,
    }
    for lang, catalog in REJECT_CATALOGS.items():
        for code in catalog:
            text = render_reject(code, params, "7.5kw", lang)
            assert text and "{" not in text, (code, lang, text)
    # Every column a reject names has its words (contract columns and derived ones).
    from features.contract import CUSTOMER_COLUMNS, EQUIPMENT_COLUMNS, METER_COLUMNS

    columns = {c.name for c in (*CUSTOMER_COLUMNS, *EQUIPMENT_COLUMNS, *METER_COLUMNS)}
    assert columns - set(COLUMN_NAMES) - {"note"} == set()
    assert "code" in HISTORY_REJECT_COLUMNS and "params" in HISTORY_REJECT_COLUMNS


def test_row_numbers_count_empty_lines_above_the_header(tmp_path: Path) -> None:
    """Two empty lines above the customers' header, one above the equipment's: a
    spreadsheet shows the header on row 3 (and 2), so every row named moves down with it."""
    (tmp_path / "customers.csv").write_text("\n\n" + CUSTOMERS, encoding="utf-8")
    (tmp_path / "equipment.csv").write_text(",,\n" + EQUIPMENT, encoding="utf-8")
    up = read_contract_upload(tmp_path / "customers.csv", tmp_path / "equipment.csv")
    assert isinstance(up, ContractUpload), up
    entries = customer_rejects(up.rejects(), up.rows_of)
    shift = {"customers": 2, "equipment": 1}
    assert {e["customer_id"]: e["rows"] for e in entries} == {
        cid: {f: [n + shift[f] for n in ns] for f, ns in files.items()}
        for cid, files in EXPECTED_ROWS.items()
    }
    b1 = next(e for e in entries if e["customer_id"] == "B1")
    assert b1["reasons"][0]["rows"] == [10]


def test_a_meter_reading_lost_in_reading_rejects_its_customer(tmp_path: Path) -> None:
    """The meter readings go through the same reader (GBK, empty lines above the header,
    an unclosed quote): an existing customer that lost a month is not sized from the
    others (its peak may be in the lost month), and every one of its rows is named."""
    customers = (
        "customer_id,industry,floor_area_m2,application_type,existing_capacity_kva\n"
        "E1,office,12000,reduce,1250\n"  # row 2: loses one of its 4 readings
        "E2,office,9000,reduce,1000\n"  # row 3: complete, kept
    )
    readings = "\n" + "customer_id,period,energy_kwh,max_demand_kw\n"  # header on row 2
    readings += "".join(f"E1,2025-{m:02d},70000,\n" for m in (1, 2, 3))  # rows 3-5
    readings += 'E1,2025-04,"70000,\n'  # row 6: unclosed quote
    readings += "".join(f"E2,2025-{m:02d},50000,\n" for m in (1, 2, 3))  # rows 7-9
    (tmp_path / "customers.csv").write_text(customers, encoding="utf-8")
    (tmp_path / "meter.csv").write_bytes(readings.encode("gb18030"))
    up = read_contract_upload(tmp_path / "customers.csv", None, tmp_path / "meter.csv")
    assert isinstance(up, ContractUpload), up
    assert list(up.validated.customers["customer_id"]) == ["E2"]
    assert set(up.validated.meter_readings["customer_id"]) == {"E2"}
    (entry,) = customer_rejects(up.rejects(), up.rows_of)
    assert entry["customer_id"] == "E1"
    assert entry["rows"] == {"customers": [2], "meter_readings": [3, 4, 5, 6]}
    first = entry["reasons"][0]
    assert (first["code"], first["params"]) == (
        "reject_meter_readings_invalid",
        {"column": "meter_readings", "n": 1, "of": 4},
    )
    assert {r["code"] for r in entry["reasons"]} == {
        "reject_meter_readings_invalid",
        "reject_unclosed_quote",
        "reject_with_invalid_customer",
    }


def test_a_workbook_keeps_the_rows_above_its_header(tmp_path: Path) -> None:
    """A sheet whose header is on row 3 (a title row left empty, then a blank row): the
    rejects name the rows the workbook shows, as for the CSV files."""
    import openpyxl

    from serving.batch_csv import workbook_sheets

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "customers"
    sheet.append([])
    sheet.append([])
    for line in CUSTOMERS.splitlines():
        sheet.append(line.split(",") if line else [])
    book.save(tmp_path / "batch.xlsx")
    files = workbook_sheets(tmp_path / "batch.xlsx")
    assert isinstance(files, tuple), files
    up = read_contract_upload(files[0], files[1])
    assert isinstance(up, ContractUpload), up
    rows = {e["customer_id"]: e["rows"] for e in customer_rejects(up.rejects(), up.rows_of)}
    assert rows["B1"] == {"customers": [10]} and rows["D1"] == {"customers": [8, 9]}
