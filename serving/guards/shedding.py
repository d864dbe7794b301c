"""Admission control: a bounded number of work requests per worker, the rest 503 at once.

The gate is the OUTERMOST application of every API worker (:func:`admit_in_front`),
ahead of BentoML's own middlewares (metrics, OpenTelemetry, the access log, the timeout
task) and of the guard chain: a request refused here costs the HTTP parse and a few
dictionary look-ups, and nothing reads its body. Issue 27 measured why the position
matters: behind those layers a shed request cost about as much server CPU as an
answered ``/trivial`` (3.2 ms), so under 256 clients shedding itself saturated the
worker and 503s took seconds to leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import bentoml

from serving.errors import single_error
from serving.guards.headers import PAGE_CSP, SECURITY_HEADERS
from serving.guards.paths import FREE_PATHS, FREE_PREFIXES

WAITING_PER_SLOT = 2
"""Requests that may wait for a slot, per slot; beyond that the excess is shed at once.
With a slot freeing every ~10 ms (one answer's CPU) two waiters per slot are admitted
within the 50 ms timeout; more would only wait the timeout out and be shed late."""
RETRY_AFTER_S = 1
HOLD_WEIGHT = 0.2
"""Weight of the latest request in the moving average of the slot hold time: about the
last ten requests count, so a batch that held a slot for seconds is forgotten after a
few dozen answers."""


def is_free(path: str) -> bool:
    """Whether a path bypasses admission (probes, metrics, the page and its files)."""
    return path in FREE_PATHS or path.startswith(FREE_PREFIXES)


class AdmissionGate:
    """ASGI: at most ``max_concurrency`` work requests at once in this worker; the rest shed.

    The bound and the timeout come from :class:`serving.settings.ServiceSettings`.

    Every request whose path is not free (:data:`serving.guards.paths.FREE_PATHS` and
    ``FREE_PREFIXES``: probes, metrics, the page, its files, the docs, the catalog)
    takes a slot, whatever its method and whether or not a route serves it: a route
    added later is covered without being listed. With every slot taken a request waits
    at most ``queue_timeout_ms`` for one, and not at all when ``WAITING_PER_SLOT``
    requests per slot already wait or when the measured hold time of a slot says none
    would free in time; then it is answered 503 with ``Retry-After: 1``,
    the service's JSON error body and the security headers, without its body being
    read. With ``close_waited`` (several workers), a request that waited and was served
    has its connection closed after the answer (its client reconnects, possibly to a
    worker with room). Shed requests are counted in ``capacity_shed_requests_total`` (label
    ``endpoint``: the path when it is a work route the service has, else one label).

    The counters are plain integers: the gate runs in the worker's event loop only.
    """

    def __init__(
        self,
        app: Any,
        *,
        max_concurrency: int,
        queue_timeout_ms: float,
        known_paths: frozenset[str] = frozenset(),
        close_waited: bool = False,
    ) -> None:
        self.app = app
        self.limit = int(max_concurrency)
        self.timeout = max(0.0, float(queue_timeout_ms)) / 1000.0
        self.max_waiting = self.limit * WAITING_PER_SLOT
        self.known_paths = known_paths
        self.close_waited = close_waited
        self.in_flight = 0
        self.waiting = 0
        self.shed_total = 0
        self.hold_s = 0.0
        """Moving average of the seconds a request holds its slot (this worker's)."""
        self._slots: asyncio.Semaphore | None = None
        self._answers: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def is_full(self) -> bool:
        """Whether a work request arriving now would not get a slot at once."""
        return 0 < self.limit <= self.in_flight

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run a work request in a slot, or answer 503 when none frees within the timeout."""
        if self.limit <= 0 or scope["type"] != "http" or is_free(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created in the worker's event loop, on first use
            self._slots = asyncio.Semaphore(self.limit)
        slots = self._slots
        if slots.locked():
            # Wait only when a slot is likely to free in time: the requests ahead, times
            # the measured time a request holds its slot, shared by the slots. Under a
            # sustained overload that is never, and the excess is told at once instead of
            # after the whole timeout.
            expected = (self.waiting + 1) * self.hold_s / self.limit
            if self.timeout <= 0 or self.waiting >= self.max_waiting or expected > self.timeout:
                await self._shed(scope, send)
                return
            self.waiting += 1
            try:
                await asyncio.wait_for(slots.acquire(), self.timeout)
            except TimeoutError:
                await self._shed(scope, send)
                return
            finally:
                self.waiting -= 1
            # It waited: this worker has more work than slots. Its connection is closed
            # after the answer, so that the client's next request connects anew and may
            # reach a worker with a free slot (an idle worker, asleep in its poll, wins
            # the accept). Without it, keep-alive connections opened in a burst stay
            # wherever the first worker to wake accepted them all: 6 clients measured
            # 2.9 and 0.3 CPU seconds on two workers (tests/service/test_workers.py).
            if self.close_waited:
                send = _closing(send)
        else:
            await slots.acquire()  # free: returns at once, without yielding
        self.in_flight += 1
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            slots.release()
            held = time.perf_counter() - started
            self.hold_s += HOLD_WEIGHT * (held - self.hold_s)

    async def _shed(self, scope: Any, send: Any) -> None:
        path = str(scope["path"])
        label = path if path in self.known_paths else "(other)"
        self.shed_total += 1
        counter = _shed_counter()
        if counter is not None:
            with contextlib.suppress(Exception):
                counter.labels(endpoint=label).inc()
        start, body = self._answer(label, path)
        await send(start)
        await send(body)

    def _answer(self, label: str, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The 503's two ASGI messages, rendered once per route (the path is in the text)."""
        cached = self._answers.get(label)
        if cached is not None:
            return cached
        shown = path if label != "(other)" else "this path"
        doc = single_error(
            None,
            None,
            f"at most {self.limit} requests at once (waited {self.timeout * 1000:g} ms)",
            f"server busy: {shown} was not started within {self.timeout * 1000:g} ms; "
            f"retry after {RETRY_AFTER_S} s",
            503,
        )
        body = bytes(doc.body)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_S).encode()),
            (b"cache-control", b"no-store"),
            *SECURITY_HEADERS,
            (b"content-security-policy", PAGE_CSP.encode()),
        ]
        answer = (
            {"type": "http.response.start", "status": 503, "headers": headers},
            {"type": "http.response.body", "body": body, "more_body": False},
        )
        if len(self._answers) < 64:
            self._answers[label] = answer
        return answer


