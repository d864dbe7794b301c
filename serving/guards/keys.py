"""Back-off after repeated wrong feedback API keys (in memory, per client address)."""

from __future__ import annotations

import math
import threading
import time


class KeyBackoff:
    """Back-off after repeated wrong feedback API keys, per client address (in memory).

    ``limit`` wrong keys within ``window`` seconds block the address for ``base`` seconds,
    each further wrong key after a block doubles it, up to ``cap``; while blocked, every
    feedback request of the address (a right key too) is answered 429 with Retry-After.
    A right key outside a block clears the address's count. Thread-safe (the API runs in
    a thread pool); the table is bounded (stale addresses are dropped first).
    """

    def __init__(
        self, limit: int = 5, window: float = 300.0, base: float = 2.0, cap: float = 60.0
    ) -> None:
        self.limit, self.window, self.base, self.cap = limit, window, base, cap
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, float, float]] = {}  # failures, first, blocked_until

    def blocked_for(self, client: str) -> int:
        """Whole seconds ``client`` must still wait (0: not blocked)."""
        with self._lock:
            state = self._state.get(client)
        if state is None:
            return 0
        left = state[2] - time.monotonic()
        return math.ceil(left) if left > 0 else 0

    def failed(self, client: str) -> None:
        """Count a wrong key; block the address once the limit is reached."""
        now = time.monotonic()
        with self._lock:
            failures, first, _ = self._state.get(client, (0, now, 0.0))
            if now - first > self.window:
                failures, first = 0, now
            failures += 1
            until = 0.0
            if failures >= self.limit:
                until = now + min(self.cap, self.base * 2 ** (failures - self.limit))
            self._state[client] = (failures, first, until)
            if len(self._state) > 10_000:
                stale = [k for k, (_, f, u) in self._state.items() if u < now and now - f > 60]
                for key in stale or list(self._state)[:1000]:
                    self._state.pop(key, None)

    def succeeded(self, client: str) -> None:
        """A right key: the address starts over."""
        with self._lock:
            self._state.pop(client, None)


_KEY_BACKOFF = KeyBackoff()
