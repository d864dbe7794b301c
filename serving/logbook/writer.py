"""The write-behind queue: rows written by a background thread, in order, in batches."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from serving.logbook.spool import _Group

_LOG = logging.getLogger("serving.logbook")
_WRITE_BATCH = 1_000  # rows per transaction of the background writer
_LINGER_S = 0.02
"""How long the writer gathers rows before writing them in one go. Short: a SIGKILL loses
what is queued and not yet written (keyed batches excepted, which are durable before the
answer), so the window is kept to a few tens of milliseconds; under load the queue fills
faster than this anyway and rows still share transactions."""
_MAX_PENDING = 50_000  # beyond this, record(defer=True) writes in the caller (back-pressure)


class _WriteBehind:
    """Rows of ``recommendations`` written by a background thread, in order, in batches.

    :meth:`put` only appends to a list; the thread writes what has accumulated in one
    transaction (a group of rows put together, e.g. one batch, is never split between
    transactions). :meth:`flush` writes everything put so far *in the calling thread*
    before it returns (batches are taken under one lock, so once it returns every row put
    before the call is in the database, or in the spool if the database refused it). The
    thread also runs ``tick`` every ``tick_s`` seconds (replay, file checks, pruning).
    """

    def __init__(
        self,
        write: Callable[[list[_Group]], None],
        failed: Callable[[list[_Group], BaseException], None],
        tick: Callable[[], None],
        tick_s: float,
        nudged: Callable[[], None] | None = None,
    ) -> None:
        self._write = write
        self._failed = failed
        self._tick = tick
        self._tick_s = tick_s
        self._nudged = nudged
        self._nudge = False
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self.drain_lock = threading.RLock()  # one batch in flight at a time, in order
        self._pending: list[_Group] = []
        self._pending_rows = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="logbook-writer", daemon=True
                )
                self._thread.start()

    def put(
        self,
        values: list[dict[str, Any]],
        request: dict[str, Any] | None = None,
        *,
        wake: bool = True,
    ) -> None:
        """Queue rows for writing (never blocks on the database unless far behind).

        ``wake=False``: the caller writes the queue itself right away (:meth:`flush`), so
        the writer thread is not woken for these rows; it would only contend with the
        caller for the GIL and find nothing left after its linger.
        """
        self.start()
        with self._lock:
            self._pending.append((values, request))
            self._pending_rows += len(values)
            backlog = self._pending_rows
            if backlog >= _WRITE_BATCH or (wake and backlog == len(values)):
                self._wake.notify()  # otherwise the writer is awake or lingering already
        if backlog > _MAX_PENDING:
            self.flush()  # the database cannot keep up: the caller helps (back-pressure)

    def nudge(self) -> None:
        """Have the thread run ``nudged`` soon (after writing what is queued), not here.

        For work that must not run in the caller, e.g. a SQLite checkpoint after a request
        thread's commit (see :meth:`serving.logbook.store.Logbook._checkpoint_soon`).
        """
        if self._nudged is None:
            return
        self.start()
        with self._lock:
            self._nudge = True
            self._wake.notify()

    def pending(self) -> int:
        """Rows queued and not yet taken by a write."""
        with self._lock:
            return self._pending_rows

    def flush(self) -> None:
        """Write every row queued so far before returning (in this thread)."""
        while self._drain_once():
            pass

    def _drain_once(self) -> bool:
        with self.drain_lock:
            with self._lock:
                batch: list[_Group] = []
                rows = 0
                while self._pending and (
                    not batch or rows + len(self._pending[0][0]) <= _WRITE_BATCH
                ):
                    group = self._pending.pop(0)
                    batch.append(group)
                    rows += len(group[0])
                self._pending_rows -= rows
            if not batch:
                return False
            try:
                self._write(batch)
            except Exception as exc:
                self._failed(batch, exc)
            return True

    def _run(self) -> None:
        next_tick = time.monotonic()
        while True:
            with self._lock:
                if not self._pending and not self._stopping and not self._nudge:
                    self._wake.wait(max(0.0, next_tick - time.monotonic()))
                if self._stopping and not self._pending:
                    return
                nudged, self._nudge = self._nudge, False
                if self._pending:
                    # Let a few more rows arrive: one transaction for many rows costs the
                    # request threads (GIL, CPU) far less than one per row. Readers do not
                    # wait for this: they flush themselves.
                    deadline = time.monotonic() + _LINGER_S
                    while not self._stopping and self._pending_rows < _WRITE_BATCH:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._wake.wait(left)
            self.flush()
            if nudged and self._nudged is not None:
                try:
                    self._nudged()
                except Exception:
                    _LOG.exception("recommendation log: background work failed")
            if time.monotonic() >= next_tick:
                try:
                    self._tick()
                except Exception:
                    _LOG.exception("recommendation log: maintenance failed")
                next_tick = time.monotonic() + self._tick_s

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
            thread = self._thread
        self.flush()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10.0)
