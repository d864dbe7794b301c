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
import gc
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


def release_memory() -> bool:
    """Collect garbage and trim the C heap; True if the heap could be trimmed."""
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
