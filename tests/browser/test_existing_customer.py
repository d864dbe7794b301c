"""The existing customer's path on the customer page (已有用户：增容 / 减容 / 暂停; issue 21).

Driven in Debian's chromium against the real service with a model trained on a history
with existing customers (``metered_live_server``, ``conftest.py``): the customer says they
are connected, types the capacity in service, pastes twelve months of kWh from the bill
(a column, or month / kWh / maximum demand columns), marks lines added or removed, and
reads the answer in Chinese and in English. Errors, from the page's checks and from the
server's, are worded in the page's language at the field they concern.
"""

from __future__ import annotations

import calendar
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from serving.messages import CATALOGS
from tests.browser.form import submit

pytestmark = [pytest.mark.browser, pytest.mark.live]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# The existing-customer error codes of features/schemas.py and the service's 422: each
# must have its err_<code> text on the page, in both languages.
EXISTING_ERROR_CODES = (
    "meter_period",
    "existing_capacity_for_new",
    "meter_readings_for_new",
    "remove_on_new",
    "existing_capacity_required",
    "meter_too_few_months",
    "meter_duplicate_period",
    "meter_energy_absurd",
    "meter_demand_absurd",
    "meter_mean_above_max",
    "remove_too_large",
    "model_without_existing_customers",
)
# An office drawing about 100 kW on average, a little more in summer: its bills.
OFFICE_KWH = [68000, 64000, 66000, 70000, 78000, 92000, 101000, 99000, 84000, 72000, 67000, 69000]


@pytest.fixture
def live_server(metered_live_server: str) -> str:
    """This module's pages are served by the metered model (``new_page`` uses this)."""
    return metered_live_server


def _english(page: Any) -> None:
    page.click("#lang-toggle")
    assert page.locator("html").get_attribute("lang") == "en"


def _existing(page: Any, kind: str, capacity: str) -> None:
    page.fill("#industry", "写字楼")
    page.check("#kind-existing")
    expect(page.locator("#existing-box")).to_be_visible()
    page.select_option("#application_type", kind)
    page.fill("#existing_capacity_kva", capacity)


def _paste_bill(page: Any, text: str) -> None:
    page.locator("#bill-paste-details summary").click()
    page.fill("#bill-paste", text)
    page.click("#bill-paste-add")


