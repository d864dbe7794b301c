"""The batch page's rejected customers: one row each, row numbers, reasons, a filter.

Issue 25 item 4: 57 rejected customers were shown as "582 行被拒绝", in English, without
row numbers or a filter. Protected: the caption counts customers and their lines, each
rejected customer is one row of the rejects table naming its rows of the files and its
reasons in the page's language (zh, then en: no server English on the Chinese page, no
Chinese on the English one), the filter by reason and by text keeps the right customers,
the page words a reason exactly as the server's catalog does, and the reject report
downloads with headers in the page's language.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from serving.batch_rejects import reason_text
from serving.messages import COLUMN_NAMES, REJECT_CATALOGS

pytestmark = [pytest.mark.browser, pytest.mark.live]

DESKTOP = {"width": 1280, "height": 800}

CUSTOMERS = (
    "customer_id,industry,floor_area_m2,employees,shifts\n"
    "M1,machinery,3000,60,2\n"  # row 2: answered
    "X1,machinary,100,,1\n"  # row 3: unknown industry
    "R1,restaurant,600,20,2\n"  # row 4: one bad line of three: incomplete list
    "D1,office,100,,\n"  # rows 5, 6: the same id twice
    "D1,office,200,,\n"
    "B1,office,abc,,\n"  # row 7: floor area not a number
)
EQUIPMENT = (
    "customer_id,category,rated_kw,quantity,standby,name\n"
    "M1,machine_tool,7.5,12,false,数控车床\n"
    "R1,kitchen_equipment,12,6,false,灶具\n"  # row 3
    "R1,split_ac,abc,1,false,空调\n"  # row 4: not a number
    "R1,lighting,5,1,false,照明\n"  # row 5
    "X1,lighting,5,1,false,照明\n"  # row 6
)


def _files(name: str, text: str) -> list[dict[str, Any]]:
    return [{"name": name, "mimeType": "text/csv", "buffer": text.encode("utf-8")}]


def _rejects(page: Any) -> dict[str, tuple[str, str]]:
    """Customer → (rows, reasons) of the rejects table's visible rows."""
    out = {}
    for tr in page.locator("#batch-rejects-table tbody tr[data-customer]").all():
        cells = tr.locator("td").all_inner_texts()
        out[cells[0]] = (cells[1], cells[2])
    return out


def _upload(page: Any) -> None:
    page.set_input_files("#batch-customers", files=_files("customers.csv", CUSTOMERS))
    page.set_input_files("#batch-equipment", files=_files("equipment.csv", EQUIPMENT))
    page.click("#batch-submit")
    expect(page.locator("#batch-rejects")).to_be_visible()


