"""Give memory freed after a large request back to the operating system.

A 10,000-application batch allocates a few hundred MiB of short-lived Python objects
(the request's JSON, the applications, the answer rows); CPython frees them, but glibc's
allocator keeps the freed pages in the process, so a worker's resident memory stays at
its peak (+120 MiB per worker after one batch in issue 27's benchmark). ``malloc_trim``
returns them. Elsewhere than glibc Linux this does nothing.

The cyclic garbage collector is the other cost of such a batch: its ~1 million live
objects (applications, lines, rows) are allocated faster than they die, so the collector's
generational passes traverse them again and again while nothing of them is garbage (half
of the batch's validation time, issue 27). :func:`collection_paused` suspends automatic
collection while a batch is answered; :func:`freeze_loaded` moves what a worker loaded at
start (modules, catalogs, the model) out of the collector's sight for good.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Iterator
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


_pause_lock = threading.Lock()
_pauses = 0
_resume = False


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Suspend automatic cyclic garbage collection inside the block (nesting, threads).

    Reference counting still frees every object the moment it is dropped; only the
    collector's passes over live objects wait. The first of overlapping blocks (other
    threads' batches) disables it, the last one out restores the state found (a caller that
    had disabled collection keeps it disabled). The memory release after a large batch
    (:mod:`serving.guards.memory`) collects what cycles were left.
    """
    global _pauses, _resume
    with _pause_lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()


def freeze_loaded() -> None:
    """Move every object alive now into the collector's permanent generation.

    Called once a worker has loaded its model: the modules, catalogs and model stay alive
    for the life of the process, and a full collection no longer traverses them.
    """
    gc.collect()
    gc.freeze()