def _submit(page: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Click the button; (the request's body, the answer's JSON) after it is drawn."""
    resp = submit(page, drawn="#existing-card")
    return json.loads(resp.request.post_data), dict(resp.json())


def _pct(x: float) -> str:
    return f"{round(x * 100)}%"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_lightly_loaded_office_learns_it_can_reduce_in_both_languages(
    new_page: Any, screenshots: Path, viewport: dict[str, int]
) -> None:
    page = new_page(viewport)
    # New connection by default: the bill table is not shown.
    expect(page.locator("#existing-box")).to_be_hidden()
    _existing(page, "reduce", "1250")
    # A column of twelve numbers pasted from a spreadsheet fills the table in order.
    _paste_bill(page, "\n".join(f"{v:,}" for v in OFFICE_KWH))
    expect(page.locator("#bill-paste-status")).to_contain_text("12")
    first = page.input_value("#meter-0-period")
    assert re.fullmatch(r"\d{4}-\d{2}", first)
    assert page.input_value("#meter-0-energy") == str(OFFICE_KWH[0])
    assert page.input_value("#meter-11-energy") == str(OFFICE_KWH[-1])
    body, answer = _submit(page)
    # What was typed is what was sent: type, capacity, twelve months, nothing else.
    assert body["application_type"] == "reduce"
    assert body["existing_capacity_kva"] == 1250
    assert [r["energy_kwh"] for r in body["meter_readings"]] == OFFICE_KWH
    assert all("max_demand_kw" not in r for r in body["meter_readings"])
    assert "floor_area_m2" not in body and body["equipment"] == []
    x = answer["existing"]
    assert answer["basis"] == "meter"
    assert x["months_metered"] == 12 and x["max_demand_kw"] is None
    # Without a demand meter the busiest month's mean load is the measured peak.
    busiest = max(
        r["energy_kwh"] / (24 * calendar.monthrange(*map(int, r["period"].split("-")))[1])
        for r in body["meter_readings"]
    )
    assert x["measured_peak_kw"] == pytest.approx(busiest)
    assert answer["recommended_kva"] < 1250, answer["recommended_kva"]
    assert x["yearly_difference_yuan"] < 0
    card = page.locator("#existing-card")
    expect(card).to_have_attribute("data-verdict", "reduce")
    expect(page.locator("#existing-message")).to_contain_text("电表显示")
    expect(page.locator("#existing-message")).to_contain_text("少交基本电费")
    expect(page.locator("#existing-load-rate")).to_contain_text(_pct(x["measured_load_rate"]))
    expect(page.locator("#existing-yearly")).to_contain_text("每年少交")
    expect(page.locator("#existing-today")).to_contain_text("1,250 kVA")
    expect(page.locator("#existing-measured")).to_contain_text("用电最多")  # no demand meter
    expect(page.locator(".summary")).to_contain_text("减容")
    page.screenshot(
        path=str(screenshots / f"existing-reduce-zh-{viewport['width']}.png"), full_page=True
    )
    _english(page)
    expect(page.locator("#existing-title")).to_have_text("Your meter and this change")
    expect(page.locator("#existing-message")).to_contain_text("Your meter shows")
    expect(page.locator("#existing-message")).to_contain_text("less in capacity charges")
    expect(page.locator("#existing-yearly")).to_contain_text("less a year")
    expect(page.locator("#existing-load-rate")).to_contain_text("capacity today × 0.9")
    expect(card).to_contain_text("How much of today")
    expect(card).not_to_contain_text("电表")
    page.screenshot(
        path=str(screenshots / f"existing-reduce-en-{viewport['width']}.png"), full_page=True
    )
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page scrolls sideways: {widths}"


def test_month_kwh_and_demand_columns_and_lines_added_and_removed(new_page: Any) -> None:
    page = new_page(DESKTOP)
    _english(page)
    page.fill("#industry", "office")
    page.check("#kind-existing")
    page.select_option("#application_type", "increase")
    page.fill("#existing_capacity_kva", "315")
    bill = "\n".join(
        f"2025-{m:02d}\t{kwh:,}\t{round(kwh / 720 * 1.9)}" for m, kwh in enumerate(OFFICE_KWH, 1)
    )
    _paste_bill(page, "month\tkWh\tmax demand\n" + bill)
    assert page.input_value("#meter-0-period") == "2025-01"
    assert page.input_value("#meter-6-demand") == str(round(OFFICE_KWH[6] / 720 * 1.9))
    # The change: a chiller added, old heaters taken out of service.
    row = page.locator(".eq-row").nth(0).get_attribute("data-row-id")
    expect(page.locator(f"#eq-{row}-change")).to_be_visible()
    page.fill(f"#eq-{row}-name", "chiller")
    page.select_option(f"#eq-{row}-cat", "chiller")
    page.fill(f"#eq-{row}-kw", "150")
    page.click("#add-row")
    row2 = page.locator(".eq-row").nth(1).get_attribute("data-row-id")
    page.fill(f"#eq-{row2}-name", "old electric heaters")
    page.select_option(f"#eq-{row2}-cat", "other_heating")
    page.fill(f"#eq-{row2}-kw", "20")
    page.fill(f"#eq-{row2}-qty", "2")
    page.select_option(f"#eq-{row2}-change", "remove")
    body, answer = _submit(page)
    assert [r["period"] for r in body["meter_readings"]] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert all(r["max_demand_kw"] > 0 for r in body["meter_readings"])
    assert [e.get("change", "add") for e in body["equipment"]] == ["add", "remove"]
    x = answer["existing"]
    # A demand meter: its highest month is the measured peak; the chiller adds to the peak.
    assert x["max_demand_kw"] == max(r["max_demand_kw"] for r in body["meter_readings"])
    assert x["measured_peak_kw"] == x["max_demand_kw"]
    assert x["change_kw"] > 0
    expect(page.locator("#existing-measured")).to_contain_text("maximum demands")
    expect(page.locator("#existing-change")).to_contain_text("+")
    expect(page.locator("#existing-metered")).to_contain_text("kW")
    # 315 kVA against a ~270 kW demand plus a chiller: an increase, with its cost.
    assert answer["recommended_kva"] > 315
    expect(page.locator("#existing-card")).to_have_attribute("data-verdict", "increase")
    expect(page.locator("#existing-yearly")).to_contain_text("more a year")
    expect(page.locator("#existing-risk-today")).to_contain_text(_pct(x["p_undersized_today"]))


def test_the_pages_checks_name_the_month_and_field(new_page: Any) -> None:
    page = new_page(DESKTOP)
    page.fill("#industry", "写字楼")
    page.check("#kind-existing")
    page.fill("#meter-0-energy", "68000")
    page.fill("#meter-1-energy", "很多")
    before = len([u for m, u in page.guard.requests if m == "POST"])
    page.click("#submit-btn")
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("现有容量")  # the capacity is required
    expect(summary).to_contain_text(page.input_value("#meter-1-period"))  # the month named
    expect(summary).to_contain_text("至少需要 3 个月")
    expect(page.locator("#meter-1-energy")).to_have_attribute("aria-invalid", "true")
    # Nothing was sent.
    assert len([u for m, u in page.guard.requests if m == "POST"]) == before


def test_the_servers_checks_are_worded_on_the_page_in_both_languages(new_page: Any) -> None:
    # ?checks=server: the page sends what was typed, the server's own checks answer.
    page = new_page(DESKTOP, "/?checks=server")
    _existing(page, "reduce", "100")
    _paste_bill(page, "2025-01 68000\n2025-02 640000\n2025-03 66000")
    resp = submit(page, status=400)
    codes = [e["code"] for e in resp.json()["errors"]]
    assert "meter_energy_absurd" in codes
    # Shown at February's energy, in Chinese words, never the server's English.
    box = page.locator("#meter-1-energy-error")
    expect(box).to_be_visible()
    expect(box).to_contain_text("满负荷")
    expect(page.locator("#error-summary")).not_to_contain_text("flat out")
    _english(page)
    expect(page.locator("#meter-1-energy-error")).to_contain_text("flat out")


def test_every_existing_customer_text_exists_in_both_languages(new_page: Any) -> None:
    page = new_page(DESKTOP)
    keys = page.evaluate(
        """async () => {
            const m = await import('/static/i18n.js');
            return {zh: Object.keys(m.DICT.zh), en: Object.keys(m.DICT.en)};
        }"""
    )
    zh, en = set(keys["zh"]), set(keys["en"])
    assert zh == en
    assert {f"err_{c}" for c in EXISTING_ERROR_CODES} - zh == set()
    assert "warn_existing_customer" in zh and "existing_customer" in CATALOGS["zh"]


BATCH_CUSTOMERS = (
    "customer_id,industry,floor_area_m2,application_type,existing_capacity_kva\n"
    "E1,office,12000,reduce,1250\n"
    "E2,office,12000,reduce,1250\n"  # its readings are broken: rejected whole, with the reason
    "N1,office,6000,,\n"
)


def _batch_readings() -> str:
    lines = ["customer_id,period,energy_kwh,max_demand_kw"]
    for m, kwh in enumerate(OFFICE_KWH, 1):
        lines.append(f"E1,2025-{m:02d},{kwh},")
        lines.append(f"E2,2025-{m:02d},{-kwh if m == 3 else kwh},")
    return "\n".join(lines) + "\n"


def test_the_planner_batch_page_takes_meter_readings(new_page: Any) -> None:
    page = new_page(DESKTOP)
    files = {
        "#batch-customers": ("customers.csv", BATCH_CUSTOMERS),
        "#batch-meter": ("meter_readings.csv", _batch_readings()),
    }
    for sel, (name, text) in files.items():
        page.set_input_files(
            sel, files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
        )
    expect(page.locator("#batch-meter-name")).to_have_text("meter_readings.csv")
    with page.expect_response(lambda r: r.url.endswith("/recommend_batch")) as resp:
        page.click("#batch-submit")
    assert resp.value.status == 200, resp.value.text()
    expect(page.locator("#batch-status")).to_contain_text("完成")
    keys = page.locator("#batch-table thead button").evaluate_all(
        "bs => bs.map(b => b.dataset.key)"
    )
    assert {"existing_capacity_kva", "measured_load_rate", "yearly_difference_yuan"} <= set(keys)
    col = {k: i + 1 for i, k in enumerate(keys)}
    rows = page.locator("#batch-table tbody tr")
    cells = {
        rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("td").all_inner_texts()
        for i in range(rows.count())
    }
    e1 = cells["E1"]
    assert e1[col["application_type"] - 1] == "减容"
    assert e1[col["existing_capacity_kva"] - 1] == "1,250"
    assert e1[col["measured_load_rate"] - 1].endswith("%")
    assert e1[col["yearly_difference_yuan"] - 1].startswith("-")  # a saving
    assert cells["N1"][col["existing_capacity_kva"] - 1] == ""
    # E2's broken month rejects the customer whole, and says why.
    rejected = page.locator("#batch-table tbody tr.rejected")
    expect(rejected.first).to_be_visible()
    titles = rejected.evaluate_all("rs => rs.map(r => r.title)")
    assert any("energy_kwh" in t or "meter" in t for t in titles), titles


def test_a_planner_checks_an_existing_customers_proposal(new_page: Any) -> None:
    page = new_page(DESKTOP)
    page.click("#mode-planner")
    _existing(page, "reduce", "1250")
    _paste_bill(page, "\n".join(str(v) for v in OFFICE_KWH))
    page.fill("#proposed_kva", "1000")
    with page.expect_response(lambda r: r.url.endswith("/check")) as resp:
        page.click("#submit-btn")
    assert resp.value.status == 200, resp.value.text()
    body = json.loads(resp.value.request.post_data)
    assert body["application"]["application_type"] == "reduce"
    assert len(body["application"]["meter_readings"]) == 12
    answer = resp.value.json()
    assert answer["recommendation"]["existing"]["existing_capacity_kva"] == 1250
    # The planner sees the verdict on the proposal and the meter's evidence together.
    expect(page.locator("#verdict-badge")).to_be_visible()
    expect(page.locator("#existing-card")).to_be_visible()
    expect(page.locator("#existing-measured")).to_contain_text("kW")