def test_rejects_table_and_filter_in_chinese_then_english(new_page: Any) -> None:
    page = new_page(DESKTOP)
    _upload(page)
    # 4 customers, 9 lines of the files (X1 2, R1 4, D1 2, B1 1), not 9 "rejected rows".
    expect(page.locator("#batch-rejects-caption")).to_have_text("4 户被拒绝（文件中的 9 行）")
    expect(page.locator("#batch-table caption")).to_contain_text("1 户已推荐；4 户被拒绝")
    rows = _rejects(page)
    assert set(rows) == {"X1", "R1", "D1", "B1"}
    assert rows["R1"][0] == "客户表第 4 行；设备表第 3–5 行"
    assert rows["D1"][0] == "客户表第 5–6 行"
    assert "设备表第 4 行：额定功率“abc”不是数字" in rows["R1"][1]
    assert "3 行设备中有 1 行被拒绝" in rows["R1"][1]
    assert "行业“machinary”不在列表中；是否是“" in rows["X1"][1]
    for _where, why in rows.values():  # no server English on the Chinese page
        assert not any(w in why for w in ("rejected", "customer", "not a number", "unknown"))
    # The main table: one row per rejected customer, its rows in words.
    assert page.locator("#batch-table tbody tr.rejected").count() == 4

    # Filter by reason: 'not a number' keeps R1 (its line) and B1 (its floor area).
    page.select_option("#batch-reject-kind", "reject_not_a_number")
    assert set(_rejects(page)) == {"R1", "B1"}
    expect(page.locator("#batch-rejects-shown")).to_have_text("显示 2/4 户")
    # ... and by text, within it: a column's words.
    page.fill("#batch-reject-search", "建筑面积")
    assert set(_rejects(page)) == {"B1"}
    page.fill("#batch-reject-search", "没有这样的字")
    expect(page.locator("#batch-rejects-table tbody")).to_have_text("没有符合筛选条件的客户。")
    page.select_option("#batch-reject-kind", "")
    page.fill("#batch-reject-search", "D1")
    assert set(_rejects(page)) == {"D1"}
    page.fill("#batch-reject-search", "")
    assert len(_rejects(page)) == 4

    # The reject report in the page's language.
    with page.expect_download() as got:
        page.click("#batch-download-rejects")
    assert got.value.suggested_filename == "rejects.csv"
    report = list(csv.reader(io.StringIO(Path(got.value.path()).read_text(encoding="utf-8-sig"))))
    assert report[0] == ["客户编号", "结果", "文件中的行号", "原因"]
    assert {r[0] for r in report[1:]} == {"X1", "R1", "D1", "B1"}
    r1 = next(r for r in report if r[0] == "R1")
    assert r1[2] == "客户表第 4 行；设备表第 3–5 行" and "额定功率“abc”不是数字" in r1[3]

    page.click("#lang-toggle")
    expect(page.locator("#batch-rejects-caption")).to_have_text(
        "4 customers rejected (9 lines of the files)"
    )
    rows = _rejects(page)
    assert rows["R1"][0] == "customers file row 4; equipment file rows 3–5"
    assert "equipment file row 4: rated kW 'abc' is not a number" in rows["R1"][1]
    assert "industry 'machinary' is not in the list; did you mean '" in rows["X1"][1]
    for where, why in rows.values():  # no Chinese on the English page
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in where + why), why
    page.select_option("#batch-reject-kind", "reject_duplicate_customer_id")
    assert set(_rejects(page)) == {"D1"}
    expect(page.locator("#batch-reject-kind option:checked")).to_contain_text(
        "customer id repeated"
    )
    page.select_option("#batch-reject-kind", "")
    page.fill("#batch-reject-search", "rated kw")
    assert set(_rejects(page)) == {"R1"}
    with page.expect_download() as got:
        page.click("#batch-download-rejects")
    report = list(csv.reader(io.StringIO(Path(got.value.path()).read_text(encoding="utf-8-sig"))))
    assert report[0] == ["Customer", "Result", "Rows of the files", "Reason"]
    assert next(r for r in report if r[0] == "B1")[3].startswith("customers file row 7: floor area")


def test_the_page_words_every_reason_as_the_server_does(new_page: Any) -> None:
    """One catalog per language on each side: the page's reject texts are the server's."""
    page = new_page(DESKTOP)
    keys = page.evaluate("async () => Object.keys((await import('/static/i18n.js')).DICT.zh)")
    assert set(REJECT_CATALOGS["zh"]) - set(keys) == set()
    assert {f"reject_col_{c}" for c in COLUMN_NAMES} - set(keys) == set()
    params = {
        "min": 0,
        "max": 12,
        "exclusive": False,
        "limit": 5000.0,
        "suggestion": "machinery",
        "n": 2,
        "of": 5,
        "kind": "increase",
        "ratio": 2.5,
        "limit_kva": 100000.0,
        "limit_kw": 100000.0,
    }
    reasons = [
        {
            "code": code,
            "params": {**params, "column": "industry" if "unknown_code" in code else "rated_kw"},
            "file": "equipment",
            "rows": [3, 4, 5, 9],
            "column": "rated_kw",
            "value": "7.5kw",
        }
        for code in REJECT_CATALOGS["zh"]
    ]
    # The other wordings of a range: only a lower bound (exclusive), only an upper one.
    for bounds in ({"min": 0, "max": None, "exclusive": True}, {"min": None, "max": 24}):
        reasons.append({**reasons[0], "code": "reject_out_of_range", "params": bounds, "rows": []})
    for lang in ("zh", "en"):
        got = page.evaluate(
            """async ([lang, reasons]) => {
                const i18n = await import('/static/i18n.js');
                const batch = await import('/static/batch.js');
                i18n.setLang(lang);
                return reasons.map((r) => batch.reasonText(r));
            }""",
            [lang, reasons],
        )
        want = [reason_text(r, lang) for r in reasons]
        differ = [(r["code"], g, w) for r, g, w in zip(reasons, got, want, strict=True) if g != w]
        assert not differ, differ
