"""Every route of the served OpenAPI document, fuzzed: never a 5xx, always a JSON error.

The operations are read from the running server's ``/docs.json`` (present and future
routes alike); each gets the hard cases of :mod:`tests.fuzz_routes` (lone surrogates,
Infinity, deep nesting, a CR in a CSV cell, a 300-character file name, wrong content
types, a foreign Origin) and random mutations of its example. ``benchmarks/
fuzz_routes.py`` runs the same generator for 10,000 requests and prints the figures.
"""

from __future__ import annotations

import httpx
import pytest

from tests.fuzz_routes import cases, operations
from tests.service.conftest import Server

pytestmark = [pytest.mark.slow, pytest.mark.live]

CASES_PER_OPERATION = 45


@pytest.fixture(scope="module")
def doc(client: httpx.Client) -> dict:
    r = client.get("/docs.json")
    assert r.status_code == 200
    return r.json()


def test_the_document_lists_the_routes_that_once_escaped_the_guards(doc: dict) -> None:
    ops = set(operations(doc))
    assert {("POST", "/api/match"), ("POST", "/export/batch"), ("POST", "/recommend_batch")} <= ops


def test_every_route_answers_fuzzed_requests_without_a_5xx(
    live_server: Server, client: httpx.Client, doc: dict
) -> None:
    bad: list[str] = []
    not_json: list[str] = []
    count = 0
    for method, path in operations(doc):
        for case in cases(doc, method, path, CASES_PER_OPERATION, seed=1):
            r = client.request(**case)
            count += 1
            if r.status_code >= 500:
                bad.append(f"{method} {path} -> {r.status_code}: {r.text[:200]} ({case!r:.200})")
            elif r.status_code >= 400 and path != "/metrics":
                if not r.headers.get("content-type", "").startswith("application/json"):
                    not_json.append(f"{method} {path} -> {r.status_code} {r.text[:100]}")
    assert count >= 10 * CASES_PER_OPERATION
    assert not bad, "\n".join(bad[:20])
    assert not not_json, "\n".join(not_json[:20])


def test_a_post_from_a_foreign_origin_is_refused_on_every_route(
    client: httpx.Client, doc: dict
) -> None:
    for method, path in operations(doc):
        if method != "POST":
            continue
        r = client.post(path, json={}, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403, (path, r.status_code, r.text[:200])
        assert r.json()["errors"][0]["field"] == "Origin"
    # multipart needs no CORS preflight: the batch upload is the case CSRF is about
    r = client.post(
        "/recommend_batch",
        files={"customers": ("c.csv", b"customer_id\nc1\n")},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    same = client.post(
        "/recommend_batch",
        json={"applications": []},
        headers={"Origin": str(client.base_url).rstrip("/")},
    )
    assert same.status_code == 400  # past the origin check: the empty batch is the problem


def test_no_answer_names_the_server_software(client: httpx.Client) -> None:
    for path in ("/", "/healthz", "/readyz", "/docs.json", "/nowhere"):
        assert "server" not in client.get(path).headers, path
