"""Load shedding: a bounded number of API requests at once, the rest answered 503 quickly."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import bentoml

from serving.errors import single_error
from serving.guards.paths import SHED_PATHS

DEFAULT_MAX_CONCURRENCY = 4
"""POST API requests served at once (0: no limit); more wait in the queue (README: measured)."""
DEFAULT_QUEUE_TIMEOUT_MS = 500.0
"""Longest a request waits for a slot before it is answered 503 with ``Retry-After``."""
RETRY_AFTER_S = 1


class LoadShedding:
    """ASGI middleware: at most ``max_concurrency`` API requests at once; the rest are shed.

    A POST to one of ``paths`` takes a slot of an asyncio semaphore before anything reads
    its body. With every slot taken it waits at most ``queue_timeout_ms``; then it is
    answered 503 with ``Retry-After: 1`` and the service's JSON error body instead of
    queueing for seconds (a client or balancer can retry elsewhere or later). Shed
    requests are counted in ``capacity_shed_requests_total`` (label ``endpoint``).
    """

    def __init__(
        self,
        app: Any,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        queue_timeout_ms: float = DEFAULT_QUEUE_TIMEOUT_MS,
        paths: frozenset[str] = SHED_PATHS,
    ) -> None:
        self.app = app
        self.limit = int(max_concurrency)
        self.timeout = max(0.0, float(queue_timeout_ms)) / 1000.0
        self.paths = paths
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the request in a slot, or answer 503 when none frees within the timeout."""
        if (
            self.limit <= 0
            or scope["type"] != "http"
            or scope.get("method") != "POST"
            or scope.get("path") not in self.paths
        ):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created in the worker's event loop, on first use
            self._slots = asyncio.Semaphore(self.limit)
        slots = self._slots
        try:
            await asyncio.wait_for(slots.acquire(), self.timeout)
        except TimeoutError:
            await self._shed(scope, receive, send)
            return
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
