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
import hashlib
import io
import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from numbers import Real
from pathlib import Path
from typing import Any, Literal, cast, get_args

import pandas as pd
from pydantic import AliasChoices, BaseModel, Field, field_validator
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
    delete,
    event,
    exists,
    func,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from features.schemas import Application

__all__ = [
    "OUTCOME_SOURCES",
    "RECOMMENDATION_SOURCES",
    "Base",
    "BatchRequestRow",
    "IdempotencyConflictError",
    "LogUnavailableError",
    "OutcomeConflictError",
    "StoredBatch",
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
"""Rows the database could not take, one JSON object a line (appended and fsynced); they are
replayed into the database, idempotently, as soon as it takes writes again."""
_SPOOL_BATCH_KIND = "batch"  # a spool line holding a whole keyed batch (replayed all or none)
_WRITE_BATCH = 1_000  # rows per transaction of the background writer
_LINGER_S = 0.02
"""How long the writer gathers rows before writing them in one go. Short: a SIGKILL loses
what is queued and not yet written (keyed batches excepted, which are durable before the
answer), so the window is kept to a few tens of milliseconds; under load the queue fills
faster than this anyway and rows still share transactions."""
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
    retention_days, prune_seconds
        ``CAPACITY_LOG_RETENTION_DAYS`` (default: keep forever) and how often the prune runs
        (``CAPACITY_LOG_PRUNE_SECONDS``).
    retry_seconds
        ``CAPACITY_LOG_RETRY_SECONDS``: retry interval while the database refuses writes.
    wal_autocheckpoint
        ``CAPACITY_LOG_WAL_AUTOCHECKPOINT``: SQLite WAL auto-checkpoint, in pages.
    spool_dir
        ``CAPACITY_LOG_SPOOL_DIR``: where rows go while the database refuses them.
    """

    # hide_input_in_errors: a rejected URL may carry a password; the message masks it.
    model_config = SettingsConfigDict(
        env_prefix="CAPACITY_LOG_DB_",
        extra="ignore",
        hide_input_in_errors=True,
        populate_by_name=True,
    )

    url: str = Field(default_factory=default_database_url, description="SQLAlchemy URL.")
    busy_timeout_ms: int = Field(default=30_000, ge=0, le=600_000)
    echo: bool = False
    retention_days: float | None = Field(
        default=None,
        gt=0,
        validation_alias=AliasChoices("CAPACITY_LOG_RETENTION_DAYS", "retention_days"),
        description="Prune recommendations older than this many days that have no outcome "
        "(never one with an outcome); None keeps everything.",
    )
    prune_seconds: float = Field(
        default=3_600.0,
        gt=0,
        validation_alias=AliasChoices("CAPACITY_LOG_PRUNE_SECONDS", "prune_seconds"),
    )
    retry_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3_600,
        validation_alias=AliasChoices("CAPACITY_LOG_RETRY_SECONDS", "retry_seconds"),
        description="How often the writer retries a failing database and replays the spool.",
    )
    wal_autocheckpoint: int = Field(
        default=1_000,
        ge=0,
        validation_alias=AliasChoices("CAPACITY_LOG_WAL_AUTOCHECKPOINT", "wal_autocheckpoint"),
        description="SQLite wal_autocheckpoint (pages); the WAL is truncated at close.",
    )
    spool_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("CAPACITY_LOG_SPOOL_DIR", "spool_dir"),
        description="Directory of the spool file; default beside a SQLite file, else "
        "CAPACITY_HOME (a second directory is used if the first cannot be written).",
    )

    @field_validator("retention_days", "spool_dir", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "none", "off"):
            return None
        return value

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


class BatchRequestRow(Base):
    """A batch request made with an ``Idempotency-Key`` (table ``batch_requests``).

    Written in the same transaction as the batch's recommendations, so a key is stored if
    and only if the whole batch is.
    """

    __tablename__ = "batch_requests"
    __table_args__ = (Index("ix_batch_requests_created_at", "created_at"),)

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    batch_id: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    n_rows: Mapped[int] = mapped_column(Integer, nullable=False)
    ids_json: Mapped[str] = mapped_column(Text, nullable=False)


_REC = cast(Table, RecommendationRow.__table__)
_OUT = cast(Table, OutcomeRow.__table__)
_BATCH = cast(Table, BatchRequestRow.__table__)


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


class LogUnavailableError(RuntimeError):
    """The log cannot answer now (database unreachable, or the row is still spooled); retry."""


class OutcomeConflictError(ValueError):
    """A recommendation already has an outcome with other values."""

    def __init__(self, recommendation_id: str, existing: LoggedOutcome) -> None:
        self.recommendation_id = recommendation_id
        self.existing = existing
        super().__init__(
            f"recommendation {recommendation_id!r} already has outcome {existing.id} "
            f"(granted_kva={existing.granted_kva:g}, metered_peak_kw="
            f"{existing.metered_peak_kw:g}, note={existing.note!r}); expected the same values "
            f"again or replace=True"
        )


class IdempotencyConflictError(ValueError):
    """An idempotency key was used before for a different request body."""

    def __init__(self, key: str, batch_id: str) -> None:
        self.key = key
        self.batch_id = batch_id
        super().__init__(
            f"Idempotency-Key {key!r} was used for a different request body (batch "
            f"{batch_id}); expected the same body, or a new key"
        )


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """A keyed batch as logged: its id, body hash and recommendation ids in request order."""

    key: str
    body_sha256: str
    batch_id: str
    ids: tuple[str, ...]


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
    ``errors`` (one entry per problem; a row may have several). A row repeating an outcome
    already recorded (same values) counts as recorded with the existing outcome's id. ``ignored_columns`` lists
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


def _latest_outcome(conn: Connection, recommendation_id: str) -> LoggedOutcome | None:
    row = (
        conn.execute(
            select(_OUT)
            .where(_OUT.c.recommendation_id == recommendation_id)
            .order_by(_OUT.c.recorded_at.desc(), _OUT.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else LoggedOutcome(**dict(row))


def _same_outcome(existing: LoggedOutcome, values: Mapping[str, Any]) -> bool:
    return (
        math.isclose(existing.granted_kva, float(values["granted_kva"]), rel_tol=1e-9)
        and math.isclose(existing.metered_peak_kw, float(values["metered_peak_kw"]), rel_tol=1e-9)
        and (existing.note or None) == (values.get("note") or None)
    )


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


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


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


# --------------------------------------------------------------------------------------
# spool and write-behind queue
# --------------------------------------------------------------------------------------

_Group = tuple[list[dict[str, Any]], dict[str, Any] | None]
"""Rows written in one transaction, with the keyed batch request they belong to (or None)."""


def _spool_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


_PATHS = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[\\/](?:[^\\/\s'\"()\[\]]+[\\/])+[^\\/\s'\"()\[\]]*")


def public_error(exc: BaseException) -> str:
    """An error as ``Type: message`` with absolute paths cut to their last part, URLs masked."""
    message = _mask_url(str(exc).splitlines()[0] if str(exc) else "")

    def last_part(match: re.Match[str]) -> str:
        text_ = match.group(0)
        name = re.split(r"[\\/]", text_.rstrip("/\\"))[-1]
        return f".../{name}" if name else "..."

    message = _PATHS.sub(last_part, message)[:300]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class _Metrics:
    """Prometheus series of the log (created once per process; absent without the client)."""

    _instance: _Metrics | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge

        self.spooled = Counter(
            "capacity_log_spooled_rows",
            "Recommendation rows written to the local spool because the database refused them",
        )
        self.replayed = Counter(
            "capacity_log_replayed_rows",
            "Spooled recommendation rows replayed into the database",
        )
        self.backlog = Gauge(
            "capacity_log_spool_backlog_rows",
            "Recommendation rows in the spool, waiting for the database",
            multiprocess_mode="livemax",
        )

    @classmethod
    def get(cls) -> _Metrics | None:
        with cls._guard:
            if cls._instance is None:
                try:
                    cls._instance = cls()
                except Exception:  # no prometheus_client, or a clashing registry
                    _LOG.debug("recommendation log: no metrics", exc_info=True)
                    return None
            return cls._instance


class _Spool:
    """Append-only JSON-lines files of unwritten rows, shared by the processes of one log.

    Appends are one ``write`` then ``fsync``; appends and replays of all processes are
    serialised by an ``flock`` on ``<spool>.lock``. Ordinary rows are one line each (a
    recommendation row); a keyed batch is one line ``{"_kind": "batch", "request": ...,
    "rows": [...]}`` so it is replayed whole or not at all. ``paths[0]`` is used first; the
    others only when it cannot be written. A line that does not parse (a crash mid-append)
    is moved to ``<spool>.corrupt`` at replay, never silently dropped.
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = list(dict.fromkeys(paths))
        self._lock = threading.RLock()
        self.backlog = self._count()
        self.total = 0

    @property
    def path(self) -> Path:
        return self.paths[0]

    @contextlib.contextmanager
    def locked(self, path: Path) -> Iterator[None]:
        with self._lock:
            handle = None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(path.with_name(path.name + ".lock"), "a+b")  # noqa: SIM115
                with contextlib.suppress(ImportError):
                    import fcntl

                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            except OSError:
                # Unwritable directory: the append below fails (and the next path is tried);
                # a read-only replay can still go on in this process.
                pass
            try:
                yield
            finally:
                if handle is not None:
                    handle.close()  # releases the flock

    def existing(self) -> list[Path]:
        out = []
        for path in self.paths:
            with contextlib.suppress(OSError):
                if path.stat().st_size > 0:
                    out.append(path)
        return out

    def _count(self) -> int:
        total = 0
        for path in self.existing():
            with contextlib.suppress(OSError):
                total += sum(n for n, _ in self._groups(path.read_bytes())[0])
        return total

    @staticmethod
    def _groups(data: bytes) -> tuple[list[tuple[int, _Group]], list[bytes]]:
        groups: list[tuple[int, _Group]] = []
        bad: list[bytes] = []
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                if not isinstance(doc, dict):
                    raise ValueError("not an object")
                if doc.get("_kind") == _SPOOL_BATCH_KIND:
                    rows = [_row_from_spool(r) for r in doc["rows"]]
                    groups.append((len(rows), (rows, _request_from_spool(doc["request"]))))
                else:
                    groups.append((1, ([_row_from_spool(doc)], None)))
            except (ValueError, KeyError, TypeError):
                bad.append(line)
        return groups, bad

    def append(self, groups: list[_Group]) -> int:
        """Append and fsync; the number of rows spooled. Raises OSError if no path takes them."""
        lines: list[str] = []
        n = 0
        for rows, request in groups:
            n += len(rows)
            if request is None:
                lines.extend(
                    json.dumps(r, ensure_ascii=False, default=_spool_default) for r in rows
                )
            else:
                doc = {"_kind": _SPOOL_BATCH_KIND, "request": request, "rows": rows}
                lines.append(json.dumps(doc, ensure_ascii=False, default=_spool_default))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        failure: OSError | None = None
        for path in self.paths:
            try:
                with self.locked(path):
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                    try:
                        view = memoryview(data)
                        while view:
                            written = os.write(fd, view)
                            view = view[written:]
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                self.backlog += n
                self.total += n
                return n
            except OSError as exc:
                failure = exc
                _LOG.error("recommendation log: spool %s not writable: %s", path.name, exc)
        assert failure is not None
        raise failure

    def contains(self, needle: str) -> bool:
        """Whether some spooled line contains ``needle`` (an id or a key, as JSON text)."""
        raw = needle.encode("utf-8")
        for path in self.existing():
            with contextlib.suppress(OSError):
                if raw in path.read_bytes():
                    return True
        return False

    def find_batch(self, key: str) -> StoredBatch | None:
        quoted = json.dumps(key).encode("utf-8")
        for path in self.existing():
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if quoted not in data:
                continue
            for _, (_rows, request) in self._groups(data)[0]:
                if request is not None and request["key"] == key:
                    return StoredBatch(
                        key,
                        request["body_sha256"],
                        request["batch_id"],
                        tuple(json.loads(request["ids_json"])),
                    )
        return None

    def replay(self, write: Callable[[list[_Group]], None]) -> int:
        """Write every spooled group with ``write`` (one transaction); then remove the files.

        The files are removed only after ``write`` returned (committed); a crash in between
        leaves them, and the next replay skips the rows already written (``write`` is
        idempotent). Returns the number of rows replayed.
        """
        done = 0
        for path in self.existing():
            with self.locked(path):
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                groups, bad = self._groups(data)
                if groups:
                    write([g for _, g in groups])
                if bad:
                    corrupt = path.with_name(path.name + ".corrupt")
                    with corrupt.open("ab") as out:
                        out.write(b"\n".join(bad) + b"\n")
                        out.flush()
                        os.fsync(out.fileno())
                    _LOG.error(
                        "recommendation log: %d unreadable spool line(s) kept in %s",
                        len(bad),
                        corrupt.name,
                    )
                path.unlink()
                done += sum(n for n, _ in groups)
        self.backlog = self._count()
        return done


def _row_from_spool(doc: Mapping[str, Any]) -> dict[str, Any]:
    row = {c.name: doc.get(c.name) for c in _REC.columns}
    if not isinstance(row["id"], str) or not isinstance(row["created_at"], str):
        raise ValueError("not a recommendation row")
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    return row


def _request_from_spool(doc: Mapping[str, Any]) -> dict[str, Any]:
    request = {c.name: doc[c.name] for c in _BATCH.columns}
    request["created_at"] = datetime.fromisoformat(request["created_at"])
    return request


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
    ) -> None:
        self._write = write
        self._failed = failed
        self._tick = tick
        self._tick_s = tick_s
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

    def put(self, values: list[dict[str, Any]], request: dict[str, Any] | None = None) -> None:
        """Queue rows for writing (never blocks on the database unless far behind)."""
        self.start()
        with self._lock:
            self._pending.append((values, request))
            self._pending_rows += len(values)
            backlog = self._pending_rows
            if backlog == len(values) or backlog >= _WRITE_BATCH:
                self._wake.notify()  # otherwise the writer is awake or lingering already
        if backlog > _MAX_PENDING:
            self.flush()  # the database cannot keep up: the caller helps (back-pressure)

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
                if not self._pending and not self._stopping:
                    self._wake.wait(max(0.0, next_tick - time.monotonic()))
                if self._stopping and not self._pending:
                    return
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


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or _is_memory_sqlite(url):
        return None
    database = url.database or ""
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database).expanduser().resolve()


