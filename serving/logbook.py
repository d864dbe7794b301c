"""The recommendation log and the outcomes recorded against it (a real database).

Every recommendation the service gives is logged in ``recommendations`` with the request,
the answer and the figures the pilot needs (recommended, engineering and status-quo
capacity, predicted peak). When the connection is energised and a year of metering is in,
the granted capacity and the metered peak are recorded in ``outcomes``; the pilot statistics
(:mod:`training.pilot`) read both back through :meth:`Logbook.joined_frame`.

The schema is owned by Alembic (``serving/migrations``); :meth:`Logbook.open` upgrades the
database to the latest revision, so an empty database is usable at once and an existing one
is migrated in place. SQLite (the default) runs in WAL mode with a busy timeout and takes
the write lock up front (``BEGIN IMMEDIATE``) so several server workers can write to one file;
any other SQLAlchemy URL (e.g. PostgreSQL) is set with ``CAPACITY_LOG_DB_URL``.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import io
import json
import logging
import math
import os
import re
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from numbers import Real
from pathlib import Path
from typing import Any, Literal, cast, get_args

import pandas as pd
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import (
    CheckConstraint,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from features.schemas import Application

__all__ = [
    "OUTCOME_SOURCES",
    "RECOMMENDATION_SOURCES",
    "Base",
    "ImportResult",
    "ImportRowError",
    "LoggedOutcome",
    "LoggedRecommendation",
    "Logbook",
    "LogbookSettings",
    "OutcomeRow",
    "OutcomeSource",
    "RecommendationEntry",
    "RecommendationRow",
    "RecommendationSource",
    "UnknownRecommendationError",
    "create_logbook_engine",
    "default_database_url",
    "project_root",
]

RecommendationSource = Literal["api", "batch", "web", "cli"]
OutcomeSource = Literal["api", "import"]
RECOMMENDATION_SOURCES: tuple[str, ...] = get_args(RecommendationSource)
OUTCOME_SOURCES: tuple[str, ...] = get_args(OutcomeSource)

JOINED_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "industry",
    "recommended_kva",
    "engineering_kva",
    "status_quo_kva",
    "granted_kva",
    "metered_peak_kw",
    "predicted_peak_kw",
    "model_version",
    "response_json",
)
"""Columns of :meth:`Logbook.joined_frame`, in order."""

IMPORT_REQUIRED_COLUMNS: tuple[str, ...] = ("recommendation_id", "granted_kva", "metered_peak_kw")
IMPORT_OPTIONAL_COLUMNS: tuple[str, ...] = ("note",)

# The execution option read by the SQLite "begin" hook: writers ask for IMMEDIATE so the
# write lock is taken (and waited for, under busy_timeout) before anything is read. A
# deferred transaction that reads and then writes can fail at once with SQLITE_BUSY when
# another process committed in between; the busy handler does not help in that case.
_SQLITE_BEGIN_OPTION = "capacity_sqlite_begin"
# SQLite allows 32,766 bound parameters per statement (999 before 3.32); stay well below.
_ID_CHUNK = 500
_PG_MIGRATION_LOCK_KEY = 7_352_011  # arbitrary constant shared by all workers
_MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_LOG = logging.getLogger(__name__)
SPOOL_FILE = "recommendations-unwritten.jsonl"
"""Rows the background writer could not write to the database, one JSON object a line."""
_WRITE_BATCH = 1_000  # rows per transaction of the background writer
_LINGER_S = 0.2  # the writer gathers rows this long before writing them in one go
_MAX_PENDING = 50_000  # beyond this, record(defer=True) writes in the caller (back-pressure)


# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------


def project_root() -> Path:
    """The project root: the folder that holds the ``serving`` package."""
    return Path(__file__).resolve().parents[1]


def default_database_url() -> str:
    """Absolute SQLite URL of ``<project root>/var/recommendations.db`` (nothing is created)."""
    return URL.create(
        "sqlite", database=str(project_root() / "var" / "recommendations.db")
    ).render_as_string()


def _mask_url(value: str) -> str:
    # Error messages must not leak a database password.
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", value)


class LogbookSettings(BaseSettings):
    """Where the recommendation log lives and how it is reached.

    Attributes
    ----------
    url
        SQLAlchemy database URL, from ``CAPACITY_LOG_DB_URL``; default an absolute SQLite
        path ``<project root>/var/recommendations.db``.
    busy_timeout_ms
        How long a SQLite writer waits for the lock held by another worker before failing
        (``CAPACITY_LOG_DB_BUSY_TIMEOUT_MS``).
    echo
        Log every SQL statement (``CAPACITY_LOG_DB_ECHO``), for debugging.
    """

    # hide_input_in_errors: a rejected URL may carry a password; the message masks it.
    model_config = SettingsConfigDict(
        env_prefix="CAPACITY_LOG_DB_", extra="ignore", hide_input_in_errors=True
    )

    url: str = Field(default_factory=default_database_url, description="SQLAlchemy URL.")
    busy_timeout_ms: int = Field(default=30_000, ge=0, le=600_000)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        value = value.strip()
        try:
            make_url(value)
        except Exception as exc:  # sqlalchemy raises ArgumentError, but also ValueError
            raise ValueError(
                f"CAPACITY_LOG_DB_URL is not a SQLAlchemy database URL: received "
                f"{_mask_url(value)!r}; expected e.g. 'sqlite:////abs/path/recommendations.db' "
                f"or 'postgresql+psycopg://user:pass@host/db'"
            ) from exc
        return value


# --------------------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend.

    SQLite has no timezone type, so values are stored as naive UTC there and given back
    their UTC tzinfo on the way out; PostgreSQL gets ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC (naive for SQLite); reject naive datetimes."""
        if value is None:
            return None
        value = _require_aware("timestamp", value)
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; the naming convention gives Alembic stable constraint names."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class RecommendationRow(Base):
    """One logged recommendation (table ``recommendations``)."""

    __tablename__ = "recommendations"
    __table_args__ = (
        CheckConstraint("source IN ('api', 'batch', 'web', 'cli')", name="source"),
        Index("ix_recommendations_created_at", "created_at"),
        Index("ix_recommendations_industry", "industry"),
        Index("ix_recommendations_batch_id", "batch_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    model_version: Mapped[str] = mapped_column(String(128), nullable=False)
    industry: Mapped[str] = mapped_column(String(64), nullable=False)
    request_json: Mapped[str] = mapped_column(Text, nullable=False)
    response_json: Mapped[str] = mapped_column(Text, nullable=False)
    recommended_kva: Mapped[float] = mapped_column(Float, nullable=False)
    predicted_peak_kw: Mapped[float] = mapped_column(Float, nullable=False)
    # Nullable: the engineering method has nothing to sum for an area-only application.
    engineering_kva: Mapped[float | None] = mapped_column(Float, nullable=True)
    status_quo_kva: Mapped[float | None] = mapped_column(Float, nullable=True)
    batch_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OutcomeRow(Base):
    """Granted capacity and metered peak recorded for a recommendation (table ``outcomes``)."""

    __tablename__ = "outcomes"
    __table_args__ = (
        CheckConstraint("source IN ('api', 'import')", name="source"),
        CheckConstraint("granted_kva > 0", name="granted_kva_positive"),
        CheckConstraint("metered_peak_kw > 0", name="metered_peak_kw_positive"),
        Index("ix_outcomes_recommendation_id", "recommendation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recommendation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("recommendations.id", ondelete="CASCADE"), nullable=False
    )
    granted_kva: Mapped[float] = mapped_column(Float, nullable=False)
    metered_peak_kw: Mapped[float] = mapped_column(Float, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


_REC = cast(Table, RecommendationRow.__table__)
_OUT = cast(Table, OutcomeRow.__table__)


# --------------------------------------------------------------------------------------
# value objects
# --------------------------------------------------------------------------------------


class UnknownRecommendationError(ValueError):
    """An outcome refers to a recommendation id that is not in the log."""

    def __init__(self, recommendation_id: str) -> None:
        self.recommendation_id = recommendation_id
        super().__init__(
            f"unknown recommendation id {recommendation_id!r}: expected the id returned when "
            f"the recommendation was logged (32 hex characters)"
        )


@dataclass(frozen=True, slots=True)
class RecommendationEntry:
    """One recommendation to log (the argument of :meth:`Logbook.record_many`).

    Attributes
    ----------
    application
        The request: an :class:`~features.schemas.Application`, its dict, or its JSON text.
    response
        The answer: a pydantic model, a dict or JSON text.
    source
        Where it was asked: ``'api'``, ``'batch'``, ``'web'`` or ``'cli'``.
    model_version
        Version of the model that answered.
    recommended_kva, predicted_peak_kw
        The recommended standard capacity and the model's predicted peak.
    engineering_kva
        The demand-coefficient method's capacity, or None when it had nothing to size.
    status_quo_kva
        The applicant's own proposed capacity, if any.
    industry
        Industry code; taken from the application when omitted.
    batch_id
        Groups the rows of one batch run.
    created_at
        Timezone-aware time of the recommendation; now (UTC) when omitted.
    """

    application: Application | Mapping[str, Any] | str
    response: BaseModel | Mapping[str, Any] | str
    source: RecommendationSource
    model_version: str
    recommended_kva: float
    predicted_peak_kw: float
    engineering_kva: float | None = None
    status_quo_kva: float | None = None
    industry: str | None = None
    batch_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LoggedOutcome:
    """An outcome as stored."""

    id: int
    recommendation_id: str
    granted_kva: float
    metered_peak_kw: float
    recorded_at: datetime
    source: str
    note: str | None


@dataclass(frozen=True, slots=True)
class LoggedRecommendation:
    """A recommendation as stored, with its outcomes (oldest first)."""

    id: str
    created_at: datetime
    source: str
    model_version: str
    industry: str
    request_json: str
    response_json: str
    recommended_kva: float
    predicted_peak_kw: float
    engineering_kva: float | None
    status_quo_kva: float | None
    batch_id: str | None
    outcomes: tuple[LoggedOutcome, ...] = ()

    @property
    def request(self) -> dict[str, Any]:
        """The request, parsed from JSON."""
        parsed: dict[str, Any] = json.loads(self.request_json)
        return parsed

    @property
    def response(self) -> Any:
        """The answer, parsed from JSON."""
        return json.loads(self.response_json)


@dataclass(frozen=True, slots=True)
class ImportRowError:
    """A CSV row that was not recorded, and why.

    ``row`` is the line of the file the row starts on, as a spreadsheet numbers rows: the
    header is row 1, so the first data row is row 2 (blank lines count as rows too).
    """

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}, value {self.value!r}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    """What :meth:`Logbook.import_outcomes` did with each data row of the file.

    Every data row is either recorded (its outcome id is in ``outcome_ids``) or reported in
    ``errors`` (one entry per problem; a row may have several). ``ignored_columns`` lists
    header columns the import does not read.
    """

    path: Path
    rows_read: int
    outcome_ids: list[int] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        """Number of outcomes recorded."""
        return len(self.outcome_ids)

    @property
    def rejected_rows(self) -> list[int]:
        """Row numbers (header = row 1) that were not recorded, ascending."""
        return sorted({e.row for e in self.errors})

    @property
    def ok(self) -> bool:
        """Whether every row was recorded."""
        return not self.errors


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------


def _require_aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime; received {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware; received naive {value.isoformat()}, expected e.g. "
            f"datetime(2025, 1, 1, tzinfo=datetime.UTC)"
        )
    return value


def _positive(name: str, value: object) -> float:
    """``value`` as a finite float > 0, or a ValueError naming field, value and expectation."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(
            f"{name} must be a number > 0; received {value!r} ({type(value).__name__})"
        )
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a finite number > 0; received {value!r}")
    return number


def _optional_positive(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        # pandas hands missing values over as NaN; they mean "not given", like None.
        return None
    return _positive(name, value)


def _choice(name: str, value: object, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; received {value!r}")
    return str(value)


def _text(name: str, value: object, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string; received {value!r}")
    if len(value) > max_length:
        raise ValueError(
            f"{name} must be at most {max_length} characters; received {len(value)} characters"
        )
    return value.strip()


def _json_text(name: str, value: object) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name} must be JSON text; received invalid JSON ({exc})") from exc
        return value
    if isinstance(value, Mapping | list):
        # default=str keeps datetimes, Paths and numpy scalars loggable instead of failing
        # a recommendation that was otherwise answered.
        return json.dumps(value, ensure_ascii=False, default=str)
    raise ValueError(
        f"{name} must be a pydantic model, a dict or JSON text; received {type(value).__name__}"
    )


def _industry_of(application: object) -> str | None:
    if isinstance(application, Application):
        return application.industry
    if isinstance(application, Mapping):
        found = application.get("industry")
        return found if isinstance(found, str) else None
    if isinstance(application, str):
        with contextlib.suppress(json.JSONDecodeError):
            parsed = json.loads(application)
            if isinstance(parsed, dict) and isinstance(parsed.get("industry"), str):
                return str(parsed["industry"])
    return None


def _entry_to_row(entry: RecommendationEntry, now: datetime) -> dict[str, Any]:
    industry = entry.industry if entry.industry is not None else _industry_of(entry.application)
    if industry is None:
        raise ValueError(
            "industry is missing: expected an 'industry' argument or an application with an "
            "'industry' field; received neither"
        )
    created_at = now if entry.created_at is None else _require_aware("created_at", entry.created_at)
    batch_id = None if entry.batch_id is None else _text("batch_id", entry.batch_id, 64)
    return {
        "id": uuid.uuid4().hex,
        "created_at": created_at,
        "source": _choice("source", entry.source, RECOMMENDATION_SOURCES),
        "model_version": _text("model_version", entry.model_version, 128),
        "industry": _text("industry", industry, 64),
        "request_json": _json_text("application", entry.application),
        "response_json": _json_text("response", entry.response),
        "recommended_kva": _positive("recommended_kva", entry.recommended_kva),
        "predicted_peak_kw": _positive("predicted_peak_kw", entry.predicted_peak_kw),
        "engineering_kva": _optional_positive("engineering_kva", entry.engineering_kva),
        "status_quo_kva": _optional_positive("status_quo_kva", entry.status_quo_kva),
        "batch_id": batch_id,
    }


def _parse_csv_number(raw: str) -> tuple[float | None, str | None]:
    """Parse a CSV cell as a positive number: (value, None) or (None, reason)."""
    stripped = raw.strip()
    if not stripped:
        return None, "empty; expected a number > 0"
    try:
        number = float(stripped)
    except ValueError:
        return None, "not a number; expected a number > 0 such as 400 or 312.5"
    if not math.isfinite(number):
        return None, "not finite; expected a number > 0"
    if number <= 0:
        return None, "not positive; expected a number > 0"
    return number, None


# --------------------------------------------------------------------------------------
# engine
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# write-behind queue
# --------------------------------------------------------------------------------------


def _spool_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class _WriteBehind:
    """Rows of ``recommendations`` written by a background thread, in order, in batches.

    :meth:`put` only appends to a list; the thread writes what has accumulated in one
    transaction. :meth:`flush` writes everything put so far *in the calling thread* before it
    returns (batches are taken under one lock, so once it returns every row put before the
    call is in the database, or in the spool file if the database refused it). A batch the
    database refuses is appended to the spool file (JSON lines) and the error is logged:
    no row vanishes silently.
    """

    def __init__(self, write: Any, spool_path: Path) -> None:
        self._write = write
        self.spool_path = spool_path
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._drain_lock = threading.Lock()  # one batch in flight at a time, in order
        self._pending: list[dict[str, Any]] = []
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.spooled = 0  # rows written to the spool file (not to the database)

    def put(self, values: list[dict[str, Any]]) -> None:
        """Queue rows for writing (never blocks on the database unless far behind)."""
        with self._lock:
            self._pending.extend(values)
            backlog = len(self._pending)
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="logbook-writer", daemon=True
                )
                self._thread.start()
            if backlog == len(values) or backlog >= _WRITE_BATCH:
                self._wake.notify()  # otherwise the writer is awake or lingering already
        if backlog > _MAX_PENDING:
            self.flush()  # the database cannot keep up: the caller helps (back-pressure)

    def pending(self) -> int:
        """Rows queued and not yet taken by a write."""
        with self._lock:
            return len(self._pending)

    def flush(self) -> None:
        """Write every row queued so far before returning (in this thread)."""
        while self._drain_once():
            pass

    def _drain_once(self) -> bool:
        with self._drain_lock:
            with self._lock:
                batch = self._pending[:_WRITE_BATCH]
                del self._pending[: len(batch)]
            if not batch:
                return False
            try:
                self._write(batch)
            except Exception:
                _LOG.exception(
                    "recommendation log: writing %d row(s) failed; spooling them to %s",
                    len(batch),
                    self.spool_path,
                )
                self._spool(batch)
            return True

    def _spool(self, batch: list[dict[str, Any]]) -> None:
        try:
            self.spool_path.parent.mkdir(parents=True, exist_ok=True)
            with self.spool_path.open("a", encoding="utf-8") as out:
                for row in batch:
                    out.write(json.dumps(row, ensure_ascii=False, default=_spool_default) + "\n")
            self.spooled += len(batch)
        except Exception:
            # Last resort: the rows go to the error log itself.
            _LOG.exception("recommendation log: spooling failed; unwritten rows follow")
            for row in batch:
                _LOG.error("unwritten recommendation: %s", json.dumps(row, default=_spool_default))

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping and not self._pending:
                    return
                # Let a few more rows arrive: one transaction for many rows costs the
                # request threads (GIL, CPU) far less than one per row. Readers do not
                # wait for this: they flush themselves.
                deadline = time.monotonic() + _LINGER_S
                while not self._stopping and len(self._pending) < _WRITE_BATCH:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._wake.wait(left)
            self.flush()

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
            thread = self._thread
        self.flush()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10.0)


def _spool_path(url: URL) -> Path:
    """Where unwritten rows go: beside a SQLite file, else in ``CAPACITY_HOME``."""
    if url.get_backend_name() == "sqlite" and not _is_memory_sqlite(url):
        database = url.database or ""
        if database.startswith("file:"):
            database = database[len("file:") :].split("?", 1)[0]
        return Path(database).expanduser().resolve().parent / SPOOL_FILE
    home = os.environ.get("CAPACITY_HOME")
    return (Path(home) if home else project_root() / "var") / SPOOL_FILE


def _flush_at_exit(ref: weakref.ReferenceType[_WriteBehind]) -> None:
    queue = ref()
    if queue is not None:
        queue.close()


# --------------------------------------------------------------------------------------
# the logbook
# --------------------------------------------------------------------------------------


class Logbook:
    """Read and write the recommendation log.

    Open it with :meth:`Logbook.open` (which migrates the schema), use it from any number
    of threads, and :meth:`close` it on shutdown (or use it as a context manager). Each
    worker process of a server opens its own Logbook; SQLite writes from several processes
    are serialised by the database lock, waited for up to ``busy_timeout_ms``.
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
        self._queue = _WriteBehind(self._insert_rows, _spool_path(engine.url))
        # A process that exits without close() still writes what is queued.
        atexit.register(_flush_at_exit, weakref.ref(self._queue))

    # -- lifecycle ------------------------------------------------------------------

    @classmethod
    def open(cls, settings: LogbookSettings | None = None) -> Logbook:
        """Connect to the database and upgrade its schema to the latest revision.

        Parameters
        ----------
        settings
            Database settings; read from the environment (``CAPACITY_LOG_DB_URL``) when None.

        Returns
        -------
        Logbook
            An open logbook. For a SQLite file its directory is created if missing.
        """
        settings = settings if settings is not None else LogbookSettings()
        _ensure_sqlite_directory(make_url(settings.url))
        engine = create_logbook_engine(settings)
        logbook = cls(engine, settings)
        try:
            logbook.upgrade()
        except Exception:
            engine.dispose()
            raise
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

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        from alembic.runtime.migration import MigrationContext

        with self._engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def close(self) -> None:
        """Write the queued recommendations, then release the database connections."""
        self._queue.close()
        self._engine.dispose()

    def flush(self) -> None:
        """Write every recommendation queued by ``record(..., defer=True)`` so far.

        Every read of the log calls it first, so a just-issued id is always found.
        """
        self._queue.flush()

    @property
    def pending(self) -> int:
        """Recommendations queued and not yet written."""
        return self._queue.pending()

    @property
    def spool_path(self) -> Path:
        """The JSON-lines file that receives rows the database refused."""
        return self._queue.spool_path

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
        self._queue.flush()
        return self._engine

    def _insert_rows(self, values: list[dict[str, Any]]) -> None:
        with self._write() as conn:
            # Core executemany: one prepared statement for all rows, no ORM unit of work.
            conn.execute(insert(_REC), values)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, self._engine.connect() as conn:
            conn.execution_options(**{_SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn

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
        self, rows: Iterable[RecommendationEntry | Mapping[str, Any]], *, defer: bool = False
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
            :meth:`import_outcomes`, :meth:`joined_frame`, :attr:`engine`) writes the
            queue first, so a returned id is always found; :meth:`close` and interpreter
            exit write what is left. Rows the database refuses are appended to
            :attr:`spool_path` and the error is logged.

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
        if defer:
            self._queue.put(values)
        else:
            self._insert_rows(values)
        return [v["id"] for v in values]

    def get(self, recommendation_id: str) -> LoggedRecommendation | None:
        """The recommendation with this id and its outcomes, or None if it is not logged."""
        self._queue.flush()
        with self._engine.connect() as conn:
            rec = (
                conn.execute(select(_REC).where(_REC.c.id == recommendation_id)).mappings().first()
            )
            if rec is None:
                return None
            outcomes = conn.execute(
                select(_OUT)
                .where(_OUT.c.recommendation_id == recommendation_id)
                .order_by(_OUT.c.recorded_at, _OUT.c.id)
            ).mappings()
            logged = tuple(LoggedOutcome(**dict(o)) for o in outcomes)
        return LoggedRecommendation(**dict(rec), outcomes=logged)

    def count(self) -> int:
        """Number of logged recommendations."""
        self._queue.flush()
        with self._engine.connect() as conn:
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
    ) -> int:
        """Record the granted capacity and metered peak for a logged recommendation.

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
            :meth:`joined_frame`.

        Returns
        -------
        int
            The outcome id.

        Raises
        ------
        UnknownRecommendationError
            No recommendation has this id.
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
                else _require_aware("recorded_at", recorded_at)
            ),
        }
        self._queue.flush()  # the id may still be queued
        with self._write() as conn:
            exists = conn.execute(select(_REC.c.id).where(_REC.c.id == recommendation_id)).first()
            if exists is None:
                raise UnknownRecommendationError(recommendation_id)
            result = conn.execute(insert(_OUT).returning(_OUT.c.id), values)
            return int(result.scalar_one())

    def import_outcomes(self, path: str | Path) -> ImportResult:
        """Record the outcomes of a CSV file; report every row that cannot be recorded.

        The file is UTF-8 (a BOM is accepted) with the header
        ``recommendation_id,granted_kva,metered_peak_kw[,note]``. Valid rows are recorded
        together in one transaction with source ``'import'``; each invalid row is listed in
        :attr:`ImportResult.errors` with its row number (header = row 1), column, value and
        reason. Blank lines are skipped.

        Parameters
        ----------
        path
            The CSV file.

        Returns
        -------
        ImportResult
            Recorded outcome ids, row errors and ignored columns.

        Raises
        ------
        FileNotFoundError
            The file does not exist.
        ValueError
            The file is not UTF-8 or lacks a required column (nothing is recorded).
        """
        path = Path(path)
        try:
            content = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); expected a UTF-8 CSV"
            ) from exc

        reader = csv.reader(io.StringIO(content, newline=""))
        header: list[str] | None = None
        errors: list[ImportRowError] = []
        candidates: list[tuple[int, dict[str, Any]]] = []
        rows_read = 0
        previous_line = 0
        for record in reader:
            # The line the record starts on (a quoted cell may span several lines).
            row_number, previous_line = previous_line + 1, reader.line_num
            if header is None:
                if not any(cell.strip() for cell in record):
                    continue
                header = [cell.strip() for cell in record]
                missing = [c for c in IMPORT_REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise ValueError(
                        f"{path}: missing column(s) {', '.join(missing)}; received header "
                        f"{', '.join(header) or '(empty)'}, expected "
                        f"{', '.join(IMPORT_REQUIRED_COLUMNS)}[, note]"
                    )
                continue
            if not any(cell.strip() for cell in record):
                continue
            rows_read += 1
            row_errors, values = self._validate_import_row(row_number, header, record)
            if row_errors:
                errors.extend(row_errors)
            else:
                candidates.append((row_number, values))

        if header is None:
            raise ValueError(
                f"{path}: the file is empty; expected a header "
                f"{', '.join(IMPORT_REQUIRED_COLUMNS)}[, note] and data rows"
            )
        known_columns = set(IMPORT_REQUIRED_COLUMNS + IMPORT_OPTIONAL_COLUMNS)
        ignored = [c for c in header if c not in known_columns]

        outcome_ids: list[int] = []
        if candidates:
            self._queue.flush()  # ids issued a moment ago may still be queued
            now = datetime.now(UTC)
            with self._write() as conn:
                wanted = sorted({v["recommendation_id"] for _, v in candidates})
                known: set[str] = set()
                for start in range(0, len(wanted), _ID_CHUNK):
                    chunk = wanted[start : start + _ID_CHUNK]
                    known.update(
                        conn.execute(select(_REC.c.id).where(_REC.c.id.in_(chunk))).scalars()
                    )
                to_insert: list[dict[str, Any]] = []
                for row_number, values in candidates:
                    if values["recommendation_id"] not in known:
                        errors.append(
                            ImportRowError(
                                row_number,
                                "recommendation_id",
                                values["recommendation_id"],
                                "unknown recommendation id; expected an id from the log",
                            )
                        )
                        continue
                    to_insert.append({**values, "source": "import", "recorded_at": now})
                # Row by row (RETURNING per row) keeps ids in file order on every backend;
                # an outcome import is a few thousand rows at most.
                for values in to_insert:
                    result = conn.execute(insert(_OUT).returning(_OUT.c.id), values)
                    outcome_ids.append(int(result.scalar_one()))

        errors.sort(key=lambda e: (e.row, e.column))
        return ImportResult(
            path=path,
            rows_read=rows_read,
            outcome_ids=outcome_ids,
            errors=errors,
            ignored_columns=ignored,
        )

    @staticmethod
    def _validate_import_row(
        row_number: int, header: list[str], record: list[str]
    ) -> tuple[list[ImportRowError], dict[str, Any]]:
        errors: list[ImportRowError] = []
        if len(record) != len(header):
            errors.append(
                ImportRowError(
                    row_number,
                    "(row)",
                    ",".join(record),
                    f"{len(record)} fields; expected {len(header)} like the header",
                )
            )
            return errors, {}
        cells = dict(zip(header, record, strict=True))
        recommendation_id = cells["recommendation_id"].strip()
        if not recommendation_id:
            errors.append(
                ImportRowError(
                    row_number, "recommendation_id", "", "empty; expected a recommendation id"
                )
            )
        values: dict[str, Any] = {"recommendation_id": recommendation_id}
        for column in ("granted_kva", "metered_peak_kw"):
            number, reason = _parse_csv_number(cells[column])
            if reason is not None:
                errors.append(ImportRowError(row_number, column, cells[column], reason))
            values[column] = number
        note = cells.get("note", "").strip()
        values["note"] = note or None
        return errors, values

    # -- reading for the pilot --------------------------------------------------------

    def joined_frame(self, since: datetime | None = None) -> pd.DataFrame:
        """Recommendations that have an outcome, with their latest outcome.

        Parameters
        ----------
        since
            Only recommendations created at or after this timezone-aware time.

        Returns
        -------
        pandas.DataFrame
            One row per recommendation with at least one outcome (the latest by
            ``recorded_at``, then by outcome id, wins), columns :data:`JOINED_COLUMNS`,
            ordered by ``created_at``; ``created_at`` is a UTC datetime column.
        """
        ranked = select(
            _OUT.c.recommendation_id,
            _OUT.c.granted_kva,
            _OUT.c.metered_peak_kw,
            func.row_number()
            .over(
                partition_by=_OUT.c.recommendation_id,
                order_by=(_OUT.c.recorded_at.desc(), _OUT.c.id.desc()),
            )
            .label("rank"),
        ).subquery("ranked")
        stmt = (
            select(
                _REC.c.id,
                _REC.c.created_at,
                _REC.c.industry,
                _REC.c.recommended_kva,
                _REC.c.engineering_kva,
                _REC.c.status_quo_kva,
                ranked.c.granted_kva,
                ranked.c.metered_peak_kw,
                _REC.c.predicted_peak_kw,
                _REC.c.model_version,
                _REC.c.response_json,
            )
            .join(ranked, ranked.c.recommendation_id == _REC.c.id)
            .where(ranked.c.rank == 1)
            .order_by(_REC.c.created_at, _REC.c.id)
        )
        if since is not None:
            stmt = stmt.where(_REC.c.created_at >= _require_aware("since", since))
        self._queue.flush()
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=list(JOINED_COLUMNS))
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        for column in (
            "recommended_kva",
            "engineering_kva",
            "status_quo_kva",
            "granted_kva",
            "metered_peak_kw",
            "predicted_peak_kw",
        ):
            frame[column] = pd.to_numeric(frame[column]).astype(float)
        for column in ("id", "industry", "model_version", "response_json"):
            frame[column] = frame[column].astype(object)
        return frame
