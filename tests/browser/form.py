"""Sending the page's form as a person does: one helper for the browser tests."""

from __future__ import annotations

from typing import Any


def submit(page: Any, drawn: str = "#recommended-kva", status: int = 200) -> Any:
    """Click the form's button; the ``/recommend`` response once ``drawn`` is on the page.

    The response is asserted to have ``status`` (its text in the message when not), so a
    test reads the answer it expects or fails saying what the server answered instead.
    """
    with page.expect_response(lambda r: r.url.endswith("/recommend")) as resp:
        page.click("#submit-btn")
    assert resp.value.status == status, resp.value.text()
    if status == 200:
        page.wait_for_selector(drawn)
    return resp.value
