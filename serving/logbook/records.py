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
from pydantic_core import to_json
from sqlalchemy import (
    Connection,
    Subquery,
    func,
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
class AnswerJSON:
    """An answer's JSON text exactly as its pydantic model serialised it.

    Stored as it is: the single answer is serialised once, for its log row and (with
    its id put in) its response body; parsing the text again to check it would cost
    what was saved.
    """

    text: str


@dataclass(frozen=True, slots=True)
class RecommendationEntry:
    """One recommendation to log (the argument of :meth:`Logbook.record_many`).

    Attributes
    ----------
    application
        The request: an :class:`~features.schemas.Application`, its dict, or its JSON text.
    response
        The answer: a pydantic model, a dict, JSON text, or :class:`AnswerJSON`.
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
    response: BaseModel | Mapping[str, Any] | str | AnswerJSON
    source: RecommendationSource
    model_version: str
    recommended_kva: float
    predicted_peak_kw: float
    engineering_kva: float | None = None
    status_quo_kva: float | None = None
    industry: str | None = None
    batch_id: str | None = None
    created_at: datetime | None = None

    @classmethod
    def from_answer(
        cls,
        application: Application | Mapping[str, Any],
        answer: BaseModel | Mapping[str, Any],
        *,
        source: RecommendationSource,
        batch_id: str | None = None,
        status_quo_kva: float | None = None,
        created_at: datetime | None = None,
        compact: bool = False,
        lines: Sequence[Mapping[str, Any]] | None = None,
        native: bool = False,
        answer_json: str | None = None,
    ) -> RecommendationEntry:
        """The one mapping of an answer to a log row, for every path.

        Single, batch, CSV, page, pilot and the simulations all log through it.

        The request is always stored in the API's application shape, whatever the path
        (issue 24: CSV-batch rows stored as ``{"customer": …, "equipment": …}`` read as
        industry None and no floor area in the monitor, and the retrain skipped them as
        "not a valid application"). The response is the full answer, its compact form
        (:func:`compact_answer`, the fields every reader uses), or the summary row as the
        client received it; :func:`answer_facts` reads all three alike.

        Parameters
        ----------
        application
            An :class:`~features.schemas.Application` (or its JSON dict), or one customer's
            contract row (the CSV path) with its equipment lines in ``lines``.
        answer
            The full :class:`~serving.schemas.Recommendation`, or a row of the vectorised
            path (:meth:`serving.core.Recommender.score_frames`).
        source
            ``'api'``, ``'batch'``, ``'web'`` or ``'cli'``.
        compact
            Keep only :data:`COMPACT_ANSWER_FIELDS` of a full answer (batches: the full
            answers of 10,000 applications would multiply the log for nothing it reads).
        lines
            The equipment lines (contract rows) when ``application`` is a contract row.
        native
            ``answer`` is a row whose values are JSON-able Python values already (NaN as
            None, no numpy scalars: :func:`serving.batch_rows.records`); it is copied as
            it is instead of cleaning each value again.
        answer_json
            ``answer.model_dump_json()`` when the caller has it already (a full answer):
            stored as it is instead of serialising the answer a second time.
        """
        if lines is not None and not isinstance(application, Application):
            request: Application | dict[str, Any] = application_from_contract_rows(
                application, lines
            )
        elif isinstance(application, Application):
            request = application
        else:
            request = dict(application)
        response: BaseModel | dict[str, Any] | AnswerJSON
        if isinstance(answer, BaseModel) and not compact:
            # The model itself: the logbook serialises it once with pydantic-core (no dump
            # to a dict here on the single path, which every request takes).
            full: dict[str, Any] = {k: getattr(answer, k, None) for k in _ROW_FIELDS}
            response = answer if answer_json is None else AnswerJSON(answer_json)
        elif isinstance(answer, BaseModel):
            full = answer.model_dump(mode="json")
            response = compact_answer(full)
        else:
            # A summary row is logged as the client received it: an idempotent replay
            # answers with exactly these rows (readers use :func:`answer_facts`).
            full = dict(answer) if native else {k: _plain(v) for k, v in answer.items()}
            # Native rows hold only JSON values, so pydantic-core's encoder writes them
            # (3.4× faster than json.dumps: 0.38 of a 10,000-row batch's 1.8 CPU seconds
            # went to encoding its rows). Same values, compact separators.
            response = AnswerJSON(to_json(full).decode()) if native else full
        industry = request.industry if isinstance(request, Application) else request.get("industry")
        engineering = full.get("engineering_kva")
        return cls(
            application=request,
            response=response,
            source=source,
            model_version=str(full["model_version"]),
            recommended_kva=float(full["recommended_kva"]),
            predicted_peak_kw=float(full["predicted_peak_kw"]),
            engineering_kva=None if engineering is None else float(engineering),
            status_quo_kva=_plain(status_quo_kva),
            industry=None if industry is None else str(industry),
            batch_id=batch_id,
            created_at=created_at,
        )


_ROW_FIELDS = ("model_version", "recommended_kva", "predicted_peak_kw", "engineering_kva")
"""The answer's fields that are also columns of the log row."""

COMPACT_ANSWER_FIELDS: tuple[str, ...] = (
    "customer_id",
    "model_version",
    "source",
    "fallback_reason",
    "basis",
    "recommended_kva",
    "predicted_peak_kw",
    "peak_low90_kw",
    "peak_high90_kw",
    "p_appropriate",
    "p_undersized",
    "p_oversized",
    "engineering_kva",
    "manual_review",
    "supply_voltage",
    "unmatched_lines",
)
"""What a compact (batch) answer keeps, besides ``bounds.clamped``, the resolved
categories (``matches``) and the first five drivers."""


_NATIVE = frozenset({str, int, bool})


def _plain(value: Any) -> Any:
    """Numpy scalars and NaN as JSON-able Python values (NaN and NA as None)."""
    kind = type(value)
    # The common cells first (a batch's summary rows are native already: 250,000 cells
    # of a 10,000-application batch went through the generic path below).
    if kind in _NATIVE or value is None:
        return value
    if kind is float:
        return None if value != value else value
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes | list | dict):
        with contextlib.suppress(TypeError, ValueError):
            value = item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in {"NAType", "NaTType"}:
        return None
    return value


