"""The customer's page (issue 11): how people write, no lost lines, what to do next.

Each test drives the real service in Debian's chromium (``conftest.py``), in Chinese and
in English, on a desktop and on a 390 px phone; screenshots of the new states go to
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from serving.messages import CATALOGS
from tests.browser.form import submit

pytestmark = [pytest.mark.browser, pytest.mark.live]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# The words of issue 11 that were refused ("找不到行业"), and what they mean.
EVERYDAY_WORDS_ZH = {
    "机械": "machinery",
    "机械加工": "machinery",
    "机加工": "machinery",
    "五金": "machinery",
    "餐厅": "restaurant",
    "饭店": "restaurant",
    "酒楼": "restaurant",
    "宾馆": "hotel",
    "写字楼": "office",
    "工厂": "machinery",
    "机房": "data_center",
    "IDC": "data_center",
    "数据机房": "data_center",
    "冷库": "cold_storage",
    "充电桩": "ev_charging",
    "工地": "construction_site",
    "注塑": "plastics",
    "机械加工车间": "machinery",
    # Not a listed word: resolved by the server's matcher (contained word).
    "机加工车间二期": "machinery",
}
EVERYDAY_WORDS_EN = {
    "machine shop": "machinery",
    "cold store": "cold_storage",
    "data center": "data_center",
    "server room": "data_center",
    "restaurant": "restaurant",
    "hotel": "hotel",
    "office block": "office",
    "building site": "construction_site",
    "injection molding": "plastics",
    "charging station": "ev_charging",
}

# Codes the service sends in error items (serving/errors.py, features/schemas.py, the
# web helpers): each must have an err_<code> text on the page.
ERROR_CODES = (
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "int_from_float",
    "bool_type",
    "bool_parsing",
    "string_type",
    "list_type",
    "model_type",
    "dict_type",
    "missing",
    "extra_forbidden",
    "text_nul",
    "text_surrogate",
    "json_invalid",
    "literal_error",
    "string_too_long",
    "too_long",
    "unknown_industry",
    "unknown_category",
    "unknown_climate_zone",
    "category_or_name",
    "implausible_total",
    "unmatched_line",
    "rating_range",
    "value_error",
)


def _row_id(page: Any, index: int) -> str:
    return str(page.locator(".eq-row").nth(index).get_attribute("data-row-id"))


def _no_horizontal_overflow(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page scrolls sideways: scrollWidth {widths[0]} > {widths[1]}"


def _english(page: Any) -> None:
    page.click("#lang-toggle")
    assert page.locator("html").get_attribute("lang") == "en"


def _submit(page: Any) -> dict[str, Any]:
    """Click the button; the answer's JSON (after it is drawn)."""
    return dict(submit(page).json())


def _post_bodies(page: Any) -> int:
    return len([u for m, u in page.guard.requests if m == "POST" and u.endswith("/recommend")])


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_everyday_industry_word_resolves(
    new_page: Any, screenshots: Path, viewport: dict[str, int]
) -> None:
    page = new_page(viewport)
    hint = page.locator("#industry-hint")
    for word, code in EVERYDAY_WORDS_ZH.items():
        page.fill("#industry", word)
        expect(hint).to_have_attribute("data-industry", code)
        name = page.evaluate(f"window.capacityPage.industries.get('{code}').name_zh")
        expect(hint).to_contain_text(name)  # the match shown, in Chinese
    # The picker shows Chinese names and Chinese words on the Chinese page.
    labels = page.evaluate(
        "[...document.querySelectorAll('#industry-list option')].map(o => o.value + o.label)"
    )
    assert labels and not any("machinery" in x or "Machinery" in x for x in labels), labels[:3]
    page.fill("#industry", "机加工")
    page.screenshot(path=str(screenshots / f"industry-word-zh-{_name(viewport)}.png"))
    _english(page)
    for word, code in EVERYDAY_WORDS_EN.items():
        page.fill("#industry", word)
        expect(hint).to_have_attribute("data-industry", code)
    # A word that is no industry offers guesses instead of a dead end.
    page.fill("#industry", "manufactury")
    guess = hint.locator("button[data-industry=machinery]")
    expect(guess).to_be_visible()
    guess.click()
    expect(hint).to_have_attribute("data-industry", "machinery")
    _no_horizontal_overflow(page)


