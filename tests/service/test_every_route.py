"""Every route of the served OpenAPI document, fuzzed: never a 5xx, always a JSON error.

The operations are read from the running server's ``/docs.json`` (present and future
routes alike); each gets the hard cases of :mod:`tests.fuzz_routes` (lone surrogates,
Infinity, deep nesting, a CR in a CSV cell, a 300-character file name, wrong content
types, a foreign Origin) and random mutations of its example. ``benchmarks/
fuzz_routes.py`` runs the same generator for 10,000 requests and prints the figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fuzz_routes import cases, operations
from tests.server_process import (
    MAX_BODY_BYTES,
    RESPONSE_LOG,
    ResponseLog,
    Server,
    make_client,
    running_server,
    server_env,
)
from tests.service.conftest import _count_served_500s

pytestmark = [pytest.mark.slow, pytest.mark.live]

CASES_PER_OPERATION = 45


@pytest.fixture(scope="module")
def live_server(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: the fuzz sends wrong API keys, and the key back-off
    (per address) would otherwise throttle the session server for the tests after it."""
    home = tmp_path_factory.mktemp("fuzz-server")
    env = server_env(home, bundle_dir, {"CAPACITY_MAX_BODY_BYTES": str(MAX_BODY_BYTES)})
    with running_server("fuzz", home, env, ready=(200,)) as server:
        yield server
        _count_served_500s(server, RESPONSE_LOG)


@pytest.fixture(scope="module")
def client(live_server: Server, response_log: ResponseLog) -> Iterator[httpx.Client]:
    with make_client(live_server, response_log) as c:
        yield c


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
