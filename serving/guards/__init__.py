"""Request guards: every HTTP request passes one chain, registered by one call.

:func:`install` puts :class:`RequestGuards` on the service; it builds, once per app and
from :class:`serving.settings.ServiceSettings` read then, the chain (outermost first):

1. :class:`~serving.guards.headers.SecurityHeaders`: CSP and friends on every answer;
2. :class:`~serving.guards.internal.InternalErrors`: an unexpected exception is a JSON
   500, never a hang;
3. :class:`~serving.guards.json_errors.JSONErrors`: every error in the JSON error body;
4. :class:`~serving.guards.shedding.LoadShedding`: a slot or a quick 503 (before the body
   is read);
5. :class:`~serving.guards.body.BodyGuard`: size, content type, strict JSON, depth, forms;
6. :class:`~serving.guards.memory.MemoryRelease`: the heap trimmed after large requests;
7. :class:`~serving.guards.readiness.ReadinessDetail`: ``GET /readyz`` with its body.

The HTTP metrics middleware of BentoML is outermost of all; :func:`install` also makes it
label requests by route (:mod:`serving.guards.metrics`).
"""

from __future__ import annotations

from typing import Any

from serving.guards.body import BodyGuard
from serving.guards.headers import SecurityHeaders
from serving.guards.internal import InternalErrors
from serving.guards.json_errors import JSONErrors
from serving.guards.memory import MemoryRelease
from serving.guards.metrics import route_labelled_metrics
from serving.guards.readiness import ReadinessDetail, StatusFn
from serving.guards.shedding import LoadShedding
from serving.settings import ServiceSettings


class RequestGuards:
    """ASGI middleware: the whole guard chain around ``app`` (see the module docstring)."""

    def __init__(self, app: Any, status: StatusFn, settings: ServiceSettings | None = None) -> None:
        s = ServiceSettings() if settings is None else settings
        chain: Any = ReadinessDetail(app, status)
        chain = MemoryRelease(chain)
        chain = BodyGuard(chain, max_bytes=s.max_body_bytes)  # every route's POST
        # Shedding before BodyGuard: a request that gets no slot is refused before its body
        # is read.
        chain = LoadShedding(
            chain, max_concurrency=s.max_concurrency, queue_timeout_ms=s.queue_timeout_ms
        )
        chain = JSONErrors(chain, benchmark_endpoints=s.serve_benchmark_endpoints)
        chain = InternalErrors(chain)
        # Outermost: the headers and the JSON error bodies cover every guard's answers.
        self.app = SecurityHeaders(chain)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass the request through the chain."""
        await self.app(scope, receive, send)


def install(service: Any, status: StatusFn) -> None:
    """Register the guard chain on a BentoML service class (call once, at import)."""
    route_labelled_metrics()
    service.add_asgi_middleware(RequestGuards, status=status)
