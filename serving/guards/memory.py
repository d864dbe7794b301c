"""Memory handed back to the system after large requests (glibc ``malloc_trim``).

A 10,000-application batch or a workbook allocates hundreds of MB of small objects;
freed, they stay in the allocator's arenas and the worker's resident size stays high
(1.28 GB after a fuzz burst, 0.5 GB at start). After a large request (a body of
:data:`LARGE_BODY_BYTES` or more, or a batch or an export), once no other large request
is in flight, the worker collects garbage and trims the heap in a thread, at most once
per :data:`MIN_INTERVAL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import time
from typing import Any

LARGE_BODY_BYTES = 256 * 1024
HEAVY_PATHS = frozenset({"/recommend_batch", "/export/batch", "/export/sheet"})
MIN_INTERVAL_S = 1.0


def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(name).malloc_trim
    return None


_TRIM = _malloc_trim()


def release_memory() -> None:
    """Collect garbage and give freed heap pages back to the system (glibc only)."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)


class MemoryRelease:
    """ASGI middleware: :func:`release_memory` after large requests (see the module)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._large_in_flight = 0
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve the request; afterwards release memory if it was large."""
        if scope["type"] != "http" or not self._large(scope):
            await self.app(scope, receive, send)
            return
        self._large_in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._large_in_flight -= 1
            now = time.monotonic()
            idle = self._large_in_flight == 0 and (self._task is None or self._task.done())
            if idle and now - self._last >= MIN_INTERVAL_S:
                self._last = now
                self._task = asyncio.ensure_future(asyncio.to_thread(release_memory))

    @staticmethod
    def _large(scope: Any) -> bool:
        if scope.get("path") in HEAVY_PATHS:
            return True
        for name, value in scope.get("headers") or []:
            if name == b"content-length":
                with contextlib.suppress(ValueError):
                    return int(value) >= LARGE_BODY_BYTES
        return False
