"""Admission control in-process: the gate in front of every worker, what it admits and refuses.

* The worker's app (``CapacityService.to_asgi()``, as ``bentoml serve`` builds it) IS the
  gate: it runs before BentoML's metrics, tracing, access log and timeout middlewares.
* Every route of that app is behind the gate unless it is one of the listed cheap GETs
  (probes, metrics, the page, its files, the docs, the catalog): a route added later,
  or a POST on a free path, cannot slip out unnoticed.
* A request that finds the slots taken waits for one (within the timeout); with several
  workers its connection is closed after the answer, to spread keep-alive clients.
* With the bound taken, a work request is answered 503 with ``Retry-After``, the JSON
  error body and the security headers, without its body being read, while ``/healthz``
  and ``/readyz`` still answer; once the slot frees the same request is served.

No clock is asserted: a request holds its slot until the test releases an event. The
live-server counterpart is ``tests/service/test_admission.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.routing import Mount, Route

from serving.guards import RequestGuards, gate
from serving.guards.shedding import AdmissionGate, is_free
from serving.service import CapacityService
from serving.settings import ServiceSettings

EXPECTED_FREE = {
    "/",
    "/healthz",
    "/livez",
    "/readyz",
    "/metrics",
    "/model",
    "/docs",
    "/docs.json",
    "/api/catalog",
    "/static/{path}",
}
"""The routes outside admission control, all cheap GETs; anything else is gated."""


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, mounted apps' routes included."""
    out: list[tuple[str, set[str]]] = []
    for route in routes:
        inner = getattr(getattr(route, "app", None), "routes", None)
        if isinstance(route, Mount):
            if inner:
                out.extend(_routes(inner, prefix + route.path.rstrip("/")))
            else:  # StaticFiles and the like: every path under the mount
                out.append((f"{prefix}{route.path.rstrip('/')}/{{path}}", {"GET", "HEAD"}))
        elif inner:  # BentoML's PassiveMount of an ASGI app at "/"
            out.extend(_routes(inner, prefix))
        elif isinstance(route, Route):
            out.append((prefix + route.path, set(route.methods or ())))
    return out


def _example_path(template: str) -> str:
    return template.replace("{path}", "app.js")


def test_the_worker_app_is_the_gate_in_front_of_bentomls_middlewares() -> None:
    app = CapacityService.to_asgi(is_main=True)  # type: ignore[attr-defined]
    assert isinstance(app, AdmissionGate)
    # Inside it: BentoML's Starlette app with its own middlewares, our chain among them.
    assert app.app.__class__.__name__ == "Starlette"


def test_every_route_is_gated_unless_it_is_a_listed_cheap_get() -> None:
    app = CapacityService.to_asgi(is_main=True)  # type: ignore[attr-defined]
    routes = _routes(app.app.routes)
    paths = {path for path, _ in routes}
    # The enumeration itself found the service: its APIs, the page's routes, the probes.
    api_routes = {api.route for api in CapacityService.apis.values()}  # type: ignore[attr-defined]
    assert api_routes and api_routes <= paths
    assert {"/api/match", "/healthz", "/readyz", "/model", "/static/{path}"} <= paths
    free = {path for path in paths if is_free(_example_path(path))}
    assert free <= EXPECTED_FREE, sorted(free - EXPECTED_FREE)
    for path, methods in routes:
        if path in free:
            assert methods <= {"GET", "HEAD"}, (path, methods)  # a free route does no work
    gated = paths - free
    assert api_routes | {"/api/match"} <= gated
    assert not is_free("/no/such/route") and not is_free("/static")  # unknown: gated too


