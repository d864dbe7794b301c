"""Load shedding: a bounded number of API requests at once, the rest answered 503 quickly."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import bentoml

from serving.errors import single_error
from serving.guards.metrics import route_label
from serving.guards.paths import UNLIMITED_ROUTES

DEFAULT_MAX_CONCURRENCY = 4
"""POST API requests served at once (0: no limit); more wait in the queue (README: measured)."""
DEFAULT_QUEUE_TIMEOUT_MS = 50.0
"""Longest a request waits for a slot before it is answered 503 with ``Retry-After``: short,
so that the excess is told within 100 ms (benchmarks/bench_overload.py) rather than
after half a second in a queue, where its client could have retried elsewhere."""
WAITING_PER_SLOT = 4
"""Requests that may wait for a slot, per slot; beyond that the excess is shed at once."""
RETRY_AFTER_S = 1


class LoadShedding:
    """ASGI middleware: at most ``max_concurrency`` API requests at once; the rest are shed.

    A request to any route not in ``unlimited`` (probes, metrics, the page and its files:
    :data:`serving.guards.paths.UNLIMITED_ROUTES`), whatever its method, takes a slot of an
    asyncio semaphore before anything reads its body; routes added later are covered
    without being listed. With every slot taken it waits at most ``queue_timeout_ms``
    (and not at all when ``WAITING_PER_SLOT`` requests per slot already wait); then it is
    answered 503 with ``Retry-After: 1`` and the service's JSON error body instead of
    queueing for seconds (a client or balancer can retry elsewhere or later). Shed
    requests are counted in ``capacity_shed_requests_total`` (label ``endpoint``).
    """

    def __init__(
        self,
        app: Any,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        queue_timeout_ms: float = DEFAULT_QUEUE_TIMEOUT_MS,
        unlimited: frozenset[str] = UNLIMITED_ROUTES,
    ) -> None:
        self.app = app
        self.limit = int(max_concurrency)
        self.timeout = max(0.0, float(queue_timeout_ms)) / 1000.0
        self.unlimited = unlimited
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the request in a slot, or answer 503 when none frees within the timeout."""
        if self.limit <= 0 or scope["type"] != "http" or route_label(scope) in self.unlimited:
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created in the worker's event loop, on first use
            self._slots = asyncio.Semaphore(self.limit)
        slots = self._slots
        if slots.locked() and (self.timeout <= 0 or self._waiting >= self.limit * WAITING_PER_SLOT):
            await self._shed(scope, receive, send)
            return
        self._waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), self.timeout)
        except TimeoutError:
            await self._shed(scope, receive, send)
            return
        finally:
            self._waiting -= 1
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    async def _shed(self, scope: Any, receive: Any, send: Any) -> None:
        path = str(scope.get("path"))
        counter = _shed_counter()
        if counter is not None:
            with contextlib.suppress(Exception):
                counter.labels(endpoint=path).inc()
        response = single_error(
            None,
            None,
            f"at most {self.limit} requests at once (waited {self.timeout * 1000:g} ms)",
            f"server busy: {path} was not started within {self.timeout * 1000:g} ms; "
            f"retry after {RETRY_AFTER_S} s",
            503,
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        await response(scope, receive, send)


_SHED_COUNTER: list[Any] = []


def _shed_counter() -> Any:
    """``capacity_shed_requests_total`` (BentoML's Prometheus registry), made once; or None."""
    if not _SHED_COUNTER:
        try:
            counter: Any = bentoml.metrics.Counter(
                name="capacity_shed_requests",
                documentation="API requests answered 503 because no slot freed in time",
                labelnames=["endpoint"],
            )
        except Exception:  # pragma: no cover - metrics are a nicety, not a requirement
            counter = None
        _SHED_COUNTER.append(counter)
    return _SHED_COUNTER[0]