_CLOSE = (b"connection", b"close")


def _closing(send: Any) -> Any:
    """``send`` with ``Connection: close`` added to the answer's head (HTTP/1.1 ends it)."""

    async def send_closing(message: Any) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            if not any(name.lower() == b"connection" for name, _ in headers):
                headers.append(_CLOSE)
            message = {**message, "headers": headers}
        await send(message)

    return send_closing


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


_FRONTED: list[tuple[Any, Any]] = []
"""``(service, make_gate)`` of every service whose workers' apps are gated (one, in practice)."""


def admit_in_front(service: Any, make_gate: Any) -> None:
    """Make ``make_gate(app)`` the outermost ASGI app of ``service``'s workers.

    A BentoML worker builds its app with ``service.to_asgi()``; middlewares added with
    ``add_asgi_middleware`` run INSIDE BentoML's own (metrics, tracing, access log,
    timeout), which cost more than the refusal itself. ``to_asgi`` of BentoML's service
    class is wrapped once (the class is slotted: an instance cannot carry its own); for
    any service other than ``service`` it is unchanged.
    """
    if any(s is service for s, _ in _FRONTED):
        return
    _FRONTED.append((service, make_gate))
    cls = type(service)
    if getattr(cls.to_asgi, "capacity_front", False):
        return
    original = cls.to_asgi

    def to_asgi(self: Any, is_main: bool = True) -> Any:
        app = original(self, is_main)
        for fronted, gate in _FRONTED:
            if self is fronted:
                return gate(app)
        return app

    to_asgi.capacity_front = True  # type: ignore[attr-defined]
    cls.to_asgi = to_asgi
