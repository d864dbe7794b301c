"""The recommendation log's failure path: spool, replay and the SQLite file's recovery.

One job of :class:`serving.logbook.Logbook` (whose state it shares, as a mixin): when the
database refuses a write the rows go to the durable spool (:mod:`serving.logbook.spool`)
and the failure is noted for :meth:`~serving.logbook.Logbook.health`; the writer thread's
periodic work (:meth:`_LogRecovery._maintain`) replays the spool once the database takes
writes again and runs the retention; a SQLite file deleted or replaced while open is
noticed, its contents rescued through a connection that still has it open
(``VACUUM INTO``), or the schema recreated.

Writing lives in :mod:`serving.logbook.store`, reading in :mod:`serving.logbook.queries`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.logbook.engine import _ensure_sqlite_directory
from serving.logbook.spool import _Group, _Metrics, _Spool, _spool_default, public_error

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from serving.logbook.settings import LogbookSettings
    from serving.logbook.writer import _WriteBehind

_LOG = logging.getLogger("serving.logbook")


class _LogRecovery:
    """Spool, replay and SQLite-file recovery of a :class:`~serving.logbook.Logbook`.

    A mixin: the state is created by ``Logbook.__init__`` (declared here for the type
    checker only), so the split changes no attribute and no behaviour.
    """

    if TYPE_CHECKING:
        _engine: Engine
        _settings: LogbookSettings
        _spool: _Spool
        _metrics: _Metrics | None
        _queue: _WriteBehind
        _write_lock: contextlib.AbstractContextManager[Any]
        _state_lock: threading.Lock
        _recover_lock: threading.RLock
        _db_file: Path | None
        _db_ident: tuple[int, int] | None
        _keeper: sqlite3.Connection | None
        _needs_upgrade: bool
        _failing: bool
        _closed: bool
        _last_error: str | None
        _last_error_at: datetime | None
        _last_replay_at: datetime | None
        _replayed: int
        _recreated: int
        _next_prune: float

        def upgrade(self, revision: str = "head") -> None: ...
        def prune(self, older_than_days: float | None = None) -> int: ...
        def _insert_groups_idempotent(self, groups: list[_Group]) -> None: ...

    # -- failure handling -------------------------------------------------------------

    def _note_failure(self, exc: BaseException) -> None:
        with self._state_lock:
            self._failing = True
            self._last_error = public_error(exc)
            self._last_error_at = datetime.now(UTC)

    def _note_success(self) -> None:
        with self._state_lock:
            self._failing = False

    def _update_gauge(self) -> None:
        if self._metrics is not None:
            self._metrics.backlog.set(self._spool.backlog)

    def _spool_failed(self, groups: list[_Group], exc: BaseException) -> None:
        """The writer's failure path: spool the groups (durably), note the error."""
        self._note_failure(exc)
        n = sum(len(rows) for rows, _ in groups)
        _LOG.error(
            "recommendation log: writing %d row(s) failed (%s); spooling them to %s",
            n,
            public_error(exc),
            self._spool.path.name,
        )
        try:
            self._spool.append(groups)
        except Exception:
            # Last resort: the rows go to the error log itself.
            _LOG.exception("recommendation log: spooling failed; unwritten rows follow")
            for rows, _ in groups:
                for row in rows:
                    _LOG.error(
                        "unwritten recommendation: %s", json.dumps(row, default=_spool_default)
                    )
            return
        if self._metrics is not None:
            self._metrics.spooled.inc(n)
        self._update_gauge()

    def _maintain(self) -> None:
        """The writer thread's periodic work: file check, replay, retention."""
        if self._closed:
            return
        if self._needs_upgrade or self._spool.existing() or self._failing:
            try:
                self._replay()
            except Exception as exc:
                self._note_failure(exc)
        else:
            self._ensure_file_quietly()
        if self._settings.retention_days is not None and time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self._settings.prune_seconds
            try:
                removed = self.prune()
                if removed:
                    _LOG.info("recommendation log: pruned %d old recommendation(s)", removed)
            except Exception as exc:
                _LOG.warning("recommendation log: prune failed: %s", public_error(exc))

    def _replay(self) -> int:
        """Replay the spool (all of it, idempotently); raise if the database refuses."""
        with self._queue.drain_lock:
            self._ensure_file()
            if self._needs_upgrade:
                _ensure_sqlite_directory(self._engine.url)
                self.upgrade()
                self._remember_file()
            done = self._spool.replay(self._insert_groups_idempotent)
            self._note_success()
            with self._state_lock:
                self._replayed += done
                if done:
                    self._last_replay_at = datetime.now(UTC)
            if done:
                _LOG.warning("recommendation log: replayed %d spooled row(s)", done)
                if self._metrics is not None:
                    self._metrics.replayed.inc(done)
            self._update_gauge()
            return done

    # -- the SQLite file ---------------------------------------------------------------

    def _stat_ident(self) -> tuple[int, int] | None:
        assert self._db_file is not None
        try:
            st = os.stat(self._db_file)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _file_ok(self) -> bool:
        return self._db_file is None or self._stat_ident() == self._db_ident

    def _remember_file(self) -> None:
        if self._db_file is None:
            return
        self._close_keeper()
        self._db_ident = self._stat_ident()
        try:
            # A connection that keeps the file open: if the file is deleted, its contents
            # can still be read through it and written back (VACUUM INTO).
            keeper = sqlite3.connect(
                str(self._db_file), check_same_thread=False, isolation_level=None
            )
            keeper.execute("PRAGMA schema_version").fetchall()
            self._keeper = keeper
        except sqlite3.Error:
            self._keeper = None

    def _close_keeper(self) -> None:
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            with contextlib.suppress(sqlite3.Error):
                keeper.close()

    def _ensure_file_quietly(self) -> None:
        try:
            self._ensure_file()
        except Exception as exc:
            self._note_failure(exc)

    def _ensure_file(self) -> None:
        """Notice a SQLite file deleted or replaced since it was opened, and recover."""
        if self._db_file is None or self._db_ident is None or self._file_ok():
            return
        with self._recover_lock, self._write_lock:
            if self._file_ok():
                return
            rescued = False
            if self._stat_ident() is None and self._keeper is not None:
                rescued = self._rescue()
            self._engine.dispose()  # pooled connections still point at the old file
            _ensure_sqlite_directory(self._engine.url)
            self.upgrade()  # a new file gets the schema; a rescued or replaced one: no-op
            self._remember_file()
            with self._state_lock:
                self._recreated += 1
            _LOG.error(
                "recommendation log: the database file was deleted or replaced while open; %s",
                "its contents were rescued" if rescued else "a new one was created",
            )

    def _rescue(self) -> bool:
        """Write the deleted file's contents (read through the keeper) back in its place."""
        assert self._db_file is not None and self._keeper is not None
        tmp = self._db_file.with_name(f"{self._db_file.name}.rescue-{os.getpid()}")
        try:
            self._db_file.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            self._keeper.execute("VACUUM INTO ?", (str(tmp),))
            try:
                os.link(tmp, self._db_file)  # fails if another worker put a file back first
            except FileExistsError:
                return False
            return True
        except (sqlite3.Error, OSError) as exc:
            _LOG.error("recommendation log: could not rescue the deleted file: %s", exc)
            return False
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
