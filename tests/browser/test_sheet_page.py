"""The sheet on the page: editable Kx / cos φ / K∑, design settings, export, print layout."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

pytestmark = [pytest.mark.browser, pytest.mark.live]

DESKTOP = {"width": 1280, "height": 800}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _totals(page: Any, label: str) -> float:
    row = page.locator("#sheet-totals tbody tr", has=page.locator(f"th:text-is('{label}')"))
    return float(re.sub(r"[^\d.]", "", row.locator("td").inner_text()))


def _answer(page: Any) -> None:
    page.click("[data-example=machinery_workshop]")
    page.click("#submit-btn")
    # Customer mode folds the sheet (one click away, issue 25): open it.
    page.wait_for_selector("#sheet-details summary")
    page.click("#sheet-details summary")
    page.wait_for_selector("#sheet-table input.sheet-edit")


def test_edit_kx_in_the_sheet_and_recalculate(new_page: Any, screenshots: Path) -> None:
    page = new_page(DESKTOP)
    _answer(page)
    p30_before = _totals(page, "P30")
    first = page.locator("#sheet-table tbody tr").first.locator("input[data-field=kx]")
    old_kx = float(first.input_value())
    first.fill(f"{min(old_kx + 0.2, 1.0):.3f}")
    # Wait for the answer itself, not only the request: on a loaded machine the old sheet's
    # inputs are still on the page while the new answer is on its way.
    with page.expect_response(
        lambda r: r.url.endswith("/recommend") and r.request.method == "POST", timeout=30_000
    ) as got:
        page.click("#sheet-recalc")
    assert got.value.ok
    design = got.value.request.post_data_json["design"]
    assert len(design["overrides"]) == 1 and design["overrides"][0]["kx"] == pytest.approx(
        min(old_kx + 0.2, 1.0)
    )
    page.click("#sheet-details summary")
    page.wait_for_selector("#sheet-table input.sheet-edit")
    expect(page.locator("#sheet-table tbody tr").first.locator("td").nth(1)).to_contain_text("*")
    assert _totals(page, "P30") > p30_before
    expect(page.locator("#design-overrides li")).to_have_count(1)

    # K∑p edited in the totals, and class II from the design box: two transformers.
    page.locator("#sheet-totals input[data-target=design-ksp]").fill("0.8")
    page.locator("#design-box summary").click()
    page.select_option("#design-class", "II")
    page.click("#sheet-recalc")
    expect(page.locator("#sheet-supply")).to_contain_text("II 级负荷：2 ×")
    expect(page.locator("#sheet-totals input[data-target=design-ksp]")).to_have_value("0.8")
    page.screenshot(path=str(screenshots / "sheet-edited-zh.png"), full_page=True)


def test_export_the_sheet_from_the_page(new_page: Any) -> None:
    page = new_page(DESKTOP)
    _answer(page)
    page.fill("#export-project_name", "页面导出测试工程")
    page.fill("#export-account_no", "9900112233")
    with page.expect_download() as got:
        page.click("#export-pdf")
    assert got.value.suggested_filename.endswith(".pdf")
    assert "9900112233" in got.value.suggested_filename
    text = _flat("".join(p.extract_text() for p in PdfReader(got.value.path()).pages))
    assert "页面导出测试工程" in text and "9900112233" in text
    expect(page.locator("#export-status")).to_contain_text("已下载")
    with page.expect_download() as got:
        page.click("#export-xlsx")
    assert got.value.suggested_filename.endswith(".xlsx")


def test_the_english_page_exports_an_english_document_or_a_chinese_one_on_request(
    new_page: Any,
) -> None:
    # Issue 25: an export from the English page gave a Chinese document without saying so.
    from docx import Document

    page = new_page(DESKTOP)
    page.click("#lang-toggle")
    _answer(page)
    expect(page.locator("#export-lang")).to_have_value("en")
    with page.expect_request(lambda r: r.url.endswith("/export/sheet")) as req:
        with page.expect_download() as got:
            page.click("#export-docx")
    assert req.value.post_data_json["lang"] == "en"
    assert got.value.suggested_filename.startswith("load-calculation")
    document = Document(got.value.path())
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Equipment list" in text and "Signatures" in text and "设备清单" not in text
    expect(page.locator("#export-status")).to_contain_text("Downloaded")
    # A Chinese document for filing, picked from the English page.
    page.select_option("#export-lang", "zh")
    with page.expect_download() as got:
        page.click("#export-pdf")
    assert got.value.suggested_filename.startswith("负荷计算书")
    pdf = _flat("".join(p.extract_text() for p in PdfReader(got.value.path()).pages))
    assert "设备清单" in pdf and "Equipmentlist" not in pdf


def test_print_layout_of_a_planner_check(new_page: Any, screenshots: Path) -> None:
    page = new_page(DESKTOP)
    page.click("#mode-planner")
    page.click("[data-example=machinery_workshop]")
    page.fill("#proposed_kva", "1000")
    page.click("#submit-btn")
    page.wait_for_selector("#tier-proposal")
    expect(page.locator("#tier-proposal")).to_contain_text("1,000 kVA")
    page.emulate_media(media="print")
    page.wait_for_timeout(400)  # the charts redraw at the print width
    for hidden in ("#app-form", "#batch", "#export-card", ".sheet-edit-actions"):
        assert not page.locator(hidden).first.is_visible(), hidden
    # Chart text is drawn at its size, not shrunk: each chart's SVG is at most as wide as
    # its box in the print layout.
    scales = page.evaluate(
        """() => [...document.querySelectorAll('.chart-host svg')].map((svg) =>
            svg.getBoundingClientRect().width / svg.width.baseVal.value)"""
    )
    assert scales and min(scales) > 0.95, scales
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf_path = ARTIFACTS / "page-print.pdf"
    page.pdf(path=str(pdf_path), format="A4", print_background=True)
    reader = PdfReader(io.BytesIO(pdf_path.read_bytes()))
    text = _flat("".join(p.extract_text() for p in reader.pages))
    assert "图中标出申报容量1,000kVA" in text
    assert "P30" in text and "S30" in text
    if shutil.which("pdftoppm"):
        for old in ARTIFACTS.glob("page-print-*.png"):
            old.unlink()
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", str(pdf_path), str(ARTIFACTS / "page-print")],
            check=True,
        )


def test_the_printed_customer_page_lists_every_lines_kw_quantity_and_standby(
    new_page: Any,
) -> None:
    # Issue 25: the next steps name the printed page as the equipment-list attachment; it
    # listed no kW, quantity or standby. Customer mode, printed: every sent line is a row
    # with its figures.
    page = new_page(DESKTOP)
    page.click("[data-example=machinery_workshop]")
    with page.expect_request(lambda r: r.url.endswith("/recommend") and r.method == "POST") as req:
        page.click("#submit-btn")
    page.wait_for_selector("#matches-table tbody tr")
    sent = req.value.post_data_json["equipment"]
    page.emulate_media(media="print")
    table = page.locator("#matches-table")
    assert table.is_visible()
    heads = table.locator("thead th").all_inner_texts()
    assert {"单台功率 (kW)", "台数", "备用"} <= set(heads), heads
    k_kw, k_qty, k_sb = (heads.index(h) for h in ("单台功率 (kW)", "台数", "备用"))
    rows = table.locator("tbody tr")
    assert rows.count() == len(sent)
    for i, line in enumerate(sent):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert float(cells[k_kw].replace(",", "")) == pytest.approx(line["rated_kw"], rel=0.01)
        assert int(cells[k_qty]) == line.get("quantity", 1)
        assert cells[k_sb] == ("是" if line.get("standby") else "")
    # The example has several units per line and a standby unit: both are printed.
    assert any(line.get("quantity", 1) > 1 for line in sent)
    assert any(line.get("standby") for line in sent)