def _spool_paths(url: URL, spool_dir: Path | None) -> list[Path]:
    """Where unwritten rows go, in order of preference.

    ``spool_dir``, else beside a SQLite file, else in ``CAPACITY_HOME``; then
    ``CAPACITY_HOME/spool`` (or ``var/spool``) as the fallback.
    """
    home = os.environ.get("CAPACITY_HOME")
    base = Path(home) if home else project_root() / "var"
    db_file = _sqlite_file(url)
    if spool_dir is not None:
        first = Path(spool_dir).expanduser().resolve() / SPOOL_FILE
    elif db_file is not None:
        first = db_file.parent / SPOOL_FILE
    else:
        first = base / SPOOL_FILE
    tag = hashlib.sha256(url.render_as_string(hide_password=False).encode()).hexdigest()[:12]
    return [first, base.resolve() / "spool" / f"recommendations-unwritten-{tag}.jsonl"]


def _spool_path(url: URL) -> Path:
    """The first spool file of ``url`` (see :func:`_spool_paths`)."""
    return _spool_paths(url, None)[0]


def _flush_at_exit(ref: weakref.ReferenceType[Logbook]) -> None:
    book = ref()
    if book is not None:
        with contextlib.suppress(Exception):
            book.close()


# --------------------------------------------------------------------------------------
# the logbook
# --------------------------------------------------------------------------------------


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
        self._spool = _Spool(_spool_paths(engine.url, settings.spool_dir))
        self._metrics = _Metrics.get()
        self._queue = _WriteBehind(
            self._insert_groups, self._spool_failed, self._maintain, settings.retry_seconds
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

    def _checkpoint(self) -> None:
        if not self._is_sqlite or self._db_file is None:
            return
        try:
            self._ensure_file()
            raw = self._engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                raw.close()
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
        with self._state_lock:
            degraded = self._failing or self._needs_upgrade or self._spool.backlog > 0 or missing
            last_error = self._last_error
            if missing and not self._failing:
                last_error = "database file missing or replaced (being recreated)"
            return {
                "state": "degraded" if degraded else "ok",
                "spooled_rows": self._spool.backlog,
                "spooled_rows_total": self._spool.total,
                "replayed_rows_total": self._replayed,
                "pending_rows": self._queue.pending(),
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
                    conn.execute(insert(_REC), rows)
                if request is not None:
                    self._insert_request(conn, request)
        if not self._file_ok():
            raise LogUnavailableError("the database file was deleted during the write")
        self._note_success()
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
                    conn.execute(insert(_REC), missing)
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
            exit write what is left. Rows the database refuses are appended (fsynced) to
            :attr:`spool_path`, replayed when it takes writes again, and the error is logged.
            The rows of one call are always written in one transaction.
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
            self._queue.put(values, request)
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
            :meth:`joined_frame`.

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
                else _require_aware("recorded_at", recorded_at)
            ),
        }
        self.flush()  # the id may still be queued (or spooled)
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
            self.flush()  # ids issued a moment ago may still be queued
            self._ensure_file()
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
                    to_insert.append(
                        {**values, "source": "import", "recorded_at": now, "_row": row_number}
                    )
                # Row by row (RETURNING per row) keeps ids in file order on every backend;
                # an outcome import is a few thousand rows at most. Outcomes are idempotent
                # per recommendation: a repeat is the existing id, other values an error.
                for values in to_insert:
                    row_number = values.pop("_row")
                    existing = _latest_outcome(conn, values["recommendation_id"])
                    if existing is not None:
                        if _same_outcome(existing, values):
                            outcome_ids.append(existing.id)
                        else:
                            errors.append(
                                ImportRowError(
                                    row_number,
                                    "recommendation_id",
                                    values["recommendation_id"],
                                    f"already has outcome {existing.id} with other values "
                                    f"(granted_kva={existing.granted_kva:g}, "
                                    f"metered_peak_kw={existing.metered_peak_kw:g}); expected "
                                    f"the same values or none",
                                )
                            )
                        continue
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
        with self._read() as conn:
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
