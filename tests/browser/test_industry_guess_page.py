"""How the form shows a guess and the 其他 (not listed) industry (issue 25 item 6).

工厂 was silently taken as machinery with a green ✓; 住宅小区 and 加油站 had no route.
Protected, in both languages, on the form and in the answer: a guess (the server's
``guess`` field) is shown as a guess, in the warning style, never with ✓, even when its
confidence is high (the page must read the field, not guess from the score); a word
read for sure still gets its ✓ (so the test can fail both ways); 其他 and the trades the
list lacks show the review hint, the answer says so and asks for a planner's review.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP
from tests.browser.form import submit

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _submit(page: Any) -> dict[str, Any]:
    return dict(submit(page).json())


def _no_tick(locator: Any) -> None:
    text = locator.inner_text()
    assert "✓" not in text, text
    assert "ok" not in (locator.get_attribute("class") or "").split(), locator.get_attribute(
        "class"
    )


def test_a_broad_word_is_a_guess_on_the_form_and_in_the_answer(new_page: Any) -> None:
    page = new_page(DESKTOP)
    hint = page.locator("#industry-hint")
    page.fill("#industry", "工厂")
    expect(hint).to_have_attribute("data-guess", "true")
    expect(hint).to_have_attribute("data-industry", "machinery")
    expect(hint).to_contain_text("猜测为")
    expect(hint).to_have_class("hint small warn")
    _no_tick(hint)
    page.fill("#floor_area_m2", "3000")
    answer = _submit(page)
    assert answer["industry_match"]["guess"] is True
    summary = page.locator(".summary")
    expect(summary).to_contain_text("猜测为")
    expect(summary).to_contain_text("工厂")
    assert "识别为" not in summary.inner_text()
    _no_tick(summary)

    page.click("#lang-toggle")
    expect(summary).to_contain_text("Guessed")
    page.fill("#industry", "factory")
    expect(hint).to_have_attribute("data-guess", "true")
    expect(hint).to_contain_text("Guessed")
    _no_tick(hint)
    # A word read for sure keeps its tick: the assertions above can fail.
    page.fill("#industry", "machining")
    expect(hint).to_contain_text("✓")
    expect(hint).to_have_class("hint small ok")
    assert hint.get_attribute("data-guess") is None


def test_a_guess_with_a_high_score_is_still_a_guess(new_page: Any) -> None:
    """The page shows the server's guess field, whatever the confidence says."""
    page = new_page(DESKTOP)

    def as_guess(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        if isinstance(body, dict) and body.get("category"):
            body["guess"], body["confidence"] = True, 0.95
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/match?*", as_guess)
    hint = page.locator("#industry-hint")
    page.fill("#industry", "搞机械的")
    expect(hint).to_have_attribute("data-guess", "true")
    _no_tick(hint)
    # An equipment line: a guess is offered to accept, never taken as recognised.
    row = str(page.locator(".eq-row").first.get_attribute("data-row-id"))
    page.locator(f"#eq-{row}-name").press_sequentially("空压机", delay=10)
    match = page.locator(f"#eq-{row}-match")
    expect(match).to_contain_text("可能是")
    expect(match).to_have_class("eq-match warn")
    _no_tick(match)
    assert "将自动识别为" not in match.inner_text()
    page.unroute("**/api/match?*")
    # The same line without the guess flag is recognised (the route made the difference).
    page.locator(f"#eq-{row}-name").fill("")
    page.locator(f"#eq-{row}-name").press_sequentially("空气压缩机", delay=10)
    expect(match).to_contain_text("将自动识别为")


@pytest.mark.parametrize("word", ["其他", "住宅小区", "加油站"])
def test_not_listed_shows_its_review_hint_and_the_answer_asks_for_review(
    new_page: Any, word: str
) -> None:
    page = new_page(DESKTOP)
    hint = page.locator("#industry-hint")
    page.fill("#industry", word)
    expect(hint).to_have_attribute("data-not-listed", "true")
    expect(hint).to_have_attribute("data-industry", "other")
    expect(hint).to_contain_text("行业不在列表中")
    expect(hint).to_contain_text("人工复核")
    expect(hint).to_have_class("hint small warn")
    _no_tick(hint)
    assert hint.get_attribute("data-guess") is None
    page.fill("#floor_area_m2", "5000")
    answer = _submit(page)
    assert answer["industry_match"]["not_listed"] is True and answer["manual_review"] is True
    warning = page.locator(".warnings li[data-code=industry_not_listed]")
    expect(warning).to_contain_text("人工复核")
    page.click("#lang-toggle")
    expect(hint).to_contain_text("Industry not in the list")
    expect(hint).to_contain_text("a planner reviews it")
    _no_tick(hint)
    expect(warning).to_contain_text("needs a planner's review")
