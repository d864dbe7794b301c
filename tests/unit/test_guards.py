"""The request-guard chain in-process (no server): what each guard refuses, and how.

The chain of :mod:`serving.guards` is built around a tiny ASGI app standing in for
BentoML, with explicit :class:`ServiceSettings`; the live-server tests
(``tests/service/test_hardening_input.py``, ``test_hardening_load.py``) check the same
rules through ``bentoml serve``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from serving.guards import RequestGuards, gate
from serving.guards.body import (
    MAX_JSON_DEPTH,
    _inspect,
    _json_depth_scanned,
    _may_hold_surrogates,
    _parse_noting_non_finite,
    json_depth,
)
from serving.guards.keys import KeyBackoff
from serving.settings import ServiceSettings


async def _echo(request: Request) -> JSONResponse:
    body = await request.body()
    if request.headers.get("x-sleep"):
        await asyncio.sleep(float(request.headers["x-sleep"]))
    return JSONResponse({"received": len(body)})


def _inner() -> Starlette:
    paths = ["/recommend", "/check", "/recommend_batch", "/trivial", "/export/batch"]
    return Starlette(routes=[Route(p, _echo, methods=["POST"]) for p in paths])


def _status() -> tuple[int, dict[str, Any]]:
    return 200, {"ready": False, "not_ready_reason": "no model for the test"}


def _guarded(**settings: Any) -> RequestGuards:
    defaults: dict[str, Any] = {"max_body_bytes": 1_000, "max_concurrency": 4}
    return RequestGuards(_inner(), _status, ServiceSettings(**{**defaults, **settings}))


@pytest.fixture
def client() -> TestClient:
    return TestClient(_guarded())


def _field(response: Any) -> str:
    return str(response.json()["errors"][0]["field"])


def test_a_body_over_the_limit_is_413_before_it_is_read(client: TestClient) -> None:
    r = client.post("/recommend", content=b"[" + b"1," * 600 + b"1]", headers=_JSON)
    assert r.status_code == 413
    assert "1000 bytes" in r.json()["errors"][0]["expected"]


_JSON = {"content-type": "application/json"}


def test_a_body_that_is_not_json_is_415_naming_the_content_type(client: TestClient) -> None:
    r = client.post("/recommend", content=b"a=1", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and _field(r) == "Content-Type"
    assert r.json()["errors"][0]["value"] == "text/plain"


def test_multipart_is_refused_outside_the_batch(client: TestClient) -> None:
    r = client.post("/check", files={"customers": ("c.csv", b"x")})
    assert r.status_code == 415


def test_nesting_deeper_than_the_limit_is_400_with_its_depth(client: TestClient) -> None:
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    r = client.post("/recommend", content=deep.encode(), headers=_JSON)
    assert r.status_code == 400 and r.json()["errors"][0]["value"] == MAX_JSON_DEPTH + 1
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert client.post("/recommend", content=ok.encode(), headers=_JSON).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"floor_area_m2": NaN}', "floor_area_m2"),
        (b'{"a": {"b": [1, Infinity]}}', "a.b[1]"),
        (b'{"name": "\\ud800"}', "name"),
    ],
)
def test_non_finite_numbers_and_lone_surrogates_are_400_naming_the_path(
    client: TestClient, body: bytes, field: str
) -> None:
    r = client.post("/recommend", content=body, headers=_JSON)
    assert r.status_code == 400 and _field(r) == field


def test_malformed_json_is_400_not_passed_on(client: TestClient) -> None:
    r = client.post("/recommend", content=b'{"industry": ', headers=_JSON)
    assert r.status_code == 400 and "not valid JSON" in r.json()["errors"][0]["message"]


def test_the_batch_body_must_be_an_object_with_known_keys(client: TestClient) -> None:
    assert client.post("/recommend_batch", json=[1]).status_code == 400
    r = client.post("/recommend_batch", json={"applications": [], "url": "http://x"})
    assert r.status_code == 400 and _field(r) == "url"
    assert client.post("/recommend_batch", json={"applications": []}).status_code == 200


def test_a_text_part_where_a_file_belongs_is_refused(client: TestClient) -> None:
    r = client.post("/recommend_batch", files={"customers": (None, "http://169.254.169.254/")})
    assert r.status_code == 400 and _field(r) == "customers"


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    for r in (client.post("/recommend", json={}), client.get("/nowhere")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_unknown_paths_and_methods_answer_the_json_error_body(client: TestClient) -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404 and _field(r) == "(path)"
    r = client.get("/recommend")
    assert r.status_code == 405 and _field(r) == "(method)"


def test_benchmark_endpoints_are_404_unless_switched_on() -> None:
    assert TestClient(_guarded()).post("/trivial", json={}).status_code == 404
    on = TestClient(_guarded(benchmark_endpoints="1"))
    assert on.post("/trivial", json={}).status_code == 200


def test_readyz_answers_with_the_status_body_and_its_rule(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["not_ready_reason"] == "no model for the test"


def test_beyond_the_limit_a_request_is_shed_with_retry_after() -> None:
    settings = ServiceSettings(max_body_bytes=1_000, max_concurrency=1, queue_timeout_ms=20)
    app = gate(RequestGuards(_inner(), _status, settings), settings)
    answers: list[tuple[int, dict[bytes, bytes]]] = []

    async def call(sleep: str) -> None:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/recommend",
            "headers": [(b"content-type", b"application/json"), (b"x-sleep", sleep.encode())],
            "query_string": b"",
        }
        sent = [{"type": "http.request", "body": b"{}", "more_body": False}]

        async def receive() -> Any:
            return sent.pop() if sent else {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                answers.append((message["status"], dict(message["headers"])))

        await app(scope, receive, send)

    async def both() -> None:
        first = asyncio.create_task(call("0.3"))
        await asyncio.sleep(0.05)
        await call("0")
        await first

    # In a thread of its own: a session fixture (the browser tests' playwright) may keep
    # an event loop running in the main thread, where asyncio.run refuses to start one.
    runner = threading.Thread(target=lambda: asyncio.run(both()))
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive()
    statuses = [status for status, _ in answers]
    assert statuses == [503, 200]
    assert answers[0][1][b"retry-after"] == b"1"


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": "[[[[[[", "b": [[1]]}') == 3
    assert json_depth(b"1") == 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "[[[[[[", "b": [[1]]}',
        b'["\\"[[", [[["]"]]]]',  # an escaped quote: the scanned path
        b'[["\\\\"], [[1]]]',  # an escaped backslash before a closing quote
        b'[[["unterminated',
        b"]]]",
        b'{"k": "\\u6570[{"}',
        json.dumps({"applications": [{"equipment": [{"name": "a[b"}]}] * 3}).encode(),
    ],
)
def test_json_depth_counts_as_the_scan_of_the_text(body: bytes) -> None:
    # The vectorised count (no escaped quote, every string closed) and the regex scan
    # it stands in for agree; bodies outside its case take the scan itself.
    assert json_depth(body) == _json_depth_scanned(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": NaN}',
        b'{"a": [1, -Infinity]}',
        b'{"a": 1e400}',
        b'{"a": 1' + b"0" * 400 + b".5}",
        b'{"a": "\\ud800"}',
        b'{"\\udfff": 1}',
        '{"a": "\\udc00"}'.encode("utf-16"),
    ],
)
def test_every_body_the_walk_would_refuse_is_walked(body: bytes) -> None:
    # The walk over the parsed document is skipped only when it cannot find anything:
    # never for a body that holds a non-finite number or a lone surrogate.
    doc, non_finite = _parse_noting_non_finite(body)
    assert _inspect(doc)
    assert non_finite or _may_hold_surrogates(body)


def test_a_plain_batch_body_is_not_walked() -> None:
    body = json.dumps(
        {"applications": [{"industry": "机加工", "floor_area_m2": 1.5e3}] * 50}
    ).encode()
    doc, non_finite = _parse_noting_non_finite(body)
    assert doc["applications"][0]["floor_area_m2"] == 1500.0
    assert not non_finite and not _may_hold_surrogates(body)


def test_key_backoff_blocks_an_address_after_the_limit_and_a_right_key_clears_it() -> None:
    backoff = KeyBackoff(limit=3, window=60, base=2, cap=10)
    for _ in range(2):
        backoff.failed("10.0.0.1")
    assert backoff.blocked_for("10.0.0.1") == 0
    backoff.failed("10.0.0.1")
    assert backoff.blocked_for("10.0.0.1") >= 1
    assert backoff.blocked_for("10.0.0.2") == 0
    backoff.succeeded("10.0.0.1")
    assert backoff.blocked_for("10.0.0.1") == 0


def test_the_guard_errors_are_json_with_field_value_expected_message(client: TestClient) -> None:
    r = client.post("/recommend", content=b"x", headers={"content-type": "text/csv"})
    error = json.loads(r.content)["errors"][0]
    assert set(error) >= {"field", "value", "expected", "message"}


def test_an_exception_inside_a_guard_is_a_json_500_not_a_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in a guard answers 500 with the error body and the security headers."""
    from serving.guards.body import BodyGuard

    async def broken(self: Any, scope: Any, receive: Any, send: Any) -> None:
        raise NameError("name 'oops' is not defined")

    monkeypatch.setattr(BodyGuard, "__call__", broken)
    client = TestClient(_guarded(), raise_server_exceptions=False)
    response = client.post("/recommend", json={"industry": "office"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert "internal error while answering /recommend" in response.json()["errors"][0]["message"]
    assert "content-security-policy" in {k.lower() for k in response.headers}
    # Without the guard bug the same request is answered as before.
    monkeypatch.undo()
    assert TestClient(_guarded()).post("/recommend", json={"industry": "office"}).status_code == 200