def compact_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    """A full answer's dict, or a vectorised row, in the one compact shape."""
    out = {k: _plain(answer[k]) for k in COMPACT_ANSWER_FIELDS if k in answer}
    if "source" not in out:  # a vectorised row says why it fell back, not "source"
        out["source"] = "model" if _plain(answer.get("fallback_reason")) is None else "fallback"
    bounds = answer.get("bounds")
    clamped = bounds.get("clamped") if isinstance(bounds, Mapping) else answer.get("clamped")
    out["bounds"] = {"clamped": bool(_plain(clamped))}
    matches = answer.get("matches")
    if isinstance(matches, list):
        out["matches"] = [
            {"category": m.get("category")} for m in matches if isinstance(m, Mapping)
        ]
    drivers = answer.get("drivers")
    if isinstance(drivers, list):
        out["drivers"] = drivers[:5]
    return out


def answer_facts(response: Mapping[str, Any]) -> dict[str, Any]:
    """What the monitor and the retrain read from a logged answer, whatever its kind.

    Full, compact or summary row alike: capacity, clamped, fallback, manual review, the
    resolved categories (None where the answer does not list them).
    """
    bounds = response.get("bounds")
    clamped = bounds.get("clamped") if isinstance(bounds, Mapping) else response.get("clamped")
    source = response.get("source")
    fallback = (
        source == "fallback" if source is not None else response.get("fallback_reason") is not None
    )
    matches = response.get("matches")
    categories = (
        [m.get("category") if isinstance(m, Mapping) else None for m in matches]
        if isinstance(matches, list)
        else None
    )
    return {
        "recommended_kva": response.get("recommended_kva"),
        "clamped": bool(clamped),
        "fallback": bool(fallback),
        "manual_review": bool(response.get("manual_review")),
        "categories": categories,
    }


