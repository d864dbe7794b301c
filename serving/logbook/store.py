"""The recommendation log and the outcomes recorded against it (a real database).

Every recommendation the service gives is logged in ``recommendations`` with the request,
the answer and the figures the pilot needs (recommended, engineering and status-quo
capacity, predicted peak). When the connection is energised and a year of metering is in,
the granted capacity and the metered peak are recorded in ``outcomes``; the pilot statistics
(:mod:`training.pilot`) read both back through :func:`training.pilot.log_frame.joined_frame`.

The schema is owned by Alembic (``serving/migrations``); :meth:`Logbook.open` upgrades the
database to the latest revision, so an empty database is usable at once and an existing one
is migrated in place. SQLite (the default) runs in WAL mode with a busy timeout and takes
the write lock up front (``BEGIN IMMEDIATE``) so several server workers can write to one file;
any other SQLAlchemy URL (e.g. PostgreSQL) is set with ``CAPACITY_LOG_DB_URL``.

This module is the runtime's store (writer, spool, replay, health, retention); the offline
work on the log lives on the training side: the outcome-CSV import
(:mod:`training.pilot.outcomes_import`) and the analytic read of the pilot
(:mod:`training.pilot.log_frame`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Connection,
    Engine,
    delete,
    exists,
    func,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from features.schemas import Application
from serving.logbook.engine import (
    _SQLITE_BEGIN_OPTION,
    _alembic_config,
    _ensure_sqlite_directory,
    _sqlite_file,
    create_logbook_engine,
)
from serving.logbook.records import (
    LoggedOutcome,
    LoggedRecommendation,
    LogUnavailableError,
    OutcomeConflictError,
    RecommendationEntry,
    StoredBatch,
    UnknownRecommendationError,
    _choice,
    _entry_to_row,
    _latest_outcome,
    _positive,
    _same_outcome,
    _text,
)
from serving.logbook.schema import (
    _BATCH,
    _OUT,
    _REC,
    OUTCOME_SOURCES,
    OutcomeSource,
    RecommendationSource,
    require_aware,
)
from serving.logbook.settings import LogbookSettings
from serving.logbook.spool import (
    _Group,
    _Metrics,
    _Spool,
    _spool_default,
    _spool_paths,
    public_error,
)
from serving.logbook.writer import _WriteBehind

_LOG = logging.getLogger("serving.logbook")
# SQLite allows 32,766 bound parameters per statement (999 before 3.32); stay well below.
_ID_CHUNK = 500
SIBLING_WAIT_S = 1.0
"""How long :meth:`Logbook.record_outcome` looks again for an id it does not find: with
several API workers, ``/feedback`` may reach a worker other than the one that issued the
id, whose writer thread commits it within milliseconds of the answer (1 s covers a busy
machine). An id unknown after that is refused (404)."""
_PG_MIGRATION_LOCK_KEY = 7_352_011  # arbitrary constant shared by all workers
CHECKPOINT_EVERY_S = 0.2
"""How often, at most, the writer thread checkpoints a SQLite WAL that was written to.

