"""The customer/planner page at ``/`` driven in Debian's headless chromium.

Each test gets a fresh browser context against the real service (see ``conftest.py``);
screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.form import submit

pytestmark = [pytest.mark.browser, pytest.mark.live]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

OFFICE_CSV = (
    "\ufeffcustomer_id,category,rated_kw,quantity,standby,name\r\n"
    'A1,chiller,140,2,false,"螺杆冷水机组, 2 台"\r\n'
    "A1,pump,30,4,false,冷冻水泵\r\n"
    'A1,elevator,15,6,false,"客梯 ""1.6 m/s"""\r\n'
    "A1,lighting,180,1,false,照明\r\n"
    "A1,office_sockets,260,1,false,办公插座\r\n"
    "A1,fan,11,6,true,备用风机\r\n"
)


def _row_id(page: Any, index: int) -> str:
    return str(page.locator(".eq-row").nth(index).get_attribute("data-row-id"))


def _is_standard(kva: float, series: list[float]) -> bool:
    return kva in series or (kva > max(series) and kva % 1250 == 0)


def _no_horizontal_overflow(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page scrolls sideways: scrollWidth {widths[0]} > {widths[1]}"


def _assert_answer(page: Any) -> float:
    """The answer is complete: a standard capacity and every chart with bars."""
    kva = float(page.locator("#recommended-kva").get_attribute("data-kva"))
    series = page.evaluate("window.capacityPage.catalog.standard_series_kva")
    assert _is_standard(kva, series), f"{kva} kVA is not a standard capacity"
    tiers = page.locator(".tier-chart g.tier")
    assert tiers.count() >= 3
    assert page.locator(".tier-chart rect.bar").count() == 3 * tiers.count()
    recommended = page.locator(".tier-chart g.tier.recommended")
    assert recommended.count() == 1
    assert float(recommended.get_attribute("data-kva")) == kva
    assert page.locator(".drivers-chart rect.bar").count() >= 2
    assert page.locator(".peer-chart rect.bar").count() >= 2
    assert page.locator(".peer-chart .this-application").count() >= 1
    assert page.locator(".interval-chart rect.bar").count() == 2
    assert int("".join(c for c in page.locator("#peers-n").inner_text() if c.isdigit())) > 0
    return kva


def test_machinery_with_free_text_names_enter_moves_on_and_language(
    new_page: Any, screenshots: Path
) -> None:
    page = new_page(DESKTOP)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("label[for=industry]")).to_contain_text("行业")

    page.fill("#industry", "通用设备及金属制品制造")
    expect(page.locator("#industry-hint")).to_have_attribute("data-industry", "machinery")
    expect(page.locator("#industry-hint")).to_contain_text("识别为")
    page.select_option("#climate_zone", "hot_summer_cold_winter")
    page.fill("#floor_area_m2", "4200")
    page.fill("#employees", "85")
    page.fill("#shifts", "2")

    # Line 1: a free-text name, recognised live (debounced) with its confidence.
    r1 = _row_id(page, 0)
    page.locator(f"#eq-{r1}-name").press_sequentially("数控车床 CK6140", delay=15)
    expect(page.locator(f"#eq-{r1}-match")).to_contain_text("金属冷加工机床")
    expect(page.locator(f"#eq-{r1}-match")).to_contain_text("100%")
    page.fill(f"#eq-{r1}-kw", "7.5")
    page.fill(f"#eq-{r1}-qty", "12")

    # Line 2: added with the category picker; focus lands on its kW box.
    page.select_option("#add-category", "air_compressor")
    page.click("#add-category-btn")
    r2 = _row_id(page, 1)
    expect(page.locator(f"#eq-{r2}-cat")).to_have_value("air_compressor")
    assert page.evaluate("document.activeElement.id") == f"eq-{r2}-kw"
    page.keyboard.type("37")
    page.fill(f"#eq-{r2}-qty", "2")

    # Line 3: a free-text name whose suggestion is accepted (category and kW from the name).
    page.click("#add-row")
    r3 = _row_id(page, 2)
    assert page.evaluate("document.activeElement.id") == f"eq-{r3}-name"
    page.keyboard.type("10t 行车 22kW")
    match3 = page.locator(f"#eq-{r3}-match")
    expect(match3).to_contain_text("起重机")
    match3.get_by_role("button").click()
    expect(page.locator(f"#eq-{r3}-cat")).to_have_value("crane")
    expect(page.locator(f"#eq-{r3}-kw")).to_have_value("22")

    # Line 4: a name nobody can recognise is flagged next to the row, with guesses and
    # the two "count as other load" choices.
    page.click("#add-row")
    r4 = _row_id(page, 3)
    page.keyboard.type("神秘装置 QX-17")
    expect(page.locator(f"#eq-{r4}-match.warn")).to_contain_text("无法")
    expect(page.locator(f"#eq-{r4}-match button.guess").first).to_be_visible()
    assert 1 <= page.locator(f"#eq-{r4}-match button.guess").count() <= 3
    expect(page.locator(f"#eq-{r4}-match button[data-choose=other_motor]")).to_be_visible()
    page.fill(f"#eq-{r4}-kw", "5")

    # Line 5: a standby fire pump.
    page.select_option("#add-category", "fire_pump")
    page.click("#add-category-btn")
    r5 = _row_id(page, 4)
    page.fill(f"#eq-{r5}-kw", "45")
    page.check(f"#eq-{r5}-standby")

    # Enter in a field moves to the next field; nothing is sent.
    page.focus("#floor_area_m2")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "employees"
    page.focus("#industry")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "climate_zone"
    assert not [u for m, u in page.guard.requests if m == "POST"]

    # The unmatched line stops the form until it has a category (never left out).
    page.click("#submit-btn")
    expect(page.locator(f"#eq-{r4}-cat-error")).to_contain_text("神秘装置")
    assert not [u for m, u in page.guard.requests if m == "POST"]
    page.click(f"#eq-{r4}-match button[data-choose=other_motor]")
    expect(page.locator(f"#eq-{r4}-cat")).to_have_value("other_motor")

    # Ctrl+Enter sends it.
    page.focus("#floor_area_m2")
    with page.expect_response(lambda r: r.url.endswith("/recommend")) as resp:
        page.keyboard.press("Control+Enter")
    assert resp.value.status == 200
    page.wait_for_selector("#recommended-kva")
    _assert_answer(page)

    expect(page.locator("#status")).to_contain_text("kVA")
    expect(page.locator(".hero")).to_contain_text("供电电压")
    expect(page.locator(".hero")).to_contain_text("两部制电价")
    expect(page.locator(".hero")).to_contain_text("基本电费")
    # Plain words for the customer, not percentiles.
    expect(page.locator("#interval-legend")).to_contain_text("大多数情况下")
    expect(page.locator("#peers-legend")).to_contain_text("大多数同类客户")
    assert "P10" not in page.locator("#results").inner_text()
    assert page.locator("#sheet-table tbody tr").count() >= 3
    expect(page.locator("#sheet-totals")).to_contain_text("S30")
    expect(page.locator("#sheet-totals")).to_contain_text("Qc")
    expect(page.locator("#model-meta")).to_contain_text("test-1")
    # The recommendation number is short enough to read out on the phone.
    number = page.locator("#rec-number").inner_text()
    assert len(number) == 9 and number[4] == "-", number
    expect(page.locator("#next-steps")).to_contain_text("下一步")

    # Live matching is debounced: far fewer lookups than keystrokes.
    lookups = [u for m, u in page.guard.requests if "/api/match" in u]
    assert 3 <= len(lookups) < 25, lookups
    page.screenshot(path=str(screenshots / "desktop-zh-answer.png"), full_page=True)

    # The printable layout: the answer without the form and the buttons.
    page.emulate_media(media="print")
    expect(page.locator("#app-form")).to_be_hidden()
    expect(page.locator("#print-btn")).to_be_hidden()
    expect(page.locator("#recommended-kva")).to_be_visible()
    expect(page.locator(".print-meta")).to_be_visible()
    page.screenshot(path=str(screenshots / "desktop-zh-print.png"), full_page=True)
    page.emulate_media(media="screen")
    expect(page.locator("#print-btn")).to_be_visible()

    # English, then back; the choice survives a reload.
    page.click("#lang-toggle")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("label[for=industry]")).to_contain_text("Industry")
    expect(page.locator("#results-title")).to_have_text("Recommendation")
    expect(page.locator("#industry")).to_have_value("Machinery and metal products")
    expect(page.locator("#interval-legend")).to_contain_text("most likely between")
    expect(page.locator(".hero")).to_contain_text("Supply voltage")
    page.screenshot(path=str(screenshots / "desktop-en-answer.png"), full_page=True)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("#submit-btn")).to_have_text("Recommend a capacity")
    page.click("#lang-toggle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("label[for=industry]")).to_contain_text("行业")
    assert page.evaluate("localStorage.getItem('capacity.lang')") == "zh"


def test_office_from_csv_upload_on_a_phone(new_page: Any, screenshots: Path) -> None:
    page = new_page(PHONE)
    _no_horizontal_overflow(page)
    office = page.evaluate("window.capacityPage.industries.get('office').name_zh")
    page.fill("#industry", office)
    page.select_option("#climate_zone", "cold")
    page.fill("#floor_area_m2", "18000")
    page.fill("#employees", "900")
    page.fill("#shifts", "1")
    page.set_input_files(
        "#csv-file",
        files=[
            {"name": "office.csv", "mimeType": "text/csv", "buffer": OFFICE_CSV.encode("utf-8")}
        ],
    )
    expect(page.locator("#import-status")).to_contain_text("6")
    expect(page.locator("#csv-file-name")).to_have_text("office.csv")
    assert page.locator(".eq-row").count() == 6  # the empty starting line was replaced
    expect(page.locator(f"#eq-{_row_id(page, 0)}-name")).to_have_value("螺杆冷水机组, 2 台")
    expect(page.locator(f"#eq-{_row_id(page, 2)}-name")).to_have_value('客梯 "1.6 m/s"')
    expect(page.locator(f"#eq-{_row_id(page, 2)}-cat")).to_have_value("elevator")
    expect(page.locator(f"#eq-{_row_id(page, 5)}-standby")).to_be_checked()
    _no_horizontal_overflow(page)

    page.click("#submit-btn")
    page.wait_for_selector("#recommended-kva")
    _assert_answer(page)
    _no_horizontal_overflow(page)
    page.screenshot(path=str(screenshots / "phone-zh-answer.png"), full_page=True)

    page.click("#lang-toggle")
    expect(page.locator("#results-title")).to_have_text("Recommendation")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(screenshots / "phone-en-answer.png"), full_page=True)


