"""Request guards: every HTTP request passes one chain, registered by one call.

:func:`install` does two things, each from :class:`serving.settings.ServiceSettings`
read when a worker builds its app:

* it makes :class:`~serving.guards.shedding.AdmissionGate` the outermost application of
  every worker, ahead of BentoML's own middlewares (HTTP metrics, tracing, access log,
  timeout): a work request gets a slot or a 503 with ``Retry-After`` at once, before
  anything reads its body or logs it; probes, metrics and the page bypass it;
* it puts :class:`RequestGuards` on the service, inside BentoML's middlewares; it builds
  the chain (outermost first):

  1. :class:`~serving.guards.headers.SecurityHeaders`: CSP and friends on every answer;
  2. :class:`~serving.guards.internal.InternalErrors`: an unexpected exception is a JSON
     500, never a hang;
  3. :class:`~serving.guards.json_errors.JSONErrors`: every error in the JSON error body;
  4. :class:`~serving.guards.body.BodyGuard`: size, content type, strict JSON, depth, forms;
  5. :class:`~serving.guards.memory.MemoryRelease`: the heap trimmed after large requests;
  6. :class:`~serving.guards.readiness.ReadinessDetail`: ``GET /readyz`` with its body.

BentoML's HTTP metrics middleware labels requests by route (:mod:`serving.guards.metrics`).
"""

from __future__ import annotations

from typing import Any

from serving.errors import single_error
from serving.guards.body import BodyGuard
from serving.guards.headers import SecurityHeaders
from serving.guards.internal import InternalErrors
from serving.guards.json_errors import JSONErrors
from serving.guards.memory import MemoryRelease
from serving.guards.metrics import route_labelled_metrics
from serving.guards.paths import WORK_PATHS
from serving.guards.readiness import ReadinessDetail, StatusFn
from serving.guards.shedding import AdmissionGate, admit_in_front
from serving.settings import ServiceSettings


class RequestGuards:
    """ASGI middleware: the whole guard chain around ``app`` (see the module docstring)."""

    def __init__(self, app: Any, status: StatusFn, settings: ServiceSettings | None = None) -> None:
        s = ServiceSettings() if settings is None else settings
        chain: Any = ReadinessDetail(app, status)
        chain = MemoryRelease(chain)
        chain = BodyGuard(chain, max_bytes=s.max_body_bytes)  # every route's POST
        chain = JSONErrors(chain, benchmark_endpoints=s.serve_benchmark_endpoints)
        chain = InternalErrors(chain)
        # Outermost: the headers and the JSON error bodies cover every guard's answers.
        self.app = SecurityHeaders(chain)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass the request through the chain; always end it with an answer.

        A request whose client went away before its body was complete ends in the chain
        without an answer (the body guard returns on ``http.disconnect``). BentoML's
        timeout middleware, around this chain, waits for the first message sent, not for
        the app to return: it held such a request, and its admission slot, for the whole
        traffic timeout (120 s; tests/service/test_admission.py found it). An answer is
        sent instead; the server drops it, as the connection is gone.
        """
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting(message: Any) -> None:
            nonlocal started
            started = True
            await send(message)

        await self.app(scope, receive, send_noting)
        if not started:
            await single_error(
                None,
                None,
                "a complete request",
                "the client went away before its request was complete",
                400,
            )(scope, receive, send)


def gate(app: Any, settings: ServiceSettings | None = None) -> AdmissionGate:
    """The admission gate around a worker's whole app, with the settings' bound."""
    s = ServiceSettings() if settings is None else settings
    return AdmissionGate(
        app,
        max_concurrency=s.max_concurrency,
        queue_timeout_ms=s.queue_timeout_ms,
        known_paths=WORK_PATHS,
        close_waited=s.resolved_workers() > 1,
    )


def install(service: Any, status: StatusFn) -> None:
    """Register the gate and the guard chain on a BentoML service (call once, at import)."""
    route_labelled_metrics()
    service.add_asgi_middleware(RequestGuards, status=status)
    admit_in_front(service, gate)
