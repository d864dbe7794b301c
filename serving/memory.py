"""Give memory freed after a large request back to the operating system.

A 10,000-application batch allocates a few hundred MiB of short-lived Python objects
(the request's JSON, the applications, the answer rows); CPython frees them, but glibc's
allocator keeps the freed pages in the process, so a worker's resident memory stays at
its peak (+120 MiB per worker after one batch in issue 27's benchmark). ``malloc_trim``
returns them. Elsewhere than glibc Linux this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:  # pragma: no cover - no C library found
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # pragma: no cover
        return None


LARGE_REQUEST = 1_000
"""Batches of at least this many applications (or file uploads) are followed by a trim."""

_pending = threading.Lock()


def release_memory() -> bool:
    """Trim the C heap (freed pages back to the system); True if it could be trimmed."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def release_later(delay_s: float = 2.0) -> None:
    """:func:`release_memory` ``delay_s`` from now, once however many ask meanwhile.

    Later, because the answer's objects are freed only once it has been sent; once,
    because a trim walks the whole heap and a burst of batches needs one.
    """
    if not _pending.acquire(blocking=False):
        return  # one is already scheduled

    def run() -> None:
        try:
            release_memory()
        finally:
            _pending.release()

    timer = threading.Timer(delay_s, run)
    timer.daemon = True
    timer.start()
