"""BentoML service: ``/recommend``, ``/check``, ``/recommend_batch``, ``/feedback`` and the web page.

Bodies are validated here (not by BentoML) so that a bad input is answered with HTTP
400 and a JSON body naming each field, its value and what was expected; BentoML's own
validation would drop the values. The model is first loaded in ``__init__``; if that
fails the process stays up, ``/readyz`` answers 503 with the reason and the APIs answer
503 too (an exception escaping ``__init__`` would make BentoML crash-loop instead).

A promotion reaches the running service without a restart: :class:`serving.reload.
ModelWatcher` polls the bundle every ``CAPACITY_RELOAD_SECONDS`` (default 5, 0 disables),
loads, verifies and warms a new one off the request path and swaps it in with one
assignment; every API method reads the recommender once, at its start, so a request in
flight answers wholly with one model. A bundle that fails to load leaves the old model
serving, and ``/readyz`` still answers 200: BentoML's ``/readyz`` carries a body only
when it refuses (503), so ``GET /model`` is the detail: served version, bundle, load
time, ``last_reload_error`` (version tried, error, time) and ``reload_seconds``. A
service started with no model answers 503 until one is exported, then serves it.

The endpoints here are thin: request guards (size, depth, content type, load shedding,
security headers, JSON error bodies) are one chain in :mod:`serving.guards`; the batch's
files in :mod:`serving.batch_csv`, its answers in :mod:`serving.batch_answer`, logging
and idempotency keys in :mod:`serving.answer_log`; the environment is read once, in
:class:`serving.settings.ServiceSettings`.

Start: ``bentoml serve serving.service:CapacityService`` (``make serve`` does it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import pathlib
import threading
import time
import urllib.parse
from contextvars import ContextVar
from typing import Any

import bentoml
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from features.metered import MeteredModelRequired
from features.schemas import Application
from serving.answer_log import NOT_RECORDED_HEADER, AnswerLog
from serving.batch_answer import answer_batch
from serving.batch_csv import BATCH_CSV_COLUMNS, check_csv_text_bounds, workbook_sheets
from serving.caps import cap_errors
from serving.errors import (
    UnmatchedLinesError,
    error_response,
    public_text,
    single_error,
    unmatched_errors,
    validation_errors,
)
from serving.guards import install as install_guards
from serving.guards.keys import KeyBackoff
from serving.memory import LARGE_REQUEST, collection_paused, freeze_loaded, release_later
from serving.schemas import CheckRequest, CheckResult, Recommendation
from serving.settings import ServiceSettings
from serving.sheet.document import MEDIA_TYPES, ExportRequest
from serving.sheet.export import export_sheet
from serving.web.app import build_ui_app

# Telemetry off unless the operator turns it on (the Makefile's serve target sets them too).
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


log = logging.getLogger(__name__)


def _not_ready(reason: str) -> JSONResponse:
    """503 naming why; paths and URIs are cut from the public text (the log has them)."""
    return single_error(
        None, None, "a loaded model", f"service not ready: {public_text(reason)}", status=503
    )


_LOGGED_REASONS: set[str] = set()
_LOGGED_LOCK = threading.Lock()


def _log_once(reason: str) -> None:
    """Log a not-ready reason in full (paths, URIs) the first time it is seen."""
    with _LOGGED_LOCK:
        if reason in _LOGGED_REASONS or len(_LOGGED_REASONS) > 1000:
            return
        _LOGGED_REASONS.add(reason)
    log.warning("service not ready: %s", reason)


_REQUEST_RECOMMENDER: ContextVar[Any] = ContextVar("capacity_request_recommender", default=None)
"""The recommender a request pinned at its start (each request runs in its own context)."""


def _model_status() -> tuple[int, dict[str, Any]]:
    try:
        service = bentoml.get_current_service()
    except Exception:
        return 503, {"model_version": None, "ready": False, "not_ready_reason": "starting"}
    status: tuple[int, dict[str, Any]] = service.model_status()
    return status


def _model_status_app() -> Any:
    from serving.reload import status_app

    return status_app(_model_status)


_SERVING = ServiceSettings()
"""Worker processes and threads: the decorator below needs them when the module loads."""


@bentoml.asgi_app(build_ui_app(), path="/")
@bentoml.asgi_app(_model_status_app(), path="/")
@bentoml.service(
    name="capacity-recommender",
    # One worker per CPU by default (CAPACITY_WORKERS, serving/settings.py): every worker
    # loads the bundle once, runs its own reload watcher and logs to the shared database.
    workers=_SERVING.resolved_workers(),
    threads=_SERVING.threads,
    # The limit of work at once is the admission gate's (serving/guards/shedding.py):
    # BentoML's own max_concurrency would answer a bare 429 without Retry-After, behind
    # its metrics, tracing and access log; "concurrency" is only the ideal load it tells
    # an autoscaler, here the gate's slots of all workers.
    traffic={"timeout": 120, **_SERVING.traffic_concurrency()},
)
class CapacityService:
    """Connection-capacity recommendations (报装容量推荐)."""

    def __init__(self) -> None:
        self.settings = ServiceSettings()  # the environment, read once
        self._live: Any = None  # serving.reload.LoadedModel, swapped whole in one assignment
        self.watcher: Any = None
        self.logbook: Any = None
        self.model_error: str | None = None
        self.logbook_error: str | None = None
        started = time.perf_counter()
        try:
            from serving.core import RecommenderConfig
            from serving.reload import ModelWatcher
            from serving.settings import RiskSettings, Settings, TariffSettings

            tariff = TariffSettings()
            self.watcher = ModelWatcher(
                Settings(),
                self._swap,
                config=RecommenderConfig(
                    capacity_price_yuan_per_kva_month=tariff.price_yuan_per_kva_month,
                    demand_price_yuan_per_kw_month=tariff.demand_price_yuan_per_kw_month,
                    min_demand_share=tariff.min_demand_share,
                    max_undersized_risk=RiskSettings().max_undersized_risk,
                ),
            )
            # The first load (verified, warmed with one answer) happens here so that the
            # first request is not slow; later versions load in the watcher's thread.
            self.watcher.check()
            self.watcher.start()
        except Exception as exc:  # keep the process up; /readyz reports why
            self.model_error = f"model could not be loaded: {exc}"
        if self.settings.log_enabled:
            try:
                from serving.logbook import Logbook

                # Degraded rather than down: if the database cannot be reached now, rows are
                # spooled and the log retries it (GET /readyz shows the log's state).
                self.logbook = Logbook.open(tolerate_unavailable=True)
            except Exception as exc:
                self.logbook_error = f"recommendation log could not be opened: {exc}"
        try:
            # The daily monitor's figures as gauges on /metrics (serving/monitor_gauges.py).
            from serving.monitor_gauges import start_publisher
            from serving.settings import Settings as _Settings

            start_publisher(_Settings().home)
        except Exception:  # pragma: no cover - metrics are a nicety, not a requirement
            pass
        self.answers = AnswerLog(self.logbook)
        # What was loaded lives as long as the worker: out of the collector's passes.
        freeze_loaded()
        self.startup_seconds = time.perf_counter() - started

    def _swap(self, loaded: Any) -> None:
        """The watcher's callback: serve ``loaded`` from the next request on."""
        self._live = loaded

    @property
    def recommender(self) -> Any:
        """The recommender of the request in progress (pinned at its start), else the live one."""
        pinned = _REQUEST_RECOMMENDER.get()
        if pinned is not None:
            return pinned
        live = self._live
        return None if live is None else live.recommender

    def _pin_recommender(self) -> Any:
        """Read the live recommender once; the rest of this request answers with it."""
        live = self._live
        recommender = None if live is None else live.recommender
        _REQUEST_RECOMMENDER.set(recommender)
        return recommender

    @property
    def bundle_path(self) -> str | None:
        """The real directory of the bundle being served."""
        live = self._live
        return None if live is None else str(live.bundle)

    @property
    def not_ready_reason(self) -> str | None:
        """Why the service cannot answer (no model, no recommendation log), or None."""
        reasons = []
        if self._live is None:
            error = self.watcher.last_error if self.watcher is not None else None
            if self.model_error:
                reasons.append(self.model_error)
            elif error is not None:
                reasons.append(f"model could not be loaded: {error.error}")
            else:
                reasons.append("model could not be loaded: none loaded yet")
        if self.logbook_error:
            reasons.append(self.logbook_error)
        elif self.logbook is not None:
            spool_error = self.logbook.spool_error
            if spool_error:  # nothing could be recorded if the database refused a row
                reasons.append(f"recommendation log cannot record: {spool_error}")
        if not reasons:
            return None
        # Public (/readyz, /model, 503 bodies): no absolute paths or URIs; the log has them.
        full = "; ".join(reasons)
        _log_once(full)
        return public_text(full)

    def __is_ready__(self) -> bool:
        # 200 even after a failed reload while the old model serves: GET /model says so.
        reason = self.not_ready_reason
        if reason:
            raise HTTPException(503, detail=reason)
        return True

    def model_status(self) -> tuple[int, dict[str, Any]]:
        """``GET /model``: what is served, the last failed reload, the polling interval."""
        if self.watcher is not None:
            status = self.watcher.status()
        else:
            status = {
                "model_version": None,
                "bundle": None,
                "loaded_at": None,
                "last_reload_error": None,
                "reload_seconds": None,
            }
        reason = self.not_ready_reason
        status.update(ready=reason is None, not_ready_reason=reason)
        if status.get("on_disk_error"):
            # Still ready (the model in memory answers), but not well: a restart would fail.
            status.update(degraded=True)
        if self.logbook is not None:
            # Degraded is still ready (answers are served, rows are spooled): the log's
            # state is in the body, not in the status code.
            try:
                log_state: dict[str, Any] = self.logbook.health()
            except Exception as exc:
                log_state = {"state": "degraded", "last_error": type(exc).__name__}
            status.update(
                log=log_state,
                degraded=bool(status.get("degraded")) or log_state.get("state") != "ok",
            )
        return 200, status

    @bentoml.on_shutdown
    def _stop_watcher(self) -> None:
        if self.watcher is not None:
            self.watcher.stop(timeout=2.0)

    @bentoml.on_shutdown
    def _close_logbook(self) -> None:
        # Writes the queue (or spools it), replays what it can, truncates the WAL.
        if self.logbook is not None:
            try:
                self.logbook.close()
            except Exception:
                logging.getLogger(__name__).exception("closing the recommendation log failed")

    # -- helpers -------------------------------------------------------------------------
    def _not_recorded(self, rid: str | None) -> dict[str, str]:
        """The header telling that an answer's row could not be recorded (else none)."""
        if self.logbook is None or rid is not None:
            return {}
        return {NOT_RECORDED_HEADER: "false"}

    def _answer(self, model: Any, rid: str | None) -> Response:
        """An answer serialised once, saying when the log could not record it."""
        response = _json(model)
        response.headers.update(self._not_recorded(rid))
        return response

    # -- APIs ----------------------------------------------------------------------------
    @bentoml.api(route="/recommend")
    def recommend(self, body: Any, /) -> Recommendation:
        """Recommend a capacity for one application (see /docs for the schema and examples)."""
        recommender = self._pin_recommender()
        if recommender is None:
            return _not_ready(str(self.not_ready_reason))  # type: ignore[return-value]
        app = _parse(Application, body)
        if isinstance(app, Response):
            return app  # type: ignore[return-value]
        try:
            rec = recommender.recommend(app)
        except UnmatchedLinesError as exc:
            return error_response(unmatched_errors(exc.lines))  # type: ignore[return-value]
        except MeteredModelRequired:
            return error_response(recommender.existing_errors_of(app))  # type: ignore[return-value]
        over = cap_errors(rec)
        if over:
            return error_response(over)  # type: ignore[return-value]
        # Serialised once (without its id): the log row keeps this text, the body is
        # the same text with the id put in (one serialisation of ~20 kB less per answer).
        text = rec.model_dump_json()
        rec.id = self.answers.one(app, rec, "api", answer_json=text)
        response = Response(_with_id(text, rec.id), media_type="application/json")
        response.headers.update(self._not_recorded(rec.id))
        return response  # type: ignore[return-value]

    @bentoml.api(route="/check")
    def check(self, body: Any, /) -> CheckResult:
        """Planner check: verdict on a proposed capacity beside the recommendation."""
        recommender = self._pin_recommender()
        if recommender is None:
            return _not_ready(str(self.not_ready_reason))  # type: ignore[return-value]
        req = _parse(CheckRequest, body)
        if isinstance(req, Response):
            return req  # type: ignore[return-value]
        try:
            result = recommender.check(req.application, req.proposed_kva)
        except UnmatchedLinesError as exc:
            return error_response(unmatched_errors(exc.lines, "application."))  # type: ignore[return-value]
        except MeteredModelRequired:
            return error_response(  # type: ignore[return-value]
                recommender.existing_errors_of(req.application, "application.")
            )
        over = cap_errors(result.recommendation, "application.")
        if over:
            return error_response(over)  # type: ignore[return-value]
        result.recommendation.id = self.answers.one(
            req.application, result.recommendation, "api", proposed_kva=req.proposed_kva
        )
        return self._answer(result, result.recommendation.id)  # type: ignore[return-value]

    @bentoml.api(route="/export/sheet")
    def export_sheet(self, body: Any, /) -> Any:
        """The calculation sheet of one application as a PDF, xlsx or docx file."""
        recommender = self._pin_recommender()
        if recommender is None:
            return _not_ready(str(self.not_ready_reason))
        req = _parse(ExportRequest, body)
        if isinstance(req, Response):
            return req
        try:
            exported = export_sheet(recommender, req)
        except MeteredModelRequired:
            return error_response(recommender.existing_errors_of(req.application, "application."))
        except ValueError as exc:
            return single_error(
                "application",
                None,
                "an equipment list or a floor area (the calculation sheet needs one of them)",
                str(exc),
            )
        over = cap_errors(exported.recommendation, "application.")
        if over:
            return error_response(over)
        rid = self.answers.one(
            req.application, exported.recommendation, "api", proposed_kva=req.proposed_kva
        )
        headers = {
            "Content-Disposition": "attachment; filename*=UTF-8''"
            + urllib.parse.quote(exported.filename),
            "X-Recommendation-Id": rid or "",
            **self._not_recorded(rid),
        }
        return Response(exported.content, media_type=exported.media_type, headers=headers)

    @bentoml.api(route="/export/batch")
    def export_batch(self, body: Any, /) -> Any:
        """A /recommend_batch CSV answer as an Excel workbook (nothing is scored again)."""
        from serving.sheet.batch import BatchExportRequest, batch_csv_localised, batch_xlsx

        req = _parse(BatchExportRequest, body)
        if isinstance(req, Response):
            return req
        too_big = check_csv_text_bounds(req.csv, "csv")
        if too_big is not None:
            return too_big
        try:
            # Headers and coded values in the page's language when asked (req.lang).
            if req.format == "csv":
                content = batch_csv_localised(req.csv, BATCH_CSV_COLUMNS, req.lang, req.rows)
            else:
                content = batch_xlsx(req.csv, BATCH_CSV_COLUMNS, req.lang, req.rows)
        except ValueError as exc:
            return single_error("csv", None, "the CSV answer of /recommend_batch", str(exc))
        return Response(
            content,
            media_type="text/csv; charset=utf-8" if req.format == "csv" else MEDIA_TYPES["xlsx"],
            headers={
                "Content-Disposition": 'attachment; filename="'
                + ("rejects" if req.rows == "rejected" else "recommendations")
                + f'.{req.format}"'
            },
        )

    @bentoml.api(route="/recommend_batch")
    def recommend_batch(
        self,
        applications: Any = None,
        customers: pathlib.Path = None,  # type: ignore[assignment]  # BentoML: no Optional[Path]
        equipment: pathlib.Path = None,  # type: ignore[assignment]
        workbook: pathlib.Path = None,  # type: ignore[assignment]
        output: Any = "json",
        detail: Any = "summary",
        ctx: bentoml.Context = None,  # type: ignore[assignment]
        meter_readings: pathlib.Path = None,  # type: ignore[assignment]
    ) -> Any:
        """Up to 10,000 applications: a JSON list, or contract CSVs (customers + equipment).

        Instead of the two CSV files, ``workbook`` may be an Excel file (.xlsx) with the
        sheets ``customers`` and (optionally) ``equipment`` in the same columns. Existing
        customers (增容 / 减容 / 暂停) send their ``meter_readings`` CSV beside the customers.
        ``output``: ``json`` or ``csv``. ``detail`` (JSON list input): ``summary`` rows
        (default; the CSV columns) or ``full`` answers with every explanation. An optional
        ``Idempotency-Key`` header (1-128 printable characters): a repeat with the same key
        and body answers with the logged rows and ids (nothing new is logged); the same key
        with another body is a 409.
        """
        answer: Any
        if workbook is not None and (customers is not None or equipment is not None):
            answer = single_error(
                "workbook",
                None,
                "either a workbook or customers/equipment CSV files, not both",
                "two uploads of the same batch",
            )
        else:
            sheets = workbook_sheets(workbook) if workbook is not None else None
            if isinstance(sheets, Response):
                answer = sheets
            else:
                if sheets is not None:
                    customers, equipment = sheets
                # Pinned for this request: the whole batch answers with one model.
                recommender = self._pin_recommender()
                if recommender is None:
                    answer = _not_ready(str(self.not_ready_reason))
                else:
                    # A batch's objects all live until it is answered: the collector's
                    # passes over them found nothing and cost half of its validation.
                    with collection_paused():
                        answer = answer_batch(
                            recommender,
                            self.answers,
                            applications,
                            customers,
                            equipment,
                            output,
                            detail,
                            ctx,
                            meter_readings,
                        )
                    # A large batch's objects are freed once the answer has left; then
                    # hand the pages back to the system (serving/memory.py).
                    large = customers is not None or (
                        isinstance(applications, list) and len(applications) >= LARGE_REQUEST
                    )
                    if large:
                        release_later()
        if ctx is not None and isinstance(answer, Response):
            # With a Context parameter BentoML answers with ctx.response's status.
            ctx.response.status_code = answer.status_code
            if "retry-after" in answer.headers:
                ctx.response.headers["Retry-After"] = answer.headers["retry-after"]
        return answer

    @bentoml.api(route="/feedback")
    def feedback(self, body: Any, /, ctx: bentoml.Context) -> dict[str, Any]:
        """Record the granted capacity and metered peak of an issued recommendation (API key)."""
        expected_key = self.settings.feedback_api_key
        given = ctx.request.headers.get("x-api-key", "")
        client = ctx.request.client.host if ctx.request.client else "(unknown)"
        right = (
            bool(expected_key)
            and expected_key == expected_key.strip()
            and hmac.compare_digest(
                given.encode("utf-8", "surrogateescape"), expected_key.encode("utf-8")
            )
        )
        if not right:
            refused = _wrong_key(expected_key, given, client)
            ctx.response.status_code = refused.status_code
            if "retry-after" in refused.headers:
                ctx.response.headers["Retry-After"] = refused.headers["retry-after"]
            return refused  # type: ignore[return-value]
        _KEY_BACKOFF.succeeded(_key_slot(client, given))
        if self.logbook is None:
            ctx.response.status_code = 503
            return _not_ready("recommendation log not available")  # type: ignore[return-value]
        from serving.logbook import (
            LogUnavailableError,
            OutcomeConflictError,
            UnknownRecommendationError,
        )
        from serving.openapi import FeedbackRequest

        try:
            req = FeedbackRequest.model_validate(body)
        except ValidationError as exc:
            ctx.response.status_code = 400
            return error_response(validation_errors(exc))  # type: ignore[return-value]
        try:
            outcome_id = self.logbook.record_outcome(
                req.recommendation_id,
                req.granted_kva,
                req.metered_peak_kw,
                source="api",
                note=req.note,
            )
        except UnknownRecommendationError as exc:
            ctx.response.status_code = 404
            return single_error(  # type: ignore[return-value]
                "recommendation_id",
                req.recommendation_id,
                "the id of an issued recommendation",
                str(exc),
                404,
            )
        except LogUnavailableError as exc:
            # Degraded log (the id may be spooled): never a 404 for an issued id.
            logging.getLogger(__name__).warning("feedback: %s", exc)
            ctx.response.status_code = 503
            ctx.response.headers["Retry-After"] = "5"
            degraded = single_error(
                "recommendation_id",
                req.recommendation_id,
                "a writable recommendation log",
                "log degraded, retry: the outcome could not be recorded now",
                503,
            )
            degraded.headers["Retry-After"] = "5"
            return degraded  # type: ignore[return-value]
        except OutcomeConflictError as exc:
            ctx.response.status_code = 409
            conflict = single_error(
                "recommendation_id",
                req.recommendation_id,
                f"the values of its recorded outcome {exc.existing.id}, or none",
                str(exc).replace(" or replace=True", ""),
                409,
            )
            return conflict  # type: ignore[return-value]
        except ValueError as exc:
            ctx.response.status_code = 400
            return single_error(None, None, "positive granted_kva and metered_peak_kw", str(exc))  # type: ignore[return-value]
        return {
            "recorded": True,
            "outcome_id": outcome_id,
            "recommendation_id": req.recommendation_id,
        }

    @bentoml.api(route="/trivial")
    def trivial(self, body: Any, /) -> dict[str, Any]:
        """A do-nothing endpoint: the benchmark's baseline for framework overhead."""
        return {"ok": True}