def _name(viewport: dict[str, int]) -> str:
    return "phone" if viewport["width"] < 500 else "desktop"


def test_the_answer_reports_how_the_industry_was_read(new_page: Any, screenshots: Path) -> None:
    page = new_page(DESKTOP)
    page.fill("#industry", "写字楼")
    page.fill("#floor_area_m2", "6000")
    answer = _submit(page)
    assert answer["industry_match"]["industry"] == "office"
    expect(page.locator(".summary")).to_contain_text("写字楼")
    expect(page.locator(".summary")).to_contain_text("办公楼")


@pytest.mark.parametrize(
    ("viewport", "lang", "name"),
    [(DESKTOP, "zh", "螺杆空压机（备用）"), (PHONE, "en", "spare cooling pump")],
    ids=["desktop-zh", "phone-en"],
)
def test_standby_from_the_name_visible_and_undoable(
    new_page: Any, screenshots: Path, viewport: dict[str, int], lang: str, name: str
) -> None:
    page = new_page(viewport)
    if lang == "en":
        _english(page)
    r1 = _row_id(page, 0)
    page.fill(f"#eq-{r1}-name", name)
    box = page.locator(f"#eq-{r1}-standby")
    expect(box).to_be_checked()
    note = page.locator(f"#eq-{r1}-standby-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("备用" if lang == "zh" else "spare")
    page.screenshot(path=str(screenshots / f"standby-from-name-{lang}-{_name(viewport)}.png"))
    note.get_by_role("button").click()
    expect(box).not_to_be_checked()
    expect(note).to_be_hidden()
    # Once undone, editing the name does not tick it again.
    page.fill(f"#eq-{r1}-name", name + " 2")
    expect(box).not_to_be_checked()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_unmatched_300_kw_line_cannot_make_the_answer_smaller(
    new_page: Any, screenshots: Path, viewport: dict[str, int]
) -> None:
    page = new_page(viewport)
    if viewport is PHONE:
        _english(page)
    page.click("[data-example=machinery_workshop]")
    before = _submit(page)
    n_lines = len(before["matches"])
    page.click("#add-row")
    row = _row_id(page, n_lines)
    page.fill(f"#eq-{row}-name", "神秘机器")
    page.fill(f"#eq-{row}-kw", "300")
    match = page.locator(f"#eq-{row}-match")
    expect(match.locator("button[data-choose=other_motor]")).to_be_visible()
    sent = _post_bodies(page)
    page.click("#submit-btn")
    # Not sent: the customer must give it a category or count it as other load.
    expect(page.locator(f"#eq-{row}-cat-error")).to_be_visible()
    assert _post_bodies(page) == sent
    page.locator(f".eq-row[data-row-id='{row}']").screenshot(
        path=str(screenshots / f"unmatched-line-{_name(viewport)}.png")
    )
    match.locator("button[data-choose=other_motor]").click()
    after = _submit(page)
    assert after["recommended_kva"] >= before["recommended_kva"]
    assert after["installed_kw"] >= before["installed_kw"] + 300 - 1e-6
    assert float(page.locator("#recommended-kva").get_attribute("data-kva")) == float(
        after["recommended_kva"]
    )


def test_the_api_refuses_an_unmatched_line_and_the_page_words_it(new_page: Any) -> None:
    # ?checks=server: the page's own check is off, so the service's 400 is what shows.
    page = new_page(DESKTOP, "/?checks=server")
    page.fill("#industry", "机加工")
    page.fill("#floor_area_m2", "2000")
    r1 = _row_id(page, 0)
    page.fill(f"#eq-{r1}-name", "神秘机器")
    page.fill(f"#eq-{r1}-kw", "300")
    resp = submit(page, status=400)
    err = resp.json()["errors"][0]
    assert (err["field"], err["code"]) == ("equipment[0].category", "unmatched_line")
    expect(page.locator(f"#eq-{r1}-cat-error")).to_contain_text("神秘机器")
    expect(page.locator(f"#eq-{r1}-cat-error")).to_contain_text("无法识别")
    assert "match" not in page.locator("#error-summary").inner_text()


def test_a_paste_of_600_lines_keeps_100_in_the_box(new_page: Any, screenshots: Path) -> None:
    page = new_page(DESKTOP)
    page.click("#paste-details summary")
    lines = [f"数控车床 CK61{i:02d}\t{1 + i % 20}\t1\t否" for i in range(600)]
    page.fill("#paste-area", "\n".join(lines))
    page.click("#paste-add")
    expect(page.locator(".eq-row")).to_have_count(500)
    kept = page.locator("#paste-area").input_value().splitlines()
    assert kept == lines[500:], (len(kept), kept[:2])
    reasons = page.locator("#paste-reasons li")
    expect(reasons).to_have_count(100)
    expect(reasons.first).to_contain_text("第 501 行")
    expect(page.locator("#import-status")).to_contain_text("100")
    # The 500 names are matched in one request, not one per row.
    page.wait_for_function(
        "window.capacityPage.rows.every(r => r.matchState === 'done' || r.refs.cat.value)"
    )
    posts = [u for m, u in page.guard.requests if "/api/match" in u and m == "POST"]
    gets = [u for m, u in page.guard.requests if "/api/match" in u and m == "GET"]
    assert len(posts) == 1 and not gets, (len(posts), len(gets))
    page.locator("#paste-area").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "paste-600-kept-100.png"))
    _english(page)
    expect(reasons.first).to_contain_text("Line 501")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_data_centre_without_cooling_is_offered_the_allowance(
    new_page: Any, screenshots: Path, viewport: dict[str, int]
) -> None:
    page = new_page(viewport)
    page.fill("#industry", "IDC")
    page.fill("#floor_area_m2", "3000")
    r1 = _row_id(page, 0)
    page.select_option(f"#eq-{r1}-cat", "it_equipment")
    page.fill(f"#eq-{r1}-kw", "100")
    page.fill(f"#eq-{r1}-qty", "10")
    answer = _submit(page)
    missing = {m["category"]: m for m in answer["missing_loads"]}
    assert "chiller" in missing, answer["missing_loads"]
    item = page.locator("#missing-list li[data-category=chiller]")
    expect(item).to_contain_text("冷水机组")
    expect(page.locator("#missing-included")).to_contain_text("未包含")
    page.locator(".missing").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"missing-cooling-zh-{_name(viewport)}.png"))
    item.get_by_role("button").click()
    rows = page.locator(".eq-row")
    added = _row_id(page, rows.count() - 1)
    expect(page.locator(f"#eq-{added}-cat")).to_have_value("chiller")
    kw = float(page.locator(f"#eq-{added}-kw").input_value())
    assert abs(kw - missing["chiller"]["typical_kw"]) <= 1
    again = _submit(page)
    assert "chiller" not in {m["category"] for m in again["missing_loads"]}
    expect(page.locator("#allowance-included")).to_contain_text("冷水机组")
    assert again["recommended_kva"] >= answer["recommended_kva"]
    _english(page)
    expect(page.locator("#allowance-included")).to_contain_text("includes")
    _no_horizontal_overflow(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_tariff_next_steps_and_plain_words(
    new_page: Any, screenshots: Path, viewport: dict[str, int]
) -> None:
    page = new_page(viewport)
    page.click("[data-example=machinery_workshop]")
    page.fill(f"#eq-{_row_id(page, 0)}-qty", "60")  # large enough for the two-part tariff
    answer = _submit(page)
    tr = answer["tariff"]
    assert answer["two_part_tariff"] and tr is not None
    card = page.locator("#tariff-card")
    expect(card).to_have_attribute("data-cheaper", tr["cheaper"])
    assert float(page.locator("#tariff-capacity").get_attribute("data-yuan")) == pytest.approx(
        answer["recommended_kva"] * 22.0
    )
    assert float(page.locator("#tariff-demand").get_attribute("data-yuan")) == pytest.approx(
        tr["monthly_by_demand_yuan"]
    )
    expect(page.locator("#tariff-verdict")).to_contain_text("每年约省")
    steps = page.locator("#next-steps")
    expect(steps).to_contain_text("下一步怎么做")
    expect(steps).to_contain_text(f"{answer['recommended_kva']:,.0f} kVA")
    number = page.locator("#rec-number").inner_text()
    assert (
        len(number) == 9
        and number[4] == "-"
        and answer["id"].upper().startswith(number.replace("-", ""))
    )
    # Customer words, not percentiles; no English and no codes on the Chinese answer.
    text = page.locator("#results").inner_text()
    for jargon in ("P10", "P90", "80% 区间", "0-1000 m2", "capacity-recommender", "machinery"):
        assert jargon not in text, jargon
    # Zero driver rows are dropped.
    labels = page.locator(".drivers-chart").text_content()
    assert "−0 " not in labels and "+0 " not in labels
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"tariff-zh-{_name(viewport)}.png"))
    steps.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"next-steps-zh-{_name(viewport)}.png"))
    if viewport is PHONE:
        # On the phone the calculation table says that it scrolls sideways (the sheet is
        # folded for a customer: opened with one click).
        page.click("#sheet-details summary")
        expect(page.locator(".sheet .scroll-hint").first).to_be_visible()
        page.locator(".sheet").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots / "sheet-scrolls-zh-phone.png"))
    _english(page)
    expect(page.locator("#tariff-verdict")).to_contain_text("a year")
    expect(steps).to_contain_text("What to do next")
    page.screenshot(path=str(screenshots / f"answer-en-{_name(viewport)}.png"), full_page=True)
    _no_horizontal_overflow(page)


