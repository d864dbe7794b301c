"""What the log stores and answers: value objects, errors and the checks of a row."""

from __future__ import annotations

import contextlib
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from numbers import Real
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Connection,
    select,
)

from features.schemas import Application
from serving.logbook.schema import (
    _OUT,
    RECOMMENDATION_SOURCES,
    RecommendationSource,
    require_aware,
)


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
    created_at = now if entry.created_at is None else require_aware("created_at", entry.created_at)
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