_APPLICATION_CUSTOMER_FIELDS = ("industry", "climate_zone", "floor_area_m2", "employees", "shifts")
_APPLICATION_LINE_FIELDS = ("category", "name", "rated_kw", "quantity", "standby", "duty_cycle",
                            "phase")  # fmt: skip
_INTEGER_FIELDS = frozenset({"employees", "shifts", "quantity"})


def application_from_contract_rows(
    customer: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """One customer's contract rows (CSV path) in the API's application shape.

    Empty cells are left out (the application's default), counts become integers, the
    contract's ``standby`` words become booleans; the ``customer_id`` is not part of an
    application (the compact answer keeps it).
    """

    def value(field: str, raw: Any) -> Any:
        raw = _plain(raw)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if field == "standby":
            if isinstance(raw, str):
                from features.contract import BOOLEAN_TRUE_WORDS

                return raw.strip().lower() in BOOLEAN_TRUE_WORDS
            return bool(raw)
        if field in _INTEGER_FIELDS:
            return int(float(raw))
        if field in {"floor_area_m2", "rated_kw", "duty_cycle"}:
            return float(raw)
        return str(raw)

    out: dict[str, Any] = {}
    for field in _APPLICATION_CUSTOMER_FIELDS:
        v = value(field, customer.get(field))
        if v is not None:
            out[field] = v
    equipment = []
    for line in lines:
        item = {}
        for field in _APPLICATION_LINE_FIELDS:
            v = value(field, line.get(field))
            if v is not None:
                item[field] = v
        equipment.append(item)
    out["equipment"] = equipment
    return out


def is_contract_row_request(request: Mapping[str, Any]) -> bool:
    """A request logged in the old CSV-batch shape ``{"customer": …, "equipment": […]}``."""
    return isinstance(request.get("customer"), Mapping) and "industry" not in request


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
    if isinstance(value, AnswerJSON):
        return value.text
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


def latest_outcomes(recommendation_id: str | None = None) -> Subquery:
    """The latest outcome of each recommendation: the one query every reader uses.

    The latest by ``recorded_at``, then by outcome id (a corrected outcome recorded in the
    same second wins). Columns: every column of ``outcomes``. Used by
    :meth:`Logbook.latest_outcome`-style look-ups here, the pilot's joined frame
    (``training/pilot/log_frame.py``) and the monitor's read (``training/monitor/log.py``).
    """
    ranked_from = select(
        _OUT,
        func.row_number()
        .over(
            partition_by=_OUT.c.recommendation_id,
            order_by=(_OUT.c.recorded_at.desc(), _OUT.c.id.desc()),
        )
        .label("outcome_rank"),
    )
    if recommendation_id is not None:
        ranked_from = ranked_from.where(_OUT.c.recommendation_id == recommendation_id)
    ranked = ranked_from.subquery("ranked_outcomes")
    columns = [c for c in ranked.c if c.name != "outcome_rank"]
    return select(*columns).where(ranked.c.outcome_rank == 1).subquery("latest_outcomes")


def _latest_outcome(conn: Connection, recommendation_id: str) -> LoggedOutcome | None:
    row = conn.execute(select(latest_outcomes(recommendation_id))).mappings().first()
    return None if row is None else LoggedOutcome(**dict(row))


def _same_outcome(existing: LoggedOutcome, values: Mapping[str, Any]) -> bool:
    return (
        math.isclose(existing.granted_kva, float(values["granted_kva"]), rel_tol=1e-9)
        and math.isclose(existing.metered_peak_kw, float(values["metered_peak_kw"]), rel_tol=1e-9)
        and (existing.note or None) == (values.get("note") or None)
    )