def test_small_fixes_decimal_comma_and_area_only(new_page: Any, screenshots: Path) -> None:
    page = new_page(DESKTOP)
    page.fill("#industry", "机加工")
    r1 = _row_id(page, 0)
    page.select_option(f"#eq-{r1}-cat", "machine_tool")
    page.fill(f"#eq-{r1}-kw", "7,5")
    page.click("#submit-btn")
    expect(page.locator(f"#eq-{r1}-kw-error")).to_contain_text("请用小数点：7.5")
    page.screenshot(path=str(screenshots / "decimal-comma-zh.png"))
    _english(page)
    expect(page.locator(f"#eq-{r1}-kw-error")).to_contain_text("Use a decimal point: 7.5")
    # An area-only answer has no bars about equipment.
    page.click("[data-example=area_only_retail]")
    page.click("#submit-btn")
    page.wait_for_selector("#recommended-kva")
    drivers = page.locator(".drivers-chart").text_content().lower()
    for word in ("equipment", "lighting", "chiller", "mix"):
        assert word not in drivers, drivers
    expect(page.locator(".missing")).to_have_count(0)


def test_both_languages_have_every_text(new_page: Any) -> None:
    page = new_page(DESKTOP)
    keys = page.evaluate(
        """async () => {
            const m = await import('/static/i18n.js');
            return {zh: Object.keys(m.DICT.zh), en: Object.keys(m.DICT.en)};
        }"""
    )
    zh, en = set(keys["zh"]), set(keys["en"])
    assert zh - en == set(), f"missing in English: {sorted(zh - en)}"
    assert en - zh == set(), f"missing in Chinese: {sorted(en - zh)}"
    # Every code the server sends has its text on the page.
    server = set(CATALOGS["zh"])
    page_codes = {k.removeprefix("warn_") for k in zh}
    assert server - page_codes == set(), sorted(server - page_codes)
    assert {f"err_{c}" for c in ERROR_CODES} - zh == set()
    # The next-steps texts come from the configuration, in both languages.
    steps = page.evaluate("window.capacityPage.catalog.next_steps")
    assert set(steps) == {"zh", "en"}
    assert json.dumps(steps["zh"], ensure_ascii=False).count("供电") >= 1