class _Held:
    """A stand-in for BentoML's app: work routes wait for ``release``; probes answer."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        self.bodies_read: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if not is_free(path):
            self.entered.set()
            await self.release.wait()
            message = await receive()
            self.bodies_read.append(path)
            assert message["type"] == "http.request"
        body = json.dumps({"path": path}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


Answer = tuple[int, dict[bytes, bytes], bytes, bool]


def _call(app: Any, method: str, path: str) -> Callable[[], Awaitable[Answer]]:
    async def go() -> Answer:
        started: dict[str, Any] = {}
        chunks: list[bytes] = []
        read = [False]
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "headers": [(b"content-type", b"application/json")],
            "query_string": b"",
        }

        async def receive() -> Any:
            read[0] = True
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            else:
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return started["status"], dict(started["headers"]), b"".join(chunks), read[0]

    return go


def _run(coro: Callable[[], Awaitable[None]]) -> None:
    # In a thread of its own: a session fixture (the browser tests' playwright) may keep
    # an event loop running in the main thread, where asyncio.run refuses to start one.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro())  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    runner = threading.Thread(target=target)
    runner.start()
    runner.join(timeout=60)
    assert not runner.is_alive()
    if errors:
        raise errors[0]


def test_with_the_bound_taken_work_is_503_at_once_and_probes_still_answer() -> None:
    settings = ServiceSettings(max_concurrency=1, queue_timeout_ms=0)

    async def scenario() -> None:
        held = _Held()
        app = gate(held, settings)
        first = asyncio.ensure_future(_call(app, "POST", "/recommend")())
        await held.entered.wait()  # the only slot is taken, and stays so
        assert app.is_full()
        for method, path in (
            ("POST", "/recommend"),
            ("POST", "/recommend_batch"),
            ("POST", "/export/batch"),
            ("POST", "/api/match"),
            ("GET", "/api/match"),
            ("POST", "/feedback"),
            ("POST", "/a-route-added-later"),
        ):
            status, headers, body, read = await _call(app, method, path)()
            assert status == 503, (method, path, status)
            assert headers[b"retry-after"] == b"1"
            assert headers[b"content-type"] == b"application/json"
            assert headers[b"x-content-type-options"] == b"nosniff"
            assert b"frame-ancestors 'none'" in headers[b"content-security-policy"]
            assert int(headers[b"content-length"]) == len(body)
            error = json.loads(body)["errors"][0]
            assert set(error) == {"field", "value", "expected", "message"}
            assert "busy" in error["message"] and "retry after 1 s" in error["message"]
            assert not read, path  # refused before anything read its body
        for path in ("/healthz", "/readyz", "/livez", "/metrics", "/model", "/static/app.js"):
            status, _, _, _ = await _call(app, "GET", path)()
            assert status == 200, path
        assert app.shed_total == 7
        held.release.set()
        status, _, _, _ = await first
        assert status == 200
        assert not app.is_full()
        status, _, _, read = await _call(app, "POST", "/recommend")()
        assert status == 200 and read  # the slot freed: served, body read

    _run(scenario)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_request_that_finds_the_slots_taken_waits_for_one_within_the_timeout(
    workers: int,
) -> None:
    settings = ServiceSettings(max_concurrency=1, queue_timeout_ms=10_000, workers=workers)

    async def scenario() -> None:
        held = _Held()
        app = gate(held, settings)
        first = asyncio.ensure_future(_call(app, "POST", "/recommend")())
        await held.entered.wait()
        second = asyncio.ensure_future(_call(app, "POST", "/check")())
        while app.waiting == 0:  # it queues (the hold time measured so far is 0)
            await asyncio.sleep(0)
        held.release.set()
        status, headers, _, _ = await first
        assert status == 200 and b"connection" not in headers
        status, headers, _, _ = await second
        assert status == 200  # admitted when the slot freed, not shed
        # With several workers, the connection of a request that had to wait is closed
        # after its answer, so that its client may reconnect to a worker with room.
        assert headers.get(b"connection") == (b"close" if workers > 1 else None)

    _run(scenario)


def test_the_503_goes_through_the_real_guard_chain_unchanged() -> None:
    # The gate's own answer, not a rewrite: JSONErrors and SecurityHeaders sit inside it.
    settings = ServiceSettings(max_concurrency=1, queue_timeout_ms=0, max_body_bytes=1_000)

    async def scenario() -> None:
        held = _Held()
        app = gate(RequestGuards(held, lambda: (200, {"ready": True}), settings), settings)
        first = asyncio.ensure_future(_call(app, "POST", "/recommend")())
        await held.entered.wait()
        status, headers, body, _ = await _call(app, "POST", "/recommend")()
        assert status == 503 and b"server busy: /recommend" in body
        status, _, body, _ = await _call(app, "GET", "/readyz")()
        assert status == 200 and json.loads(body)["ready"] is True
        held.release.set()
        await first

    _run(scenario)
