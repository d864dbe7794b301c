"""The SQLAlchemy engine of the log: SQLite in WAL mode with IMMEDIATE writers, or any URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

from serving.logbook.settings import LogbookSettings

# The execution option read by the SQLite "begin" hook: writers ask for IMMEDIATE so the
# write lock is taken (and waited for, under busy_timeout) before anything is read. A
# deferred transaction that reads and then writes can fail at once with SQLITE_BUSY when
# another process committed in between; the busy handler does not help in that case.
_SQLITE_BEGIN_OPTION = "capacity_sqlite_begin"
_MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def _is_memory_sqlite(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def create_logbook_engine(settings: LogbookSettings) -> Engine:
    """Create the engine for ``settings.url`` (SQLite gets WAL, busy timeout and foreign keys).

    Parameters
    ----------
    settings
        Database URL and SQLite busy timeout.

    Returns
    -------
    sqlalchemy.Engine
        A thread-safe engine; for SQLite its transactions begin with an explicit ``BEGIN``
        (``BEGIN IMMEDIATE`` for the logbook's writes).
    """
    url = make_url(settings.url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, echo=settings.echo, pool_pre_ping=True)

    connect_args: dict[str, Any] = {
        "timeout": settings.busy_timeout_ms / 1000.0,
        # The engine's pool hands connections to whichever thread asks; the logbook never
        # shares one connection between threads at the same time.
        "check_same_thread": False,
    }
    if _is_memory_sqlite(url):
        # One shared connection, otherwise every pooled connection would be a new, empty
        # in-memory database.
        engine = create_engine(
            url, echo=settings.echo, connect_args=connect_args, poolclass=StaticPool
        )
    else:
        engine = create_engine(url, echo=settings.echo, connect_args=connect_args)

    busy_timeout_ms = settings.busy_timeout_ms
    wal_autocheckpoint = settings.wal_autocheckpoint

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, emit BEGIN: the module's legacy mode
        # skips BEGIN before DDL and SELECT, which breaks transactional migrations.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            # WAL lets readers proceed while one worker writes; it is a property of the file
            # and sticks once set. In-memory databases answer "memory" and that is fine.
            cursor.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable across application crashes in WAL mode, and much faster.
            cursor.execute("PRAGMA synchronous = NORMAL")
            # Bounded WAL: checkpoint every N pages (0 = never; close() truncates it anyway).
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(wal_autocheckpoint)}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_SQLITE_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _ensure_sqlite_directory(url: URL) -> None:
    if url.get_backend_name() != "sqlite" or _is_memory_sqlite(url):
        return
    database = url.database or ""
    if database.startswith("file:"):
        # URI filename (sqlite:///file:path?mode=...&uri=true): strip scheme and query.
        database = database[len("file:") :].split("?", 1)[0]
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    # ConfigParser interpolates '%', which URL-encoded passwords contain.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or _is_memory_sqlite(url):
        return None
    database = url.database or ""
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database).expanduser().resolve()
