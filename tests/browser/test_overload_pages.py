"""Overload and readiness on the batch page and the sheet export, in the page's language.

The form's retry is tested in test_line_figures_page.py; these pages send through the
same rule (retry.js ``sendWithRetry``): a shed answer (503/429 with Retry-After) is sent
again after the named wait, a missing model is said as such, and the server's own text
("server busy: …", "service not ready: …") never reaches the page.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP
from tests.browser.shedding import forget_expected_errors, shed_always, shed_body, shed_once

pytestmark = [pytest.mark.browser, pytest.mark.live]

CUSTOMERS = (
    "customer_id,industry,climate_zone,floor_area_m2,employees,shifts,applied_capacity_kva\n"
    "O1,office,,15000,400,1,\n"
)

SHED = shed_body("/recommend_batch")
NOT_READY = json.dumps(
    {
        "errors": [
            {
                "field": None,
                "value": None,
                "expected": "a loaded model",
                "message": "service not ready: no model",
            }
        ]
    }
)


def _upload(page: Any) -> None:
    page.set_input_files(
        "#batch-customers",
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": CUSTOMERS.encode()}],
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_batch_page_retries_a_shed_answer_after_retry_after(new_page: Any, lang: str) -> None:
    page = new_page(DESKTOP)
    if lang == "en":
        page.click("#lang-toggle")
    shed = shed_once(page, "**/recommend_batch", SHED)
    _upload(page)
    page.click("#batch-submit")
    status = page.locator("#batch-status")
    expect(status).to_contain_text("自动重试" if lang == "zh" else "retrying by itself")
    expect(page.locator("#batch-table tbody tr")).to_have_count(1, timeout=15_000)
    assert shed["n"] == 1
    assert "server busy" not in page.locator("body").inner_text()
    forget_expected_errors(page)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_batch_page_says_busy_and_not_ready_in_its_language(new_page: Any, lang: str) -> None:
    page = new_page(DESKTOP)
    if lang == "en":
        page.click("#lang-toggle")
    sent = shed_always(page, "**/recommend_batch", SHED)
    _upload(page)
    page.click("#batch-submit")
    status = page.locator("#batch-status")
    gave_up = "服务器一直很忙" if lang == "zh" else "stayed busy after 3 automatic retries"
    expect(status).to_contain_text(gave_up, timeout=20_000)
    assert sent["n"] == 4  # the first answer and 3 retries, then said
    assert "server busy" not in status.inner_text()
    expect(page.locator("#batch-submit")).to_be_enabled()

    page.unroute("**/recommend_batch")
    shed_always(page, "**/recommend_batch", NOT_READY, status=503, retry_after="5")
    page.click("#batch-submit")
    not_ready = "尚未就绪" if lang == "zh" else "not ready yet (no model loaded)"
    expect(status).to_contain_text(not_ready)
    assert "service not ready" not in status.inner_text()
    forget_expected_errors(page)


def test_the_sheet_export_retries_a_shed_answer(new_page: Any) -> None:
    page = new_page(DESKTOP)
    page.click("#lang-toggle")
    page.click("[data-example=machinery_workshop]")
    page.click("#submit-btn")
    page.wait_for_selector("#sheet-details summary")
    page.click("#sheet-details summary")
    shed = shed_once(page, "**/export/sheet", SHED)
    with page.expect_download(timeout=20_000) as got:
        page.click("#export-xlsx")
    assert got.value.suggested_filename.startswith("load-calculation")
    assert shed["n"] == 1
    expect(page.locator("#export-status")).to_contain_text("Downloaded")
    forget_expected_errors(page)


def test_a_shed_name_match_is_retried_and_the_hint_still_comes(new_page: Any) -> None:
    # /api/match is behind the admission gate like every work route: a shed match must be
    # sent again after Retry-After, not leave the industry without its hint.
    page = new_page(DESKTOP)
    shed = shed_once(page, "**/api/match?*", shed_body("/api/match"))
    page.fill("#industry", "工厂")  # not a listed name: the server's matcher is asked
    hint = page.locator("#industry-hint")
    expect(hint).to_have_attribute("data-industry", "machinery", timeout=15_000)
    assert shed["n"] == 1
    forget_expected_errors(page)