def test_paste_rows_and_gbk_csv(new_page: Any) -> None:
    page = new_page(DESKTOP)
    # Spreadsheet cells pasted into the paste area (header skipped, category names resolved).
    page.click("#paste-details summary")
    page.fill(
        "#paste-area",
        "名称\t功率\t台数\t备用\n数控车床 CK6140\t7.5\t12\t否\n通风机\t３７kW\t2\t是\n",
    )
    page.click("#paste-add")
    expect(page.locator("#import-status")).to_contain_text("2")
    assert page.locator(".eq-row").count() == 2
    expect(page.locator(f"#eq-{_row_id(page, 1)}-cat")).to_have_value("fan")
    expect(page.locator(f"#eq-{_row_id(page, 1)}-standby")).to_be_checked()
    expect(page.locator(f"#eq-{_row_id(page, 0)}-match")).to_contain_text("金属冷加工机床")

    # Cells pasted straight into an empty name box become lines.
    page.click("#add-row")
    target = f"#eq-{_row_id(page, 2)}-name"
    page.eval_on_selector(
        target,
        """(el, text) => {
            const dt = new DataTransfer();
            dt.setData('text/plain', text);
            el.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
        }""",
        "客梯\t15\t2\nlighting\t1\t40",
    )
    assert page.locator(".eq-row").count() == 4
    expect(page.locator(target)).to_have_value("客梯")
    expect(page.locator(f"#eq-{_row_id(page, 3)}-cat")).to_have_value("lighting")

    # A CSV saved by Excel in a Chinese locale: GBK, Chinese headers, no customer_id.
    gbk = "名称,额定功率,数量,备用\r\n注塑机 HTF-160,15,8,否\r\n冷却塔风机,5.5,2,是\r\n".encode(
        "gb18030"
    )
    page.set_input_files(
        "#csv-file", files=[{"name": "gbk.csv", "mimeType": "text/csv", "buffer": gbk}]
    )
    expect(page.locator("#import-status")).to_contain_text("GB18030")
    assert page.locator(".eq-row").count() == 6
    expect(page.locator(f"#eq-{_row_id(page, 4)}-name")).to_have_value("注塑机 HTF-160")
    expect(page.locator(f"#eq-{_row_id(page, 5)}-standby")).to_be_checked()

    # Removing a line renumbers the rest and keeps focus in the list.
    page.locator(".eq-row").nth(0).locator(".remove").click()
    assert page.locator(".eq-row").count() == 5
    expect(page.locator(".eq-row").nth(0).locator(".eq-idx")).to_have_text("1")
    assert page.evaluate("document.activeElement.classList.contains('remove')")