SQLite's own auto-checkpoint runs in the connection whose commit crosses
``wal_autocheckpoint`` pages: a request thread settling its answer (every ~70 single
answers of 30 lines at 1,000 pages), which then copied 4 MB and synced the file before
answering, 9 ms where a commit takes 0.6 (issue 27: those answers made /recommend's p99).
Checkpointed here in the background (at a quarter of that size by the rows' text, or five
times a second), the WAL stays below the auto-checkpoint size (kept as the bound should
the writer fall behind), and the answer's own commit is what it waits for: its row is in
the WAL, which a kill -9 leaves intact."""
_PAGE_BYTES = 4096
"""SQLite's default page size: the rows' text over it estimates the pages a write adds."""
_PAGES_PER_ROW = 6
"""Pages a row adds besides its text's overflow pages (table and four index b-trees)."""
_INSERT_RECOMMENDATIONS = insert(_REC)
"""Built once: every answer's write executes it (SQLAlchemy then finds it compiled)."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _flush_at_exit(ref: weakref.ReferenceType[Logbook]) -> None:
    book = ref()
    if book is not None:
        with contextlib.suppress(Exception):
            book.close()


class Logbook:
    """Read and write the recommendation log.

    Open it with :meth:`Logbook.open` (which migrates the schema), use it from any number
    of threads, and :meth:`close` it on shutdown (or use it as a context manager). Each
    worker process of a server opens its own Logbook; SQLite writes from several processes
    are serialised by the database lock, waited for up to ``busy_timeout_ms``.

    The log never loses a row it issued an id for: when the database refuses a write
    (disk full, read-only, file or directory gone, unreachable server) the rows go to a
    durable spool (:class:`_Spool`), :meth:`health` reports ``degraded`` and the writer
    thread retries every ``retry_seconds``, replaying the spool (same ids, rows already
    present skipped) once the database takes writes again. A SQLite file deleted while
    open is noticed before and after every write; its contents are rescued from a
    connection that still has it open (``VACUUM INTO``), the schema is recreated if that
    fails, and the spool is replayed.
    """

    def __init__(self, engine: Engine, settings: LogbookSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._is_sqlite = engine.dialect.name == "sqlite"
        # Within one process, queue writers here rather than in SQLite's busy loop, which
        # polls with sleeps; PostgreSQL handles concurrent writers itself.
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self._is_sqlite else contextlib.nullcontext()
        )
        self._db_file = _sqlite_file(engine.url)
        self._db_ident: tuple[int, int] | None = None
        self._keeper: sqlite3.Connection | None = None
        self._recover_lock = threading.RLock()
        self._state_lock = threading.Lock()
        self._needs_upgrade = False
        self._failing = False
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._last_replay_at: datetime | None = None
        self._replayed = 0
        self._recreated = 0
        self._next_prune = 0.0
        self._closed = False
        # Ids whose rows could be neither written nor spooled (bounded; oldest dropped):
        # settle() tells the answer so, instead of handing out an id with no row.
        self._unrecorded: dict[str, None] = {}
        self._unrecorded_total = 0
        self._spool_error: str | None = None
        self._spool = _Spool(_spool_paths(engine.url, settings.spool_dir))
        self._metrics = _Metrics.get()
        # Background checkpoints of a SQLite file (see CHECKPOINT_EVERY_S); 0 pages: none.
        self._checkpoints = (
            self._is_sqlite and self._db_file is not None and settings.wal_autocheckpoint > 0
        )
        self._last_checkpoint = time.monotonic()
        self._checkpoint_asked = False
        self._pages_since_checkpoint = 0
        self._checkpoint_pages = max(1, settings.wal_autocheckpoint // 4)
        self._queue = _WriteBehind(
            self._insert_groups,
            self._spool_failed,
            self._maintain,
            settings.retry_seconds,
            nudged=self._checkpoint_passive if self._checkpoints else None,
        )
        self._update_gauge()
        # A process that exits without close() still writes what is queued.
        atexit.register(_flush_at_exit, weakref.ref(self))

    # -- lifecycle ------------------------------------------------------------------

    @classmethod
    def open(
        cls, settings: LogbookSettings | None = None, *, tolerate_unavailable: bool = False
    ) -> Logbook:
        """Connect to the database and upgrade its schema to the latest revision.

        Parameters
        ----------
        settings
            Database settings; read from the environment (``CAPACITY_LOG_DB_URL``) when None.
        tolerate_unavailable
            When the database cannot be reached or migrated now, return a degraded logbook
            anyway (rows are spooled, the migration is retried) instead of raising. A
            server uses this so that a failing log never takes the answers down.

        Returns
        -------
        Logbook
            An open logbook. For a SQLite file its directory is created if missing. A
            spool left by an earlier run is replayed (in the background).
        """
        settings = settings if settings is not None else LogbookSettings()
        url = make_url(settings.url)
        engine = create_logbook_engine(settings)
        logbook = cls(engine, settings)
        try:
            _ensure_sqlite_directory(url)
            logbook.upgrade()
            logbook._remember_file()
        except Exception as exc:
            if not tolerate_unavailable:
                logbook._queue.close()
                engine.dispose()
                logbook._closed = True
                raise
            logbook._needs_upgrade = True
            logbook._note_failure(exc)
            _LOG.error("recommendation log: database unavailable at start (%s)", exc)
        logbook.probe_spool()  # storage checked now, not when the database first fails
        logbook._queue.start()  # replays a spool left by an earlier run, then retries
        return logbook

    def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations up to ``revision`` (idempotent).

        The migration runs in one transaction that holds the write lock (SQLite) or an
        advisory lock (PostgreSQL), so workers starting together migrate once, in turn.
        """
        from alembic import command

        config = _alembic_config(self._settings.url)
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY}
                )
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        self._needs_upgrade = False

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        from alembic.runtime.migration import MigrationContext

        with self._engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def close(self) -> None:
        """Write the queued rows, truncate the SQLite WAL, release the connections.

        The spool is replayed first if the database takes writes. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        self._queue.close()
        if self._spool.backlog:
            with contextlib.suppress(Exception):
                self._replay()
        self._checkpoint()
        self._close_keeper()
        self._engine.dispose()

    def _checkpoint_soon(self, groups: list[_Group]) -> None:
        """Ask the writer thread for a checkpoint once enough was written since the last.

        Enough: a quarter of ``wal_autocheckpoint`` pages by the rows' text (characters,
        an under-estimate for Chinese text, hence the quarter), or CHECKPOINT_EVERY_S.
        """
        for rows, _ in groups:
            for row in rows:
                text = len(row.get("request_json") or "") + len(row.get("response_json") or "")
                self._pages_since_checkpoint += text // _PAGE_BYTES + _PAGES_PER_ROW
        if self._checkpoint_asked:
            return
        if (
            self._pages_since_checkpoint >= self._checkpoint_pages
            or time.monotonic() - self._last_checkpoint >= CHECKPOINT_EVERY_S
        ):
            self._checkpoint_asked = True
            self._queue.nudge()

    def _checkpoint_passive(self) -> None:
        """Copy the WAL into the database file without blocking writers (writer thread).

        PASSIVE: it never waits for a lock, and commits of other threads and processes go
        on meanwhile (SQLite lets go of the GIL while it copies); the next write restarts
        a fully copied WAL from its beginning.
        """
        self._pages_since_checkpoint = 0
        try:
            if self._closed or not self._file_ok():
                return  # a deleted file is the next write's to notice and recover
            self._wal_checkpoint("PASSIVE")
        finally:
            # When it ended: the next one is asked for from here on.
            self._last_checkpoint = time.monotonic()
            self._checkpoint_asked = False

    def _wal_checkpoint(self, mode: str) -> None:
        """``PRAGMA wal_checkpoint(mode)`` on a pooled connection, its cursor closed at once."""
        raw = self._engine.raw_connection()
        try:
            cursor = raw.driver_connection.execute(f"PRAGMA wal_checkpoint({mode})")  # type: ignore[union-attr]
            cursor.fetchall()
            cursor.close()
        finally:
            raw.close()

    def _checkpoint(self) -> None:
        if not self._is_sqlite or self._db_file is None:
            return
        try:
            self._ensure_file()
            self._wal_checkpoint("TRUNCATE")
        except Exception as exc:
            _LOG.warning("recommendation log: WAL checkpoint at close failed: %s", exc)

    def flush(self) -> None:
        """Write every recommendation queued by ``record(..., defer=True)`` so far.

        Every read of the log calls it first, so a just-issued id is always found. Rows
        the database refuses are spooled (never raised); when the spool holds rows and the
        database takes writes, they are replayed first.
        """
        self._queue.flush()
        if self._spool.backlog or self._needs_upgrade:
            with contextlib.suppress(Exception):
                self._replay()

    def settle(self, ids: Sequence[str | None]) -> list[bool]:
        """Write the queue now (in this thread); per id, whether its row is durable.

        True: the row is in the database or in the fsynced spool. False: neither took it
        (the database and every spool location refused: storage read-only or full); the
        caller must not hand the id out as recorded. Concurrent callers share one
        transaction (group commit): a row another thread's flush took is written when
        this returns.
        """
        self._queue.flush()
        with self._state_lock:
            lost = self._unrecorded
            return [rid is not None and rid not in lost for rid in ids]

    def probe_spool(self) -> str | None:
        """Check now that a spool location takes writes; the problem (also in health) or None."""
        error = self._spool.probe()
        with self._state_lock:
            self._spool_error = error
        if error is not None:
            _LOG.error("recommendation log: %s", error)
        return error

    @property
    def spool_error(self) -> str | None:
        """Why no spool location takes writes (checked at start and every retry), or None."""
        with self._state_lock:
            return self._spool_error

    @property
    def pending(self) -> int:
        """Recommendations queued and not yet written."""
        return self._queue.pending()

    @property
    def spool_path(self) -> Path:
        """The JSON-lines file that receives rows the database refused."""
        return self._spool.path

    def health(self) -> dict[str, Any]:
        """The log's state for ``/readyz``.

        ``state`` is ``ok``, or ``degraded`` while rows are spooled or the database refuses
        writes; with counts, the last error (no absolute paths) and times.
        """
        missing = self._db_file is not None and self._db_ident is not None and not self._file_ok()
        pending = self._queue.pending()
        with self._state_lock:
            degraded = (
                self._failing
                or self._needs_upgrade
                or self._spool.backlog > 0
                or missing
                or pending > 0
            )
            last_error = self._last_error
            if missing and not self._failing:
                last_error = "database file missing or replaced (being recreated)"
            # failing: nothing can be recorded now (no writable spool); answers say so.
            state = "failing" if self._spool_error else ("degraded" if degraded else "ok")
            return {
                "state": state,
                "spool_error": self._spool_error,
                "unrecorded_rows_total": self._unrecorded_total,
                "spooled_rows": self._spool.backlog,
                "spooled_rows_total": self._spool.total,
                "replayed_rows_total": self._replayed,
                "pending_rows": pending,
                "database_recreated": self._recreated,
                "last_error": last_error,
                "last_error_at": _iso(self._last_error_at),
                "last_replay_at": _iso(self._last_replay_at),
                "retention_days": self._settings.retention_days,
                "spool_file": self._spool.path.name,
            }

    def __enter__(self) -> Logbook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        shown = self._engine.url.render_as_string(hide_password=True)
        return f"Logbook({shown!r})"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for health checks and ad-hoc queries).

        Queued recommendations are written first, so a query sees every issued id.
        """
        self.flush()
        self._ensure_file_quietly()
        return self._engine

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
            with self._state_lock:
                self._spool_error = "no writable spool: the last append failed"
                for rows, _ in groups:
                    self._unrecorded_total += len(rows)
                    for row in rows:
                        self._unrecorded[str(row.get("id"))] = None
                while len(self._unrecorded) > 100_000:
                    self._unrecorded.pop(next(iter(self._unrecorded)))
            for rows, _ in groups:
                for row in rows:
                    _LOG.error(
                        "unwritten recommendation: %s", json.dumps(row, default=_spool_default)
                    )
            return
        with self._state_lock:
            self._spool_error = None
        if self._metrics is not None:
            self._metrics.spooled.inc(n)
        self._update_gauge()

    def _maintain(self) -> None:
        """The writer thread's periodic work: file check, replay, retention."""
        if self._closed:
            return
        if self._spool_error is not None or self._failing:
            # The spool is needed (the database refuses) or known broken: is it usable now?
            # (Not while all is well: the probe writes beside the database file.)
            self.probe_spool()
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
            # The cursor closed at once: left to the statement cache, the served process's
            # WAL was never started over after a checkpoint (issue-27 measurement: frames
            # 281, 575, 869 between checkpoints; closed, 280 each time). Not reproduced
            # outside the service: kept because it costs nothing.
            cursor = keeper.execute("PRAGMA schema_version")
            cursor.fetchall()
            cursor.close()
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

    # -- writing ---------------------------------------------------------------------

    def _insert_rows(self, values: list[dict[str, Any]]) -> None:
        self._insert_groups([(values, None)])

    def _insert_groups(self, groups: list[_Group]) -> None:
        """Write groups in one transaction (the writer's path); raise if refused.

        The SQLite file is checked before and after: rows committed to a file that was
        deleted meanwhile are reported as failed, so they are spooled and replayed.
        """
        if self._needs_upgrade:
            raise LogUnavailableError("the database schema could not be created yet")
        self._ensure_file()
        with self._write() as conn:
            for rows, request in groups:
                if rows:
                    # Core executemany: one prepared statement for all rows, no ORM work.
                    conn.execute(_INSERT_RECOMMENDATIONS, rows)
                if request is not None:
                    self._insert_request(conn, request)
        if not self._file_ok():
            raise LogUnavailableError("the database file was deleted during the write")
        self._note_success()
        if self._checkpoints:
            self._checkpoint_soon(groups)
        if self._spool.backlog:
            # The database takes writes again: replay now rather than at the next tick.
            with contextlib.suppress(Exception):
                self._replay()

    def _insert_groups_idempotent(self, groups: list[_Group]) -> None:
        """Write groups in one transaction, skipping ids and keys already present."""
        with self._write() as conn:
            for rows, request in groups:
                ids = [r["id"] for r in rows]
                present: set[str] = set()
                for start in range(0, len(ids), _ID_CHUNK):
                    chunk = ids[start : start + _ID_CHUNK]
                    present.update(
                        conn.execute(select(_REC.c.id).where(_REC.c.id.in_(chunk))).scalars()
                    )
                missing = [r for r in rows if r["id"] not in present]
                if missing:
                    conn.execute(_INSERT_RECOMMENDATIONS, missing)
                if request is not None:
                    self._insert_request(conn, request)
        if not self._file_ok():
            raise LogUnavailableError("the database file was deleted during the replay")

    @staticmethod
    def _insert_request(conn: Connection, request: dict[str, Any]) -> None:
        # A concurrent request with the same key may have stored it first: its rows are
        # kept (their ids were issued), the key stays with the first batch.
        found = conn.execute(select(_BATCH.c.key).where(_BATCH.c.key == request["key"])).first()
        if found is None:
            conn.execute(insert(_BATCH), request)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, self._engine.connect() as conn:
            conn.execution_options(**{_SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn

    def reading(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for reading, after every queued row is written.

        For readers outside the store (:func:`training.pilot.log_frame.joined_frame`).
        Raises LogUnavailableError if the database cannot be read now.
        """
        return self._read()

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection for reading, after the queue is written.

        Raises LogUnavailableError if the database cannot be read now.
        """
        self.flush()
        try:
            self._ensure_file()
            with self._engine.connect() as conn:
                yield conn
        except (LogUnavailableError, UnknownRecommendationError, OutcomeConflictError):
            raise
        except (OperationalError, DBAPIError, OSError) as exc:
            self._note_failure(exc)
            raise LogUnavailableError(
                f"recommendation log unavailable: {public_error(exc)}"
            ) from exc

    def _unavailable_if_spooled(self, needle: str) -> None:
        if self._spool.backlog and self._spool.contains(json.dumps(needle)):
            raise LogUnavailableError(
                f"recommendation {needle} is logged but not yet in the database (the log is "
                f"degraded); retry in a few seconds"
            )

    # -- retention --------------------------------------------------------------------

    def prune(self, older_than_days: float | None = None) -> int:
        """Delete old recommendations that have no outcome; the number removed.

        Older than ``older_than_days`` (default: the setting); batch keys as old go too.
        A recommendation with an outcome is never removed.
        """
        days = self._settings.retention_days if older_than_days is None else older_than_days
        if days is None:
            return 0
        cutoff = datetime.now(UTC) - timedelta(days=float(days))
        self.flush()
        self._ensure_file()
        with self._write() as conn:
            has_outcome = exists().where(_OUT.c.recommendation_id == _REC.c.id)
            result = conn.execute(delete(_REC).where(_REC.c.created_at < cutoff, ~has_outcome))
            conn.execute(delete(_BATCH).where(_BATCH.c.created_at < cutoff))
            return int(result.rowcount or 0)

    # -- keyed batches ----------------------------------------------------------------

    def find_batch(self, key: str) -> StoredBatch | None:
        """The batch stored under an idempotency key (database, else spool), or None.

        Raises LogUnavailableError when the database cannot be read and the spool does
        not have it either (the caller may then serve the batch afresh).
        """
        found = self._spool.find_batch(key) if self._spool.backlog else None
        if found is not None:
            return found
        with self._read() as conn:
            row = conn.execute(select(_BATCH).where(_BATCH.c.key == key)).mappings().first()
        if row is None:
            return self._spool.find_batch(key)
        return StoredBatch(
            row["key"], row["body_sha256"], row["batch_id"], tuple(json.loads(row["ids_json"]))
        )

    def batch_responses(self, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """The logged answers of ``ids``, in that order (None for an id not found).

        Each is ``response_json`` parsed, with ``model_version`` added if missing.
        """
        found: dict[str, dict[str, Any]] = {}
        with self._read() as conn:
            for start in range(0, len(ids), _ID_CHUNK):
                chunk = list(ids[start : start + _ID_CHUNK])
                for rid, response, version in conn.execute(
                    select(_REC.c.id, _REC.c.response_json, _REC.c.model_version).where(
                        _REC.c.id.in_(chunk)
                    )
                ):
                    doc = json.loads(response)
                    if isinstance(doc, dict):
                        doc.setdefault("model_version", version)
                        found[rid] = doc
        return [found.get(rid) for rid in ids]

    # -- recommendations --------------------------------------------------------------

    def record(
        self,
        application: Application | Mapping[str, Any] | str,
        response: BaseModel | Mapping[str, Any] | str,
        *,
        source: RecommendationSource,
        model_version: str,
        recommended_kva: float,
        predicted_peak_kw: float,
        engineering_kva: float | None = None,
        status_quo_kva: float | None = None,
        industry: str | None = None,
        batch_id: str | None = None,
        created_at: datetime | None = None,
        defer: bool = False,
    ) -> str:
        """Log one recommendation.

        Parameters
        ----------
        application, response
            The request and the answer (pydantic model, dict or JSON text).
        source
            ``'api'``, ``'batch'``, ``'web'`` or ``'cli'``.
        model_version
            Version of the model that answered.
        recommended_kva, predicted_peak_kw
            Recommended standard capacity and predicted peak (both > 0).
        engineering_kva, status_quo_kva
            Demand-coefficient capacity and the applicant's own proposal, when known (> 0).
        industry
            Industry code; taken from ``application`` when None.
        batch_id
            Batch run the recommendation belongs to.
        created_at
            Timezone-aware timestamp; now (UTC) when None.
        defer
            Validate and issue the id now, write in the background (see
            :meth:`record_many`).

        Returns
        -------
        str
            The new recommendation id (uuid4 hex).

        Raises
        ------
        ValueError
            A field is missing or out of range; the message names it and the value received.
        """
        entry = RecommendationEntry(
            application=application,
            response=response,
            source=source,
            model_version=model_version,
            recommended_kva=recommended_kva,
            predicted_peak_kw=predicted_peak_kw,
            engineering_kva=engineering_kva,
            status_quo_kva=status_quo_kva,
            industry=industry,
            batch_id=batch_id,
            created_at=created_at,
        )
        return self.record_many([entry], defer=defer)[0]

    def record_many(
        self,
        rows: Iterable[RecommendationEntry | Mapping[str, Any]],
        *,
        defer: bool = False,
        idempotency_key: str | None = None,
        body_sha256: str | None = None,
        settling: bool = False,
    ) -> list[str]:
        """Log many recommendations in one transaction (all or none).

        Parameters
        ----------
        rows
            :class:`RecommendationEntry` objects, or mappings with the same keys.
        defer
            Validate the rows and issue their ids now, but leave the database write to the
            logbook's background writer (the request path does not wait for it). Every
            read of this logbook (:meth:`get`, :meth:`count`, :meth:`record_outcome`,
            :meth:`record_outcomes`, :meth:`reading`, :attr:`engine`) writes the
            queue first, so a returned id is always found; :meth:`close` and interpreter
            exit write what is left. Rows the database refuses are appended (fsynced) to
            :attr:`spool_path`, replayed when it takes writes again, and the error is logged.
            The rows of one call are always written in one transaction.
        settling
            With ``defer``: the caller calls :meth:`settle` right after, so the writer
            thread is not woken for these rows (the caller writes them itself).
        idempotency_key, body_sha256
            Store the key with the batch (in the same transaction as its rows): a later
            :meth:`find_batch` returns the ids. All rows must share one ``batch_id``.

        Returns
        -------
        list of str
            The new ids, in the order of ``rows``.

        Raises
        ------
        ValueError
            A row is invalid; the message gives its position. Nothing is written then.
        """
        now = datetime.now(UTC)
        values: list[dict[str, Any]] = []
        for position, row in enumerate(rows):
            try:
                entry = row if isinstance(row, RecommendationEntry) else RecommendationEntry(**row)
                values.append(_entry_to_row(entry, now))
            except TypeError as exc:
                raise ValueError(
                    f"recommendation row {position}: {exc}; expected the fields of "
                    f"RecommendationEntry"
                ) from exc
            except ValueError as exc:
                raise ValueError(f"recommendation row {position}: {exc}") from exc
        if not values:
            return []
        request: dict[str, Any] | None = None
        if idempotency_key is not None:
            batch_ids = {v["batch_id"] for v in values}
            if len(batch_ids) != 1 or None in batch_ids:
                raise ValueError(
                    f"a keyed batch needs one batch_id on every row; received {len(batch_ids)}"
                )
            request = {
                "key": _text("idempotency_key", idempotency_key, 128),
                "body_sha256": _text("body_sha256", body_sha256, 64),
                "batch_id": batch_ids.pop(),
                "created_at": now,
                "n_rows": len(values),
                "ids_json": json.dumps([v["id"] for v in values]),
            }
        if defer:
            self._queue.put(values, request, wake=not settling)
        else:
            self._insert_groups([(values, request)])
        return [v["id"] for v in values]

    def get(self, recommendation_id: str) -> LoggedRecommendation | None:
        """The recommendation with this id and its outcomes, or None if it is not logged.

        Raises LogUnavailableError when the database cannot be read, or the id is spooled
        and not yet replayed (the log is degraded: retry).
        """
        with self._read() as conn:
            rec = (
                conn.execute(select(_REC).where(_REC.c.id == recommendation_id)).mappings().first()
            )
            if rec is None:
                self._unavailable_if_spooled(recommendation_id)
                return None
            outcomes = conn.execute(
                select(_OUT)
                .where(_OUT.c.recommendation_id == recommendation_id)
                .order_by(_OUT.c.recorded_at, _OUT.c.id)
            ).mappings()
            logged = tuple(LoggedOutcome(**dict(o)) for o in outcomes)
        return LoggedRecommendation(**dict(rec), outcomes=logged)

    def count(self) -> int:
        """Number of logged recommendations in the database (:meth:`health`: spooled)."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(_REC)).scalar_one())

    # -- outcomes -------------------------------------------------------------------

    def record_outcome(
        self,
        recommendation_id: str,
        granted_kva: float,
        metered_peak_kw: float,
        source: OutcomeSource,
        note: str | None = None,
        *,
        recorded_at: datetime | None = None,
        replace: bool = False,
    ) -> int:
        """Record the granted capacity and metered peak for a logged recommendation.

        Idempotent per recommendation: when it already has an outcome with the same
        ``granted_kva``, ``metered_peak_kw`` and ``note``, nothing is written and that
        outcome's id is returned; other values raise :class:`OutcomeConflictError` unless
        ``replace`` (then a new outcome is added, and the latest one wins).

        Parameters
        ----------
        recommendation_id
            Id returned by :meth:`record`.
        granted_kva
            Capacity actually granted (> 0).
        metered_peak_kw
            Metered 12-month peak (> 0).
        source
            ``'api'`` or ``'import'``.
        note
            Free text.
        recorded_at
            Timezone-aware timestamp; now (UTC) when None. The latest one wins in
            :func:`training.pilot.log_frame.joined_frame`.

        Returns
        -------
        int
            The outcome id.

        Raises
        ------
        UnknownRecommendationError
            No recommendation has this id.
        OutcomeConflictError
            It has an outcome with other values (and not ``replace``).
        LogUnavailableError
            The database cannot be written now, or the id is still spooled: retry.
        ValueError
            A number is not positive or ``source`` is not allowed.
        """
        if note is not None and not isinstance(note, str):
            raise ValueError(f"note must be a string or None; received {type(note).__name__}")
        values = {
            "recommendation_id": recommendation_id,
            "granted_kva": _positive("granted_kva", granted_kva),
            "metered_peak_kw": _positive("metered_peak_kw", metered_peak_kw),
            "source": _choice("source", source, OUTCOME_SOURCES),
            "note": note,
            "recorded_at": (
                datetime.now(UTC)
                if recorded_at is None
                else require_aware("recorded_at", recorded_at)
            ),
        }
        self.flush()  # the id may still be queued (or spooled)
        # Another worker of the service may have issued the id a moment ago and still hold
        # it in its own write-behind queue: look again for a moment before refusing it.
        deadline = time.monotonic() + SIBLING_WAIT_S
        while True:
            try:
                return self._record_outcome_once(recommendation_id, values, replace)
            except UnknownRecommendationError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _record_outcome_once(
        self, recommendation_id: str, values: dict[str, Any], replace: bool
    ) -> int:
        try:
            self._ensure_file()
            with self._write() as conn:
                found = conn.execute(
                    select(_REC.c.id).where(_REC.c.id == recommendation_id)
                ).first()
                if found is None:
                    self._unavailable_if_spooled(recommendation_id)
                    raise UnknownRecommendationError(recommendation_id)
                if not replace:
                    existing = _latest_outcome(conn, recommendation_id)
                    if existing is not None:
                        if _same_outcome(existing, values):
                            return existing.id
                        raise OutcomeConflictError(recommendation_id, existing)
                result = conn.execute(insert(_OUT).returning(_OUT.c.id), values)
                return int(result.scalar_one())
        except (OperationalError, DBAPIError, OSError) as exc:
            self._note_failure(exc)
            raise LogUnavailableError(
                f"recommendation log unavailable: {public_error(exc)}"
            ) from exc

    def record_outcomes(
        self, outcomes: Sequence[Mapping[str, Any]], source: OutcomeSource = "import"
    ) -> list[int | str]:
        """Record many outcomes in one transaction; for each, its id or why it was not recorded.

        The batch form of :meth:`record_outcome` (same idempotency: a repeat of the latest
        outcome is its id, other values are refused), used by the outcome-CSV import
        (:func:`training.pilot.outcomes_import.import_outcomes`).

        Parameters
        ----------
        outcomes
            Mappings with ``recommendation_id``, ``granted_kva``, ``metered_peak_kw`` and
            ``note`` (None or text), already checked against the contract.
        source
            ``'api'`` or ``'import'``.

        Returns
        -------
        list of int or str
            In the order of ``outcomes``: the outcome id (new or the existing identical
            one), or the reason the outcome was refused (unknown id, conflicting outcome).

        Raises
        ------
        ValueError
            A number is not positive or ``source`` is not allowed (nothing is written).
        """
        now = datetime.now(UTC)
        values: list[dict[str, Any]] = [
            {
                "recommendation_id": str(o["recommendation_id"]),
                "granted_kva": _positive("granted_kva", o["granted_kva"]),
                "metered_peak_kw": _positive("metered_peak_kw", o["metered_peak_kw"]),
                "note": o.get("note") or None,
                "source": _choice("source", source, OUTCOME_SOURCES),
                "recorded_at": now,
            }
            for o in outcomes
        ]
        if not values:
            return []
        self.flush()  # ids issued a moment ago may still be queued
        self._ensure_file()
        out: list[int | str] = []
        with self._write() as conn:
            wanted = sorted({v["recommendation_id"] for v in values})
            known: set[str] = set()
            for start in range(0, len(wanted), _ID_CHUNK):
                chunk = wanted[start : start + _ID_CHUNK]
                known.update(conn.execute(select(_REC.c.id).where(_REC.c.id.in_(chunk))).scalars())
            # Row by row (RETURNING per row) keeps ids in file order on every backend; an
            # outcome import is a few thousand rows at most.
            for row in values:
                if row["recommendation_id"] not in known:
                    out.append("unknown recommendation id; expected an id from the log")
                    continue
                existing = _latest_outcome(conn, row["recommendation_id"])
                if existing is not None:
                    if _same_outcome(existing, row):
                        out.append(existing.id)
                    else:
                        out.append(
                            f"already has outcome {existing.id} with other values "
                            f"(granted_kva={existing.granted_kva:g}, "
                            f"metered_peak_kw={existing.metered_peak_kw:g}); expected "
                            f"the same values or none"
                        )
                    continue
                result = conn.execute(insert(_OUT).returning(_OUT.c.id), row)
                out.append(int(result.scalar_one()))
        return out
