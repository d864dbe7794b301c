"""``/recommend_batch`` reports a contract upload's rejects per customer (issue 25).

A CSV with several bad customers: the JSON answer has one ``rejected_customers`` entry per
customer naming every row of its lines (spreadsheet numbers, header = row 1) and each
reason as a code with parameters; the row-level ``rejects`` stay (each with its code), and
together they lose no row. The CSV answer has one row per rejected customer; its reject
report from ``/export/batch`` has headers and reasons in Chinese or English.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.live

# GBK with Chinese headers and industry words, as Excel on Chinese Windows saves it.
CUSTOMERS = (
    "客户编号,行业,建筑面积,人数,班次\n"
    "M1,机加工,3000,60,2\n"  # row 2: answered
    "X1,不知道什么行业,100,,1\n"  # row 3: industry not recognised
    "R1,饭店,600,20,2\n"  # row 4: one of its three lines bad: incomplete list
    "D1,写字楼,100,,\n"  # rows 5-6: the same id twice
    "D1,写字楼,200,,\n"
    "\n"  # row 7: blank (the numbers below it stay the spreadsheet's)
    "B1,写字楼,-5,,\n"  # row 8: floor area below 0
    "Q1,写字楼,800,abc,\n"  # row 9: employees not a number
)
EQUIPMENT = (
    "客户编号,设备名称,额定功率,数量,备用\n"
    "M1,数控车床,7.5,12,否\n"  # row 2
    "R1,电磁炉,8,4,\n"  # row 3
    "R1,冰箱,abc,2,\n"  # row 4: rated kW not a number
    "R1,照明,5,1,\n"  # row 5
    "X1,照明,5,1,\n"  # row 6
    "Q1,照明,5,1,也许\n"  # row 7: standby neither yes nor no (and its customer is bad)
    "Z9,照明,5,1,\n"  # row 8: no such customer
)
ROWS = {
    "X1": {"customers": [3], "equipment": [6]},
    "R1": {"customers": [4], "equipment": [3, 4, 5]},
    "D1": {"customers": [5, 6]},
    "B1": {"customers": [8]},
    "Q1": {"customers": [9], "equipment": [7]},
    "Z9": {"equipment": [8]},
}
CODES = {
    "X1": {"reject_unknown_code", "reject_with_invalid_customer"},
    "R1": {"reject_lines_rejected", "reject_not_a_number", "reject_with_incomplete_customer"},
    "D1": {"reject_duplicate_customer_id"},
    "B1": {"reject_out_of_range"},
    "Q1": {"reject_not_a_number", "reject_not_boolean", "reject_with_invalid_customer"},
    "Z9": {"reject_unknown_customer"},
}


def _post(client: httpx.Client, output: str) -> httpx.Response:
    files = {
        "customers": ("客户.csv", CUSTOMERS.encode("gb18030"), "text/csv"),
        "equipment": ("设备.csv", EQUIPMENT.encode("gb18030"), "text/csv"),
    }
    r = client.post("/recommend_batch", files=files, data={"output": output})
    assert r.status_code == 200, r.text
    return r


def test_one_reject_per_customer_with_its_rows_and_codes(client: httpx.Client) -> None:
    body: dict[str, Any] = _post(client, "json").json()
    assert [row["customer_id"] for row in body["results"]] == ["M1"]
    entries = {e["customer_id"]: e for e in body["rejected_customers"]}
    assert {cid: e["rows"] for cid, e in entries.items()} == ROWS
    assert {cid: {r["code"] for r in e["reasons"]} for cid, e in entries.items()} == CODES
    assert body["n_rejected_customers"] == 6
    assert body["n_rejected_rows"] == sum(len(v) for r in ROWS.values() for v in r.values()) == 12
    b1 = entries["B1"]["reasons"][0]
    assert (b1["file"], b1["rows"], b1["column"], b1["value"]) == (
        "customers",
        [8],
        "floor_area_m2",
        "-5",
    )
    assert b1["params"]["column"] == "floor_area_m2" and "min" in b1["params"]
    # The row-level report is kept, every item with its code; no row is lost between them.
    assert all(rej["code"].startswith("reject_") for rej in body["rejects"])
    per_row = {(rej["file"], rej["row_number"]) for rej in body["rejects"]}
    per_customer = {(f, n) for e in entries.values() for f, ns in e["rows"].items() for n in ns}
    assert per_row == per_customer


def test_csv_answer_and_reject_report_in_both_languages(client: httpx.Client) -> None:
    text = _post(client, "csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    rejected = [r for r in rows if r["status"] != "ok"]
    assert sorted(r["customer_id"] for r in rejected) == sorted(ROWS)  # one row each
    r1 = next(r for r in rejected if r["customer_id"] == "R1")
    assert r1["source_rows"] == "customers 4; equipment 3-5" and r1["status"] == "rejected"
    assert "rated kW 'abc' is not a number" in r1["reason"]  # the codes file says it in English

    expected = {
        "zh": (
            ["客户编号", "结果", "文件中的行号", "原因"],
            "客户表第 4 行；设备表第 3–5 行",
            ["设备表第 4 行：额定功率“abc”不是数字", "3 行设备中有 1 行被拒绝"],
            "客户表第 8 行：建筑面积 -5 应",
        ),
        "en": (
            ["Customer", "Result", "Rows of the files", "Reason"],
            "customers file row 4; equipment file rows 3–5",
            ["equipment file row 4: rated kW 'abc' is not a number", "1 of 3 equipment lines"],
            "customers file row 8: floor area -5 must be",
        ),
    }
    for lang, (head, where, words, b1_reason) in expected.items():
        r = client.post(
            "/export/batch", json={"csv": text, "format": "csv", "lang": lang, "rows": "rejected"}
        )
        assert r.status_code == 200, r.text
        assert 'filename="rejects.csv"' in r.headers["content-disposition"]
        report = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert report[0] == head
        by_id = {row[0]: row for row in report[1:]}
        assert set(by_id) == set(ROWS)
        assert by_id["R1"][2] == where
        assert all(w in by_id["R1"][3] for w in words), by_id["R1"][3]
        assert by_id["B1"][3].startswith(b1_reason), by_id["B1"][3]
        other = "en" if lang == "zh" else "zh"
        assert expected[other][2][0] not in by_id["R1"][3]
    # The whole answer, relabelled, also words the rejects in the language asked.
    r = client.post("/export/batch", json={"csv": text, "format": "csv", "lang": "zh"})
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert "原因代码" not in table[0] and "文件中的行号" in table[0]
    assert any("额定功率“abc”不是数字" in cell for row in table for cell in row)