def _parse(model: Any, body: Any) -> Any:
    """``model.model_validate(body)``, or the 400 response naming every bad field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        return error_response(validation_errors(exc))


_NO_ID = '{"id":null'
"""How a Recommendation's JSON starts before its log id is known (``id`` is its first field)."""


def _with_id(text: str, rid: str | None) -> str:
    """A Recommendation's JSON made with ``id`` None, as if it had been made with ``rid``.

    The same bytes as ``model_dump_json()`` after setting the id: the id is the first
    field, and a log id (hex digits) needs no escaping.
    """
    if rid is None:
        return text
    if not text.startswith(_NO_ID):  # pragma: no cover - the schema's first field moved
        raise ValueError("a Recommendation's JSON must start with its id")
    return '{"id":' + json.dumps(rid) + text[len(_NO_ID) :]


def _json(model: Any) -> Response:
    """Serialise an answer once with pydantic-core (BentoML would re-validate the model)."""
    return Response(model.model_dump_json(), media_type="application/json")


_KEY_BACKOFF = KeyBackoff()
"""Wrong feedback keys, counted per address and per (address, key): a right key is never
held back (many clients may share an ingress's address), a wrong one is backed off."""


def _key_slot(client: str, key: str) -> str:
    """The back-off entry of one key from one address (the key itself is not kept)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{client}|{digest}"


def _wrong_key(expected_key: str, given: str, client: str) -> JSONResponse:
    """The 401 (or, backed off, 429) answer to a missing or wrong feedback key."""
    if not expected_key:
        return single_error(
            "X-API-Key",
            None,
            "the configured feedback API key",
            "feedback is disabled: no API key is configured (CAPACITY_FEEDBACK_API_KEY)",
            401,
        )
    if expected_key != expected_key.strip():
        # HTTP drops white space around a header value (RFC 9110 5.5), so "key " and "key"
        # arrive alike: such a configured key would accept a key it is not.
        return single_error(
            "X-API-Key",
            None,
            "a configured key without leading or trailing white space",
            "feedback is disabled: CAPACITY_FEEDBACK_API_KEY has leading or trailing white "
            "space, which an HTTP header cannot carry",
            401,
        )
    slot = _key_slot(client, given)
    wait = max(_KEY_BACKOFF.blocked_for(client), _KEY_BACKOFF.blocked_for(slot))
    if wait > 0:  # too many wrong keys from this address, or this key again
        refused = single_error(
            "X-API-Key",
            None,
            f"at most {_KEY_BACKOFF.limit} wrong keys in {_KEY_BACKOFF.window:g} s",
            f"too many wrong API keys from this address; retry in {wait} s",
            429,
        )
        refused.headers["Retry-After"] = str(wait)
        return refused
    _KEY_BACKOFF.failed(client)
    _KEY_BACKOFF.failed(slot)
    if not given:
        reason = "missing X-API-Key header"
    elif given != given.strip():
        reason = "wrong API key (it has leading or trailing white space)"
    else:
        reason = "wrong API key"
    return single_error("X-API-Key", None, "the configured feedback API key", reason, 401)


# Every request passes one guard chain (serving/guards): headers, JSON errors, shedding,
# the body guard and /readyz's body, in that order.
install_guards(CapacityService, status=_model_status)
