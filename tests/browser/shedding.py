"""Shed answers served to a page on purpose: one helper for every overload browser test.

A test routes a URL through :func:`shed_once` (the first request gets a 503 with
``Retry-After``, the rest reach the live server) or :func:`shed_always`, then asserts
what the page said and how often it sent. The server's own English text is in the body
on purpose, so a test can assert it never reaches the page.
"""

from __future__ import annotations

import json
from typing import Any


def shed_body(route: str) -> str:
    """The body the service's limiter sends when it sheds ``route``."""
    return json.dumps(
        {
            "errors": [
                {
                    "field": None,
                    "value": None,
                    "expected": "at most 4 requests at once",
                    "message": f"server busy: {route} was not started within 2000 ms; "
                    "retry after 1 s",
                }
            ]
        }
    )


def _fulfill(route: Any, status: int, retry_after: str, body: str) -> None:
    route.fulfill(
        status=status,
        headers={"Retry-After": retry_after, "content-type": "application/json"},
        body=body,
    )


def shed_once(page: Any, pattern: str, body: str, status: int = 503) -> dict[str, int]:
    """Route ``pattern`` so that its first request is shed; the counter says how many were."""
    shed = {"n": 0}

    def once_busy(route: Any) -> None:
        if shed["n"] == 0:
            shed["n"] += 1
            _fulfill(route, status, "1", body)
        else:
            route.continue_()

    page.route(pattern, once_busy)
    return shed


def shed_always(
    page: Any, pattern: str, body: str, status: int = 429, retry_after: str = "1"
) -> dict[str, int]:
    """Route ``pattern`` so that every request is shed; the counter says how many were sent."""
    sent = {"n": 0}

    def always_busy(route: Any) -> None:
        sent["n"] += 1
        _fulfill(route, status, retry_after, body)

    page.route(pattern, always_busy)
    return sent


def forget_expected_errors(page: Any) -> None:
    """Drop chromium's console lines for the statuses a test served on purpose."""
    page.guard.errors[:] = [
        e for e in page.guard.errors if "status of 503" not in e and "status of 429" not in e
    ]