def test_planner_check_on_a_worked_example(new_page: Any, screenshots: Path) -> None:
    page = new_page(DESKTOP)
    page.click("#mode-planner")
    expect(page.locator("#mode-planner")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#proposed_kva")).to_be_visible()
    page.click("[data-example=office_building]")
    assert page.locator(".eq-row").count() == 6
    expect(page.locator("#industry")).to_have_value("办公楼")
    page.fill("#proposed_kva", "2500")
    with page.expect_request(lambda r: r.url.endswith("/check") and r.method == "POST") as req:
        page.press("#proposed_kva", "Control+Enter")
    body = json.loads(req.value.post_data or "{}")
    assert body["proposed_kva"] == 2500
    assert body["application"]["industry"] == "office"
    assert len(body["application"]["equipment"]) == 6

    badge = page.locator("#verdict-badge")
    expect(badge).to_be_visible()
    verdict = badge.get_attribute("data-verdict")
    assert verdict in {"appropriate", "undersized", "oversized"}
    expect(badge).to_contain_text(
        {"appropriate": "合适", "undersized": "偏小", "oversized": "偏大"}[verdict]
    )
    assert page.locator(".verdict .prob-list li").count() == 3
    expect(page.locator(".verdict")).to_contain_text("建议容量")
    expect(page.locator("#yearly-diff")).not_to_be_empty()
    _assert_answer(page)
    page.screenshot(path=str(screenshots / "desktop-zh-planner.png"), full_page=True)

    page.click("#lang-toggle")
    expect(badge).to_contain_text(verdict.capitalize())
    expect(page.locator("#results-title")).to_have_text("Planner check")


def test_client_side_validation_inline(new_page: Any, screenshots: Path) -> None:
    page = new_page(DESKTOP)
    # Nothing filled: industry and "equipment or floor area" are flagged; nothing is sent.
    page.click("#submit-btn")
    expect(page.locator("#industry-error")).to_be_visible()
    expect(page.locator("#equipment-error")).to_contain_text("建筑面积")
    assert page.evaluate("document.activeElement.id") == "industry"

    page.fill("#industry", "xyz")
    expect(page.locator("#industry-hint")).to_contain_text("选择")
    page.fill("#industry", "办公")  # a word people use
    expect(page.locator("#industry-hint")).to_have_attribute("data-industry", "office")
    page.fill("#industry", "machinery")  # a code is accepted too
    expect(page.locator("#industry-hint")).to_contain_text("通用设备及金属制品制造")
    page.fill("#shifts", "5")
    r1 = _row_id(page, 0)
    page.fill(f"#eq-{r1}-name", "数控车床")
    page.fill(f"#eq-{r1}-kw", "-5")
    page.fill(f"#eq-{r1}-qty", "2.5")
    page.click("#submit-btn")
    kw_error = page.locator(f"#eq-{r1}-kw-error")
    expect(kw_error).to_be_visible()
    expect(kw_error).to_contain_text("大于 0")
    expect(page.locator(f"#eq-{r1}-kw")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#eq-{r1}-qty-error")).to_contain_text("整数")
    expect(page.locator("#shifts-error")).to_contain_text("1、2 或 3")
    expect(page.locator("#error-summary li")).to_have_count(3)
    assert page.evaluate("document.activeElement.id") == "shifts"
    # The messages follow the language.
    page.click("#lang-toggle")
    expect(kw_error).to_contain_text("greater than 0")
    page.click("#lang-toggle")
    page.screenshot(path=str(screenshots / "desktop-zh-validation.png"), full_page=False)
    assert not [u for m, u in page.guard.requests if m == "POST"], "invalid input was sent"

    # Corrected, it goes through and the messages disappear.
    page.fill("#shifts", "2")
    page.fill(f"#eq-{r1}-kw", "5")
    page.fill(f"#eq-{r1}-qty", "3")
    page.click("#submit-btn")
    page.wait_for_selector("#recommended-kva")
    expect(kw_error).to_be_hidden()
    expect(page.locator("#error-summary")).to_be_hidden()


def test_server_side_errors_are_mapped_to_the_row(new_page: Any) -> None:
    # ?checks=server turns the page's own checks off so that the service judges the input.
    page = new_page(DESKTOP, "/?checks=server")
    page.fill("#industry", "通用设备及金属制品制造")
    page.fill("#floor_area_m2", "1000")
    # The first (empty) line is not sent, so equipment[0] is the second line on the page.
    page.click("#add-row")
    r2 = _row_id(page, 1)
    page.fill(f"#eq-{r2}-name", "风机")
    page.fill(f"#eq-{r2}-kw", "-3")
    page.fill(f"#eq-{r2}-qty", "1.5")
    page.select_option("#add-category", "lighting")
    page.click("#add-category-btn")
    page.keyboard.type("2")
    resp = submit(page, status=400)
    errors = resp.json()["errors"]
    assert {e["field"] for e in errors} >= {"equipment[0].rated_kw", "equipment[0].quantity"}
    kw_error = page.locator(f"#eq-{r2}-kw-error")
    expect(kw_error).to_be_visible()
    expect(kw_error).to_contain_text("单台功率")  # the field name, translated
    # The server's code and parameters, worded by the page: no server English in Chinese.
    expect(kw_error).to_contain_text("不能小于 0.001")
    assert "Input should" not in page.locator("#error-summary").inner_text()
    expect(kw_error).to_contain_text("第 2 行")
    expect(page.locator(f"#eq-{r2}-qty-error")).to_contain_text("整数")
    expect(page.locator(f"#eq-{r2}-kw")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-summary")).to_contain_text("服务器")
    assert page.evaluate("document.activeElement.id") == f"eq-{r2}-kw"
    page.click("#lang-toggle")
    expect(kw_error).to_contain_text("kW per unit (line 2)")
    expect(kw_error).to_contain_text("at least 0.001")


def test_keyboard_and_labels(new_page: Any) -> None:
    page = new_page(DESKTOP)
    # Every form control has a <label for>; every clickable thing is a <button> or link.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
              .filter(el => el.type !== 'hidden' && (!el.labels || el.labels.length === 0))
              .map(el => el.id || el.outerHTML.slice(0, 60))"""
    )
    assert unlabelled == []
    assert (
        page.evaluate("document.querySelectorAll('[onclick]:not(button), div[role=button]').length")
        == 0
    )
    expect(page.locator("#status")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#submit-btn")).to_have_attribute("type", "submit")

    # Tab order follows the form, and the focus is visible.
    order: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        active = page.evaluate("document.activeElement.id")
        order.append(active)
        if active == "industry":
            style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert style != "none"
        if active == "submit-btn":
            break
    for earlier, later in [
        ("lang-toggle", "industry"),
        ("industry", "climate_zone"),
        ("climate_zone", "floor_area_m2"),
        ("floor_area_m2", "shifts"),
        ("shifts", f"eq-{_row_id(page, 0)}-name"),
        ("csv-file", "submit-btn"),
    ]:
        assert earlier in order and later in order, order
        assert order.index(earlier) < order.index(later), order

    # Keyboard only: an example, then Enter on the submit button.
    page.focus("[data-example=area_only_retail]")
    page.keyboard.press("Enter")
    expect(page.locator("#floor_area_m2")).to_have_value("6500")
    page.focus("#submit-btn")
    page.keyboard.press("Enter")
    page.wait_for_selector("#recommended-kva")
    expect(page.locator("#warnings-list [data-code=area_only]")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "results"
