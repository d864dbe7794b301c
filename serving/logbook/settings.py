"""Where the recommendation log lives and how it is reached (``CAPACITY_LOG_*``)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url
from sqlalchemy.engine import URL

from serving.settings import PROJECT_ROOT, state_home


def project_root() -> Path:
    """The project root: the folder that holds the ``serving`` package."""
    return PROJECT_ROOT


def default_database_url() -> str:
    """Absolute SQLite URL of ``<CAPACITY_HOME>/recommendations.db`` (nothing is created).

    ``CAPACITY_HOME`` defaults to ``<project root>/var`` (:func:`serving.settings.state_home`),
    so two services with two homes keep two logs.
    """
    return URL.create(
        "sqlite", database=str(state_home() / "recommendations.db")
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
        path ``<CAPACITY_HOME>/recommendations.db`` (``<project root>/var`` by default).
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
        ``CAPACITY_LOG_WAL_AUTOCHECKPOINT``: SQLite WAL auto-checkpoint, in pages (0:
        none); the writer thread checkpoints in the background at a quarter of it
        (:data:`serving.logbook.store.CHECKPOINT_EVERY_S`).
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
        description="SQLite wal_autocheckpoint (pages; the writer thread checkpoints at a "
        "quarter of it); the WAL is truncated at close.",
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
