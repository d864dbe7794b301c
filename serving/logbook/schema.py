"""The tables of the recommendation log (owned by Alembic: ``serving/migrations``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, cast, get_args

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

RecommendationSource = Literal["api", "batch", "web", "cli"]
OutcomeSource = Literal["api", "import"]
RECOMMENDATION_SOURCES: tuple[str, ...] = get_args(RecommendationSource)
OUTCOME_SOURCES: tuple[str, ...] = get_args(OutcomeSource)


def require_aware(name: str, value: datetime) -> datetime:
    """``value`` if it is a timezone-aware datetime; else an error naming ``name``."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime; received {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware; received naive {value.isoformat()}, expected e.g. "
            f"datetime(2025, 1, 1, tzinfo=datetime.UTC)"
        )
    return value


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
        value = require_aware("timestamp", value)
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

RECOMMENDATIONS_TABLE: Table = _REC
"""The ``recommendations`` table (for readers outside the store, e.g. the pilot's join)."""
OUTCOMES_TABLE: Table = _OUT
"""The ``outcomes`` table."""
