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

Start: ``bentoml serve serving.service:CapacityService`` (``make serve`` does it).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hmac
import io
import json
import logging
import math
import os
import pathlib
import re
import threading
import time
import urllib.parse
import uuid
from contextvars import ContextVar
from typing import Any, Literal

import bentoml
from pydantic import TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from features.schemas import Application
from serving.errors import (
    UnmatchedLinesError,
    error_response,
    public_text,
    safe_text,
    single_error,
    unmatched_errors,
    validation_errors,
)
from serving.schemas import CheckRequest, CheckResult, Recommendation
from serving.settings import ServingSettings
from serving.sheet.document import MEDIA_TYPES, ExportRequest
from serving.sheet.export import export_sheet
from serving.web.app import build_ui_app

# Telemetry off unless the operator turns it on (the Makefile's serve target sets them too).
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

MAX_BODY_BYTES = int(os.environ.get("CAPACITY_MAX_BODY_BYTES", str(8 * 1024 * 1024)))
"""Largest request body (default 8 MiB): a 10,000-application batch of 30-line lists
(21.5 MiB) peaked at 1.35 GB resident; 8 MiB (10,000 typical applications are 4.8 MiB)
keeps a batch well under 1 GB (benchmarks/bench_load.py --batch-apps)."""
MAX_BATCH = 10_000
MAX_JSON_DEPTH = 32
"""Deepest JSON nesting a body may have (a batch of applications needs 4 levels)."""
JSON_PATHS = (
    "/recommend",
    "/check",
    "/recommend_batch",
    "/feedback",
    "/trivial",
    "/export/sheet",
    "/export/batch",
)
BENCHMARK_PATHS = frozenset({"/trivial"})
"""Endpoints that exist for the benchmarks only: 404 unless CAPACITY_BENCHMARK_ENDPOINTS=1."""
UNKNOWN_ROUTE_LABEL = "/{unknown}"
"""The metrics ``endpoint`` label of every path no route serves (one series, not one each)."""
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""The page loads only its own module scripts and style sheet (no inline script/style)."""
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Swagger UI (``/docs``) sets inline styles and data: images; its scripts are files."""
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
BATCH_CSV_COLUMNS = (
    "customer_id",
    "status",
    "recommended_kva",
    "predicted_peak_kw",
    "peak_low_kw",
    "peak_high_kw",
    "p_appropriate",
    "p_undersized",
    "p_oversized",
    "engineering_kva",
    "supply_voltage",
    "two_part_tariff",
    "monthly_capacity_charge_yuan",
    "applied_kva",
    "applied_verdict",
    "applied_p_appropriate",
    "applied_yearly_difference_yuan",
    "basis",
    "clamped",
    "manual_review",
    "incomplete_list",
    "unmatched_lines",
    "flags",
    "model_version",
    "recommendation_id",
    "reason",
)
CSV_DIGITS: dict[str, int] = {
    "predicted_peak_kw": 1,
    "peak_low_kw": 1,
    "peak_high_kw": 1,
    "p_appropriate": 3,
    "p_undersized": 3,
    "p_oversized": 3,
    "applied_p_appropriate": 3,
    "monthly_capacity_charge_yuan": 0,
    "applied_yearly_difference_yuan": 0,
}
"""Decimals printed per CSV column: kW to 0.1 kW, probabilities to 0.1 %, yuan whole.
Capacities (kVA) print as the standard value they are (630, not 630.0)."""
CSV_KVA_COLUMNS = frozenset({"recommended_kva", "engineering_kva", "applied_kva"})
_APPS = TypeAdapter(list[Application])


BATCH_PATH = "/recommend_batch"
BATCH_JSON_KEYS = frozenset({"applications", "output", "detail"})
BATCH_FILE_FIELDS = frozenset({"customers", "equipment", "workbook"})


def _non_finite(doc: Any) -> list[tuple[str, str]]:
    """Paths of NaN/Infinity numbers in a parsed JSON document (JSON itself has none)."""
    return [(path, value) for kind, path, value in _inspect(doc) if kind == "non_finite"]


def _path(node: tuple[Any, ...] | None) -> str:
    """Render a path chain ``(parent, key)`` as ``a.b[2].c``."""
    parts: list[str] = []
    while node is not None:
        node, key = node
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    text = "".join(reversed(parts)).removeprefix(".")
    return safe_text(text) or "(body)"


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and any("\ud800" <= ch <= "\udfff" for ch in text)


def _inspect(doc: Any) -> list[tuple[str, str, str]]:
    """``(kind, path, value)`` of every non-finite number and lone-surrogate text (iterative).

    ``json.loads`` turns ``NaN``/``1e400`` into floats JSON has no spelling for and
    ``"\ud800"`` into a str that cannot be encoded as UTF-8: either would break the answer
    or its error body later, so the guard refuses them up front, naming where they are.
    """
    hits: list[tuple[str, str, str]] = []
    stack: list[tuple[Any, tuple[Any, ...] | None]] = [(doc, None)]
    while stack and len(hits) < 20:
        value, where = stack.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                hits.append(("non_finite", _path(where), str(value)))
        elif isinstance(value, str):
            if _has_surrogate(value):
                hits.append(("surrogate", _path(where), safe_text(value[:200])))
        elif isinstance(value, dict):
            for key, item in value.items():
                if _has_surrogate(key):
                    hits.append(("surrogate", _path((where, key)), safe_text(key[:200])))
                stack.append((item, (where, key)))
        elif isinstance(value, list):
            stack.extend((item, (where, i)) for i, item in enumerate(value))
    return sorted(hits, key=lambda hit: hit[1])


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text, without parsing it (no recursion).

    Strings are cut out first (brackets inside them do not count); an unterminated string
    leaves its brackets counted, which can only over-estimate (the body is invalid anyway).
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    import numpy as np

    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def _media_type(headers: dict[bytes, bytes]) -> str:
    return headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()


class BodyGuard:
    """ASGI middleware checking every POST body before BentoML parses it.

    * 413 when the body exceeds ``max_bytes`` (checked from Content-Length or, for chunked
      bodies, while buffering: raising from ``receive()`` became a 500);
    * 415 unless the Content-Type is ``application/json`` (or, on ``/recommend_batch``
      only, ``multipart/form-data``): BentoML would guess a parser from anything else;
    * 400 when a JSON endpoint's body is not strict JSON: malformed (BentoML answers a
      malformed root body with a 500), nested deeper than ``MAX_JSON_DEPTH`` (checked by a
      scan of the text before ``json.loads``, whose recursion once raised an uncaught
      RecursionError), NaN/Infinity (they would break the JSON error body) or a lone
      UTF-16 surrogate in any text (it cannot be encoded as UTF-8: the error renderer
      crashed and ``/recommend_batch`` hung for 120 s);
    * only ``/recommend_batch`` accepts multipart, and only well-formed forms whose
      ``customers``/``equipment`` parts are file uploads: BentoML would treat a text part
      as a URL and fetch it from the server;
    * ``/recommend_batch`` JSON must be an object with ``applications`` (and ``output``).

    Every refusal carries the service's JSON error body.
    """

    def __init__(self, app: Any, max_bytes: int, json_paths: tuple[str, ...]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_paths = json_paths

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Check the body of POST requests, then pass them on."""
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        try:
            declared = None if length is None else int(length)
        except ValueError:
            declared = None
        if declared is not None and declared > self.max_bytes:
            await self._too_large(scope, receive, send, declared)
            return
        path = scope.get("path")
        if path not in self.json_paths:
            await self.app(scope, receive, send)
            return
        media = _media_type(headers)
        if media != "application/json" and not (
            media == "multipart/form-data" and path == BATCH_PATH
        ):
            allowed = "application/json" + (" or multipart/form-data" if path == BATCH_PATH else "")
            response = single_error(
                "Content-Type",
                media or None,
                allowed,
                f"{path} does not take a {media or 'body without a Content-Type'}",
                415,
            )
            await response(scope, receive, send)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            total += len(message.get("body", b""))
            if total > self.max_bytes:
                await self._too_large(scope, receive, send, total)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replay = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay_receive() -> Any:
            return replay.pop() if replay else {"type": "http.disconnect"}

        if media == "multipart/form-data":
            problem = await self._check_form(scope, path, body)
        else:
            problem = self._check_json(path, body)
        if problem is not None:
            await problem(scope, receive, send)
            return
        await self.app(scope, replay_receive, send)

    def _check_json(self, path: str, body: bytes) -> JSONResponse | None:
        depth = json_depth(body)
        if depth > MAX_JSON_DEPTH:
            return single_error(
                "(body)",
                depth,
                f"JSON nested at most {MAX_JSON_DEPTH} levels deep",
                f"the request body nests {depth} levels deep",
            )
        try:
            doc = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return single_error(
                "(body)",
                body[:80].decode("utf-8", "replace"),
                "a JSON document (UTF-8, no NaN or Infinity)",
                f"the request body is not valid JSON: {exc}",
            )
        bad = _inspect(doc)
        if bad:
            return error_response(
                [
                    {
                        "field": field,
                        "value": value,
                        "expected": "a finite number"
                        if kind == "non_finite"
                        else "valid Unicode text (no lone surrogates)",
                        "message": f"{value} is not a number JSON allows"
                        if kind == "non_finite"
                        else "the text contains a lone UTF-16 surrogate (\\ud800-\\udfff)",
                    }
                    for kind, field, value in bad
                ]
            )
        if path == BATCH_PATH:
            if not isinstance(doc, dict):
                return single_error(
                    "(body)",
                    type(doc).__name__,
                    'an object {"applications": [...], "output": "json"|"csv"}',
                    "the batch body must be a JSON object",
                )
            unknown = sorted(set(doc) - BATCH_JSON_KEYS)
            if unknown:
                return single_error(
                    unknown[0],
                    doc[unknown[0]],
                    f"only {sorted(BATCH_JSON_KEYS)} (or a multipart upload)",
                    f"unknown field(s) {unknown}",
                )
        return None

    async def _check_form(self, scope: Any, path: str, body: bytes) -> JSONResponse | None:
        from starlette.datastructures import UploadFile
        from starlette.requests import Request

        if path != BATCH_PATH:
            return single_error(
                "(body)", None, "application/json", f"{path} takes a JSON body, not a form upload"
            )
        sent = [{"type": "http.request", "body": body, "more_body": False}]

        async def once() -> Any:
            return sent.pop() if sent else {"type": "http.disconnect"}

        try:
            async with Request(scope, once).form() as form:
                for name, value in form.multi_items():
                    if name in BATCH_FILE_FIELDS and not isinstance(value, UploadFile):
                        return single_error(
                            name, str(value)[:100], "a file upload", f"'{name}' must be a file part"
                        )
                    if name not in BATCH_FILE_FIELDS | {"output", "detail"}:
                        return single_error(
                            name,
                            None,
                            "customers, equipment or workbook (files), output and detail",
                            "unknown form field",
                        )
        except Exception as exc:  # malformed multipart in any way: the client's fault
            return single_error(
                "(body)",
                None,
                "a well-formed multipart/form-data upload",
                f"unreadable form: {exc}",
            )
        return None

    async def _too_large(self, scope: Any, receive: Any, send: Any, size: int) -> None:
        response = single_error(
            None, size, f"a body of at most {self.max_bytes} bytes", "request body too large", 413
        )
        await response(scope, receive, send)


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


_SERVING = ServingSettings()
"""Worker processes and threads: the decorator below needs them when the module loads."""


@bentoml.asgi_app(build_ui_app(), path="/")
@bentoml.asgi_app(_model_status_app(), path="/")
@bentoml.service(
    name="capacity-recommender",
    # One worker per CPU by default (CAPACITY_WORKERS, serving/settings.py): every worker
    # loads the bundle once, runs its own reload watcher and logs to the shared database.
    workers=_SERVING.resolved_workers(),
    threads=_SERVING.threads,
    traffic={"timeout": 120},
)
class CapacityService:
    """Connection-capacity recommendations (报装容量推荐)."""

    def __init__(self) -> None:
        self._live: Any = None  # serving.reload.LoadedModel, swapped whole in one assignment
        self.watcher: Any = None
        self.logbook: Any = None
        self.model_error: str | None = None
        self.logbook_error: str | None = None
        started = time.perf_counter()
        try:
            from serving.core import RecommenderConfig
            from serving.reload import ModelWatcher
            from serving.settings import Settings, TariffSettings

            tariff = TariffSettings()
            self.watcher = ModelWatcher(
                Settings(),
                self._swap,
                config=RecommenderConfig(
                    capacity_price_yuan_per_kva_month=tariff.price_yuan_per_kva_month,
                    demand_price_yuan_per_kw_month=tariff.demand_price_yuan_per_kw_month,
                    min_demand_share=tariff.min_demand_share,
                ),
            )
            # The first load (verified, warmed with one answer) happens here so that the
            # first request is not slow; later versions load in the watcher's thread.
            self.watcher.check()
            self.watcher.start()
        except Exception as exc:  # keep the process up; /readyz reports why
            self.model_error = f"model could not be loaded: {exc}"
        if os.environ.get("CAPACITY_LOG_DISABLED", "") != "1":
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
        if self.logbook is not None:
            # Degraded is still ready (answers are served, rows are spooled): the log's
            # state is in the body, not in the status code.
            try:
                log_state: dict[str, Any] = self.logbook.health()
            except Exception as exc:
                log_state = {"state": "degraded", "last_error": type(exc).__name__}
            status.update(log=log_state, degraded=log_state.get("state") != "ok")
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
    def _log_one(
        self, app: Application, rec: Recommendation, source: str, proposed_kva: float | None = None
    ) -> str | None:
        if self.logbook is None:
            return None
        # The models themselves: the logbook serialises them once with pydantic-core
        # (the same JSON as dumping to dicts and then to text, at a fraction of the cost).
        # defer: the row is validated and its id issued here, the database write happens
        # in the logbook's writer thread; every read of the log (e.g. /feedback) writes
        # the queue first, so the id returned here is always found. A database that
        # refuses the row makes the logbook spool it: the answer is served regardless.
        try:
            return str(
                self.logbook.record(
                    app,
                    rec,
                    source=source,
                    model_version=rec.model_version,
                    recommended_kva=rec.recommended_kva,
                    predicted_peak_kw=rec.predicted_peak_kw,
                    engineering_kva=rec.engineering_kva,
                    status_quo_kva=proposed_kva,
                    industry=app.industry,
                    defer=True,
                )
            )
        except ValueError:
            raise  # an invalid row: as before
        except Exception:
            logging.getLogger(__name__).exception("logging a recommendation failed")
            return None

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
        rec.id = self._log_one(app, rec, "api")
        return _json(rec)  # type: ignore[return-value]

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
        result.recommendation.id = self._log_one(
            req.application, result.recommendation, "api", proposed_kva=req.proposed_kva
        )
        return _json(result)  # type: ignore[return-value]

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
        except ValueError as exc:
            return single_error(
                "application",
                None,
                "an equipment list or a floor area (the calculation sheet needs one of them)",
                str(exc),
            )
        rid = self._log_one(
            req.application, exported.recommendation, "api", proposed_kva=req.proposed_kva
        )
        headers = {
            "Content-Disposition": "attachment; filename*=UTF-8''"
            + urllib.parse.quote(exported.filename),
            "X-Recommendation-Id": rid or "",
        }
        return Response(exported.content, media_type=exported.media_type, headers=headers)

    @bentoml.api(route="/export/batch")
    def export_batch(self, body: Any, /) -> Any:
        """A /recommend_batch CSV answer as an Excel workbook (nothing is scored again)."""
        from serving.sheet.batch import BatchExportRequest, batch_xlsx

        req = _parse(BatchExportRequest, body)
        if isinstance(req, Response):
            return req
        try:
            content = batch_xlsx(req.csv, BATCH_CSV_COLUMNS)
        except ValueError as exc:
            return single_error("csv", None, "the CSV answer of /recommend_batch", str(exc))
        return Response(
            content,
            media_type=MEDIA_TYPES["xlsx"],
            headers={"Content-Disposition": 'attachment; filename="recommendations.xlsx"'},
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
    ) -> Any:
        """Up to 10,000 applications: a JSON list, or contract CSVs (customers + equipment).

        Instead of the two CSV files, ``workbook`` may be an Excel file (.xlsx) with the
        sheets ``customers`` and (optionally) ``equipment`` in the same columns.
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
            sheets = _workbook_sheets(workbook) if workbook is not None else None
            if isinstance(sheets, Response):
                answer = sheets
            else:
                if sheets is not None:
                    customers, equipment = sheets
                answer = self._recommend_batch(
                    applications, customers, equipment, output, detail, ctx
                )
        if ctx is not None and isinstance(answer, Response):
            # With a Context parameter BentoML answers with ctx.response's status.
            ctx.response.status_code = answer.status_code
            if "retry-after" in answer.headers:
                ctx.response.headers["Retry-After"] = answer.headers["retry-after"]
        return answer

    def _recommend_batch(
        self,
        applications: Any,
        customers: Any,
        equipment: Any,
        output: Any,
        detail: Any,
        ctx: Any,
    ) -> Any:
        # Pinned for this request: every self.recommender below (and in _batch_csv) is it.
        if self._pin_recommender() is None:
            return _not_ready(str(self.not_ready_reason))
        if output not in ("json", "csv"):
            return single_error("output", output, "'json' or 'csv'", "unknown output format")
        if detail not in ("summary", "full"):
            return single_error("detail", detail, "'summary' or 'full'", "unknown detail level")
        fmt: Literal["json", "csv"] = output
        key, bad_key = self._log_key(ctx)
        if bad_key is not None:
            return bad_key
        if customers is not None or equipment is not None:
            if detail == "full":
                return single_error(
                    "detail",
                    detail,
                    "'summary' for contract CSV uploads (send the applications as a JSON list "
                    "for full answers)",
                    "detail=full is answered for JSON application lists only",
                )
            return self._batch_csv(customers, equipment, fmt, key)
        if applications is None:
            return single_error(
                "applications",
                None,
                "a JSON list of applications, or 'customers' and 'equipment' CSV files",
                "nothing to score",
            )
        if isinstance(applications, list) and len(applications) > MAX_BATCH:
            return single_error(
                "applications",
                len(applications),
                f"at most {MAX_BATCH} applications",
                "batch too large",
            )
        try:
            apps = _APPS.validate_python(applications)
        except ValidationError as exc:
            return error_response(validation_errors(exc, prefix="applications"))
        if not apps:
            return single_error("applications", [], "at least one application", "empty batch")
        unmatched = [
            err
            for k, app in enumerate(apps)
            for err in self.recommender.unmatched_errors_of(app, f"applications[{k}].")
        ]
        if unmatched:
            return error_response(unmatched)
        body_sha256 = self._log_body_hash("json", applications, fmt, detail)
        stored = self._log_stored(key, body_sha256)
        if isinstance(stored, Response):
            return stored
        if stored is not None:
            return self._log_replayed(stored, apps, fmt, detail)
        if detail == "full":
            recs = self.recommender.recommend_many(apps)
            ids = self._log_batch(apps, recs, key, body_sha256)
            for rec, rid in zip(recs, ids, strict=True):
                rec.id = rid
            if fmt == "json":
                return _full_answers(self.recommender.model_version, recs)
        # Summary rows: the vectorised path (same model, policy and bounds), so 10,000
        # applications answer in seconds; `detail=full` gives every explanation.
        scored = self.recommender.score_applications(apps)
        if detail == "full":
            scored["recommendation_id"] = ids
        else:
            scored["recommendation_id"] = self._log_scored(
                [a.model_dump(mode="json") for a in apps],
                scored,
                key=key,
                body_sha256=body_sha256,
            )
        if fmt == "csv":
            return _csv_response(
                [
                    {
                        **r,
                        "status": "ok",
                        # Lines whose names matched no category were left out: the list the
                        # answer used is incomplete (the full answer names them).
                        "incomplete_list": bool(r.get("unmatched_lines")),
                        "reason": "",
                    }
                    for r in scored.to_dict("records")
                ]
            )
        return {
            "model_version": self.recommender.model_version,
            "n": len(scored),
            "results": [{k: _clean(v) for k, v in r.items()} for r in scored.to_dict("records")],
            "rejects": [],
        }

    def _log_scored(
        self,
        requests: list[dict[str, Any]],
        scored: Any,
        status_quo: list[Any] | None = None,
        key: str | None = None,
        body_sha256: str | None = None,
    ) -> list[str | None]:
        """Log rows of the vectorised path (compact answers), one per request; their ids."""
        if self.logbook is None:
            return [None] * len(requests)
        batch_id = uuid.uuid4().hex
        sq = status_quo or [None] * len(requests)
        rows = [
            {
                "application": request,
                "response": {k: _clean(v) for k, v in r.items()},
                "source": "batch",
                "model_version": str(r["model_version"]),
                "recommended_kva": float(r["recommended_kva"]),
                "predicted_peak_kw": float(r["predicted_peak_kw"]),
                "engineering_kva": _clean(r["engineering_kva"]),
                "status_quo_kva": _clean(q),
                "industry": str(r["industry"]),
                "batch_id": batch_id,
            }
            for request, r, q in zip(requests, scored.to_dict("records"), sq, strict=True)
        ]
        return self._log_rows(rows, key, body_sha256)

    def _log_rows(
        self, rows: list[dict[str, Any]], key: str | None, body_sha256: str | None
    ) -> list[str | None]:
        """Log a batch's rows (one transaction); a keyed batch is written before answering.

        Never raises for the database: a refused write is spooled by the logbook (the ids
        stay valid); an unexpected failure leaves the answer without ids.
        """
        assert self.logbook is not None
        try:
            ids: list[str | None] = list(
                self.logbook.record_many(
                    rows, defer=True, idempotency_key=key, body_sha256=body_sha256
                )
            )
        except ValueError:
            raise  # an invalid row: as before
        except Exception:
            logging.getLogger(__name__).exception("logging a batch failed")
            return [None] * len(rows)
        if key is not None:
            # Committed (or durably spooled) before the answer leaves: a repeat of the key
            # finds these ids, and a kill before this point leaves no row and no key.
            try:
                self.logbook.flush()
            except Exception:
                logging.getLogger(__name__).exception("writing a keyed batch failed")
        return ids

    def _log_key(self, ctx: Any) -> tuple[str | None, Response | None]:
        """The request's ``Idempotency-Key`` (None when absent), or the 400 answer."""
        headers = getattr(getattr(ctx, "request", None), "headers", None)
        raw = None if headers is None else headers.get("idempotency-key")
        if raw is None:
            return None, None
        if not raw.strip() or len(raw) > 128 or any(not 32 <= ord(ch) < 127 for ch in raw):
            return None, single_error(
                "Idempotency-Key",
                safe_text(raw[:130]),
                "1 to 128 printable ASCII characters",
                "invalid Idempotency-Key header",
            )
        return raw, None

    @staticmethod
    def _log_body_hash(*parts: Any) -> str:
        """SHA-256 of a request body's parts (bytes as they are, the rest as sorted JSON)."""
        import hashlib

        digest = hashlib.sha256()
        for part in parts:
            data = (
                part
                if isinstance(part, bytes)
                else json.dumps(
                    part, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
                ).encode("utf-8")
            )
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()

    def _log_stored(self, key: str | None, body_sha256: str) -> Any:
        """The batch logged under ``key``: a StoredBatch, the 409 answer, or None (new)."""
        if key is None or self.logbook is None:
            return None
        try:
            stored = self.logbook.find_batch(key)
        except Exception as exc:  # the log cannot be read: serve the batch afresh
            logging.getLogger(__name__).warning("idempotency lookup failed: %s", exc)
            return None
        if stored is None:
            return None
        if stored.body_sha256 != body_sha256:
            return single_error(
                "Idempotency-Key",
                key,
                "a new key for a different request body",
                f"this key was already used for a different request body (batch "
                f"{stored.batch_id}); send the same body again or use a new key",
                409,
            )
        return stored

    def _log_stored_rows(self, stored: Any) -> list[dict[str, Any]] | Response:
        """The logged summary rows of a stored batch (with their ids), or a 503 to retry."""
        assert self.logbook is not None
        try:
            responses = self.logbook.batch_responses(stored.ids)
        except Exception as exc:
            logging.getLogger(__name__).warning("reading a stored batch failed: %s", exc)
            responses = [None]
        if any(r is None for r in responses):
            response = single_error(
                "Idempotency-Key",
                stored.key,
                "a readable recommendation log",
                "the logged answers of this batch cannot be read now (log degraded); retry",
                503,
            )
            response.headers["Retry-After"] = "5"
            return response
        return [
            {**r, "recommendation_id": rid}
            for r, rid in zip(responses, stored.ids, strict=True)
            if r is not None
        ]

    def _log_replayed(
        self, stored: Any, apps: list[Application], fmt: Literal["json", "csv"], detail: str
    ) -> Any:
        """The answer to a repeated keyed batch: the logged rows and ids, nothing new logged."""
        ids = list(stored.ids)
        if detail == "full" and len(ids) == len(apps):
            # The log keeps compact answers: the explanations are computed again (same
            # pinned model), the ids are the logged ones.
            recs = self.recommender.recommend_many(apps)
            for rec, rid in zip(recs, ids, strict=True):
                rec.id = rid
            if fmt == "json":
                return {
                    **_full_answers(self.recommender.model_version, recs),
                    "idempotent_replay": True,
                }
            scored = self.recommender.score_applications(apps)
            scored["recommendation_id"] = ids
            return _csv_response(
                [{**r, "status": "ok", "reason": ""} for r in scored.to_dict("records")]
            )
        rows = self._log_stored_rows(stored)
        if isinstance(rows, Response):
            return rows
        if fmt == "csv":
            return _csv_response([{**r, "status": "ok", "reason": ""} for r in rows])
        return {
            "model_version": rows[0].get("model_version") if rows else None,
            "n": len(rows),
            "results": rows,
            "rejects": [],
            "idempotent_replay": True,
        }

    def _log_batch(
        self,
        apps: list[Application],
        recs: list[Recommendation],
        key: str | None = None,
        body_sha256: str | None = None,
    ) -> list[str | None]:
        if self.logbook is None:
            return [None] * len(recs)
        batch_id = uuid.uuid4().hex
        # Batch rows keep a compact answer: the full answer of 10,000 applications would
        # multiply the log's size without adding anything the outcome analysis uses.
        rows = [
            {
                "application": a.model_dump(mode="json"),
                "response": {
                    "recommended_kva": r.recommended_kva,
                    "predicted_peak_kw": r.predicted_peak_kw,
                    "p_appropriate": r.p_appropriate,
                    "drivers": [d.model_dump(mode="json") for d in r.drivers[:5]],
                },
                "source": "batch",
                "model_version": r.model_version,
                "recommended_kva": r.recommended_kva,
                "predicted_peak_kw": r.predicted_peak_kw,
                "engineering_kva": r.engineering_kva,
                "industry": a.industry,
                "batch_id": batch_id,
            }
            for a, r in zip(apps, recs, strict=True)
        ]
        return self._log_rows(rows, key, body_sha256)

    def _log_frames(
        self,
        customers: Any,
        equipment: Any,
        scored: Any,
        key: str | None = None,
        body_sha256: str | None = None,
    ) -> list[str | None]:
        """Log each scored CSV row, with its contract rows as the request."""
        lines: dict[str, list[dict[str, Any]]] = {}
        for rec in equipment.to_dict(orient="records"):
            lines.setdefault(str(rec["customer_id"]), []).append(rec)
        by_id = {str(c["customer_id"]): c for c in customers.to_dict(orient="records")}
        ids = [str(cid) for cid in scored["customer_id"]]
        requests = [
            {
                "customer": {k: _clean(v) for k, v in by_id[cid].items()},
                "equipment": lines.get(cid, []),
            }
            for cid in ids
        ]
        status_quo = [by_id[cid].get("applied_capacity_kva") for cid in ids]
        return self._log_scored(requests, scored, status_quo, key, body_sha256)

    def _batch_csv(
        self, customers: Any, equipment: Any, fmt: Literal["json", "csv"], key: str | None = None
    ) -> Any:
        import pandas as pd

        from features.contract import EQUIPMENT_COLUMNS
        from features.validation import ContractError, validate_frames

        if customers is None:
            return single_error(
                "customers",
                None,
                "a 'customers' CSV file, with or without an 'equipment' CSV file",
                "missing customers file",
            )
        uploads = [("customers", customers)]
        if equipment is not None:
            uploads.append(("equipment", equipment))
        for name, value in uploads:
            if not isinstance(value, pathlib.Path | str) or not pathlib.Path(value).is_file():
                return single_error(
                    name, str(value)[:100], "an uploaded CSV file", "not a file upload"
                )
        try:
            cust = pd.read_csv(customers, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            if equipment is not None:
                equip = pd.read_csv(
                    equipment, dtype=str, keep_default_na=False, encoding="utf-8-sig"
                )
            else:
                # Customers only: every customer is answered area-only (or industry-only).
                equip = pd.DataFrame(columns=[c.name for c in EQUIPMENT_COLUMNS], dtype=str)
            validated = validate_frames(cust, equip, sources=("customers", "equipment"))
        except (ContractError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            return single_error("customers/equipment", None, "contract CSV files (UTF-8)", str(exc))
        if len(validated.customers) > MAX_BATCH:
            return single_error(
                "customers",
                len(validated.customers),
                f"at most {MAX_BATCH} customers",
                "batch too large",
            )
        rejects = validated.rejects.to_dict(orient="records")
        if validated.customers.empty:
            # Nothing valid to score: the answer is the rejects report, not an error.
            if fmt == "csv":
                return _csv_response(_reject_rows(rejects))
            return {
                "model_version": self.recommender.model_version,
                "n": 0,
                "results": [],
                "rejects": rejects,
                "flags": validated.flags.to_dict(orient="records"),
            }
        body_sha256 = self._log_body_hash(
            "csv",
            pathlib.Path(customers).read_bytes(),
            pathlib.Path(equipment).read_bytes() if equipment is not None else b"",
            fmt,
        )
        stored = self._log_stored(key, body_sha256)
        if isinstance(stored, Response):
            return stored
        if stored is not None:
            logged = self._log_stored_rows(stored)
            if isinstance(logged, Response):
                return logged
            if fmt == "csv":
                rows = [{**r, "status": "ok", "reason": ""} for r in logged]
                return _csv_response(_with_flags(rows, validated.flags) + _reject_rows(rejects))
            return {
                "model_version": logged[0].get("model_version") if logged else None,
                "n": len(logged),
                "results": logged,
                "rejects": rejects,
                "flags": validated.flags.to_dict(orient="records"),
                "idempotent_replay": True,
            }
        scored = self.recommender.score_frames(validated.customers, validated.equipment)
        scored["recommendation_id"] = self._log_frames(
            validated.customers, validated.equipment, scored, key, body_sha256
        )
        if fmt == "csv":
            rows = [{**r, "status": "ok", "reason": ""} for r in scored.to_dict("records")]
            return _csv_response(_with_flags(rows, validated.flags) + _reject_rows(rejects))
        return {
            "model_version": self.recommender.model_version,
            "n": len(scored),
            "results": [{k: _clean(v) for k, v in r.items()} for r in scored.to_dict("records")],
            "rejects": rejects,
            "flags": validated.flags.to_dict(orient="records"),
        }

    @bentoml.api(route="/feedback")
    def feedback(self, body: Any, /, ctx: bentoml.Context) -> dict[str, Any]:
        """Record the granted capacity and metered peak of an issued recommendation (API key)."""
        expected_key = os.environ.get("CAPACITY_FEEDBACK_API_KEY", "")
        given = ctx.request.headers.get("x-api-key", "")
        client = ctx.request.client.host if ctx.request.client else "(unknown)"
        wait = _KEY_BACKOFF.blocked_for(client)
        if wait > 0:  # too many wrong keys from this address: even a right one waits
            ctx.response.status_code = 429
            ctx.response.headers["Retry-After"] = str(wait)
            refused = single_error(
                "X-API-Key",
                None,
                f"at most {_KEY_BACKOFF.limit} wrong keys in {_KEY_BACKOFF.window:g} s",
                f"too many wrong API keys from this address; retry in {wait} s",
                429,
            )
            refused.headers["Retry-After"] = str(wait)
            return refused  # type: ignore[return-value]
        if not expected_key or not hmac.compare_digest(given.encode(), expected_key.encode()):
            reason = (
                "feedback is disabled: no API key is configured (CAPACITY_FEEDBACK_API_KEY)"
                if not expected_key
                else ("missing X-API-Key header" if not given else "wrong API key")
            )
            if expected_key:
                _KEY_BACKOFF.failed(client)
            ctx.response.status_code = 401
            return single_error("X-API-Key", None, "the configured feedback API key", reason, 401)  # type: ignore[return-value]
        _KEY_BACKOFF.succeeded(client)
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


def _full_answers(model_version: str, recs: list[Recommendation]) -> dict[str, Any]:
    """The JSON body of a ``detail=full`` batch: every answer with its explanations."""
    return {
        "model_version": model_version,
        "n": len(recs),
        "results": [r.model_dump(mode="json") for r in recs],
        "rejects": [],
    }


def _reject_rows(rejects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rejected contract rows as CSV answer rows (nothing is dropped silently).

    A customer rejected because some of its equipment lines were rejected carries
    ``incomplete_list = true``: answered on the rest it would be undersized.
    """
    from features.validation import INCOMPLETE_SUFFIX

    return [
        {
            "customer_id": rej.get("customer_id", ""),
            "status": f"rejected ({rej.get('file')} row {rej.get('row_number')})",
            "incomplete_list": rej.get("file") == "customers"
            and str(rej.get("reason", "")).endswith(INCOMPLETE_SUFFIX),
            "reason": f"{rej.get('column')}={rej.get('value')!r}: {rej.get('reason')}",
        }
        for rej in rejects
    ]


WORKBOOK_SHEETS = ("customers", "equipment")
"""Sheet names of a batch workbook (the contract's two tables)."""


def _workbook_sheets(workbook: Any) -> tuple[pathlib.Path, pathlib.Path | None] | Response:
    """The two sheets of an uploaded .xlsx as contract CSV files beside the upload."""
    import pandas as pd

    path = pathlib.Path(workbook)
    if not path.is_file():
        return single_error("workbook", str(workbook)[:100], "an uploaded .xlsx file", "not a file")
    try:
        # From bytes: openpyxl refuses a path whose name lacks an .xlsx suffix.
        sheets = pd.read_excel(
            io.BytesIO(path.read_bytes()),
            sheet_name=None,
            dtype=str,
            na_filter=False,
            engine="openpyxl",
        )
    except Exception as exc:  # any unreadable workbook is the client's fault
        return single_error(
            "workbook", path.name[:100], "an Excel .xlsx workbook", f"unreadable workbook: {exc}"
        )
    names = {str(name).strip().lower(): frame for name, frame in sheets.items()}
    if "customers" not in names:
        return single_error(
            "workbook",
            sorted(str(n) for n in sheets)[:10],
            "a sheet named 'customers' (and optionally 'equipment')",
            "no customers sheet in the workbook",
        )
    out: list[pathlib.Path | None] = []
    for name in WORKBOOK_SHEETS:
        frame = names.get(name)
        if frame is None:
            out.append(None)
            continue
        target = path.with_name(f"{path.stem}-{name}.csv")
        frame.to_csv(target, index=False, encoding="utf-8")
        out.append(target)
    assert out[0] is not None
    return out[0], out[1]


def _with_flags(rows: list[dict[str, Any]], flags: Any) -> list[dict[str, Any]]:
    """Scored rows with the validation flags of their customer (``flag`` codes, ``;``)."""
    by_customer: dict[str, list[str]] = {}
    for cid, flag in zip(flags["customer_id"], flags["flag"], strict=True):
        codes = by_customer.setdefault(str(cid), [])
        if flag not in codes:
            codes.append(str(flag))
    for row in rows:
        row["flags"] = ";".join(by_customer.get(str(row.get("customer_id")), []))
        row.setdefault("incomplete_list", False)
    return rows


def _csv_cell(column: str, value: Any) -> Any:
    """A CSV cell at sensible precision (see CSV_DIGITS), formula-safe text."""
    value = _clean(value)
    if isinstance(value, float):
        if value != value:
            return ""
        if column in CSV_KVA_COLUMNS:
            return f"{value:g}"
        digits = CSV_DIGITS.get(column)
        if digits is not None:
            return f"{value:.{digits}f}"
    return csv_safe(value)


def _parse(model: Any, body: Any) -> Any:
    """``model.model_validate(body)``, or the 400 response naming every bad field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        return error_response(validation_errors(exc))


def _json(model: Any) -> Response:
    """Serialise an answer once with pydantic-core (BentoML would re-validate the model)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _clean(value: Any) -> Any:
    """NaN (pandas' missing) as None, numpy scalars as Python numbers, for JSON logging."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
"""Cells starting with these are formulas to a spreadsheet (OWASP CSV injection)."""


def csv_safe(value: Any) -> Any:
    """A text cell a spreadsheet will not run: formula-leading text gets a leading ``'``.

    Numbers are left alone (a negative number is data, not a formula); only text that a
    customer or a file could have put there is escaped.
    """
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def _csv_response(rows: list[dict[str, Any]]) -> Response:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(BATCH_CSV_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: _csv_cell(k, v) for k, v in row.items()} for row in rows)
    return Response(
        buf.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="recommendations.csv"'},
    )


class SecurityHeaders:
    """ASGI middleware: security headers on every response (the page's CSP: no inline code)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (DOCS_CSP if scope.get("path") == "/docs" else PAGE_CSP).encode()

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                extra = [*SECURITY_HEADERS, (b"content-security-policy", csp)]
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _no_such_path(path: str) -> JSONResponse:
    return single_error(
        "(path)",
        path[:200],
        "a path the service serves (see /docs)",
        f"no such path: {path[:200]}",
        404,
    )


class JSONErrors:
    """ASGI middleware: every error answer carries the service's JSON error body.

    Starlette answers an unknown path (404), a wrong method (405) or a missing static file
    in plain text and BentoML some failures as ``{"error": ...}``; those become
    ``{"errors": [{"field", "value", "expected", "message"}]}`` with human wording. The
    benchmark-only endpoints answer 404 unless ``CAPACITY_BENCHMARK_ENDPOINTS=1``.
    """

    def __init__(self, app: Any, benchmark_endpoints: bool = False) -> None:
        self.app = app
        self.benchmark_endpoints = benchmark_endpoints

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Rewrite error answers that are not already in the service's shape."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if path in BENCHMARK_PATHS and not self.benchmark_endpoints:
            await _no_such_path(path)(scope, receive, send)
            return
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def send_json_errors(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                ctype = headers.get(b"content-type", b"").lower()
                if message["status"] >= 400 and (
                    not ctype.startswith(b"application/json") or path not in ("/readyz", "/model")
                ):
                    held.update(message)
                    return
            elif message["type"] == "http.response.body" and held:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                response = self._rewrite(scope, held, b"".join(chunks))
                await response(scope, receive, send)
                return
            await send(message)

        await self.app(scope, receive, send_json_errors)

    @staticmethod
    def _rewrite(scope: Any, start: dict[str, Any], body: bytes) -> Response:
        status = int(start["status"])
        headers = dict(start.get("headers") or [])
        if headers.get(b"content-type", b"").lower().startswith(b"application/json"):
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            if isinstance(doc, dict) and "errors" in doc:  # already the service's shape
                return _keep_retry_after(
                    headers, Response(body, status, media_type="application/json")
                )
            text = str(doc.get("error", "")) if isinstance(doc, dict) else ""
        else:
            text = body[:200].decode("utf-8", "replace").strip()
        path = str(scope.get("path", ""))
        method = str(scope.get("method", ""))
        if status == 404:
            return _no_such_path(path)
        if status == 405:
            allow = headers.get(b"allow", b"").decode("latin-1")
            response = single_error(
                "(method)",
                method,
                f"one of the methods {path[:200]} allows: {allow or 'see /docs'}",
                f"{method} is not allowed on {path[:200]}",
                405,
            )
            if allow:
                response.headers["allow"] = allow
            return response
        return _keep_retry_after(
            headers,
            single_error(
                None,
                None,
                "a request the service can answer (see /docs)",
                public_text(text) or f"HTTP {status}",
                status,
            ),
        )


def _keep_retry_after(headers: dict[bytes, bytes], response: Response) -> Response:
    """Carry a 429/503's ``Retry-After`` over to the rewritten answer."""
    retry = headers.get(b"retry-after")
    if retry:
        response.headers["retry-after"] = retry.decode("latin-1")
    return response


MAX_CONCURRENCY = int(os.environ.get("CAPACITY_MAX_CONCURRENCY", "4"))
"""POST API requests served at once (0: no limit); more wait in the queue (README: measured)."""
QUEUE_TIMEOUT_MS = float(os.environ.get("CAPACITY_QUEUE_TIMEOUT_MS", "500"))
"""Longest a request waits for a slot before it is answered 503 with ``Retry-After``."""
SHED_PATHS = frozenset({"/recommend", "/check", "/recommend_batch", "/feedback", "/export/sheet"})
"""The endpoints load shedding covers (not probes, metrics, the page or static files)."""
RETRY_AFTER_S = 1


class LoadShedding:
    """ASGI middleware: at most ``max_concurrency`` API requests at once; the rest are shed.

    A POST to one of ``paths`` takes a slot of an asyncio semaphore before anything reads
    its body. With every slot taken it waits at most ``queue_timeout_ms``; then it is
    answered 503 with ``Retry-After: 1`` and the service's JSON error body instead of
    queueing for seconds (a client or balancer can retry elsewhere or later). Shed
    requests are counted in ``capacity_shed_requests_total`` (label ``endpoint``).
    """

    def __init__(
        self,
        app: Any,
        max_concurrency: int = MAX_CONCURRENCY,
        queue_timeout_ms: float = QUEUE_TIMEOUT_MS,
        paths: frozenset[str] = SHED_PATHS,
    ) -> None:
        self.app = app
        self.limit = int(max_concurrency)
        self.timeout = max(0.0, float(queue_timeout_ms)) / 1000.0
        self.paths = paths
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the request in a slot, or answer 503 when none frees within the timeout."""
        if (
            self.limit <= 0
            or scope["type"] != "http"
            or scope.get("method") != "POST"
            or scope.get("path") not in self.paths
        ):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created in the worker's event loop, on first use
            self._slots = asyncio.Semaphore(self.limit)
        slots = self._slots
        try:
            await asyncio.wait_for(slots.acquire(), self.timeout)
        except TimeoutError:
            await self._shed(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    async def _shed(self, scope: Any, receive: Any, send: Any) -> None:
        path = str(scope.get("path"))
        counter = _shed_counter()
        if counter is not None:
            with contextlib.suppress(Exception):
                counter.labels(endpoint=path).inc()
        response = single_error(
            None,
            None,
            f"at most {self.limit} requests at once (waited {self.timeout * 1000:g} ms)",
            f"server busy: {path} was not started within {self.timeout * 1000:g} ms; "
            f"retry after {RETRY_AFTER_S} s",
            503,
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        await response(scope, receive, send)


_SHED_COUNTER: list[Any] = []


def _shed_counter() -> Any:
    """``capacity_shed_requests_total`` (BentoML's Prometheus registry), made once; or None."""
    if not _SHED_COUNTER:
        try:
            counter: Any = bentoml.metrics.Counter(
                name="capacity_shed_requests",
                documentation="API requests answered 503 because no slot freed in time",
                labelnames=["endpoint"],
            )
        except Exception:  # pragma: no cover - metrics are a nicety, not a requirement
            counter = None
        _SHED_COUNTER.append(counter)
    return _SHED_COUNTER[0]


class KeyBackoff:
    """Back-off after repeated wrong feedback API keys, per client address (in memory).

    ``limit`` wrong keys within ``window`` seconds block the address for ``base`` seconds,
    each further wrong key after a block doubles it, up to ``cap``; while blocked, every
    feedback request of the address (a right key too) is answered 429 with Retry-After.
    A right key outside a block clears the address's count. Thread-safe (the API runs in
    a thread pool); the table is bounded (stale addresses are dropped first).
    """

    def __init__(
        self, limit: int = 5, window: float = 300.0, base: float = 2.0, cap: float = 60.0
    ) -> None:
        self.limit, self.window, self.base, self.cap = limit, window, base, cap
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, float, float]] = {}  # failures, first, blocked_until

    def blocked_for(self, client: str) -> int:
        """Whole seconds ``client`` must still wait (0: not blocked)."""
        with self._lock:
            state = self._state.get(client)
        if state is None:
            return 0
        left = state[2] - time.monotonic()
        return math.ceil(left) if left > 0 else 0

    def failed(self, client: str) -> None:
        """Count a wrong key; block the address once the limit is reached."""
        now = time.monotonic()
        with self._lock:
            failures, first, _ = self._state.get(client, (0, now, 0.0))
            if now - first > self.window:
                failures, first = 0, now
            failures += 1
            until = 0.0
            if failures >= self.limit:
                until = now + min(self.cap, self.base * 2 ** (failures - self.limit))
            self._state[client] = (failures, first, until)
            if len(self._state) > 10_000:
                stale = [k for k, (_, f, u) in self._state.items() if u < now and now - f > 60]
                for key in stale or list(self._state)[:1000]:
                    self._state.pop(key, None)

    def succeeded(self, client: str) -> None:
        """A right key: the address starts over."""
        with self._lock:
            self._state.pop(client, None)


_KEY_BACKOFF = KeyBackoff()


def route_label(scope: Any) -> str:
    """The metrics label of a request: its route's path, or one label for unknown paths."""
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", None)
    if routes is None:
        return str(scope["path"])
    return _route_of(routes, scope) or UNKNOWN_ROUTE_LABEL


def _route_of(routes: list[Any], scope: Any) -> str | None:
    from starlette.routing import Match, Mount

    for route in routes:
        match, child = route.matches(scope)
        if match == Match.NONE:
            continue
        if isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if inner:
                label = _route_of(inner, {**scope, **child})
                if label is not None:
                    return label
                continue
            return f"{route.path.rstrip('/')}/{{path}}"  # e.g. StaticFiles: one label
        return str(getattr(route, "path", scope["path"]))
    return None


def _route_labelled_metrics() -> type:
    """BentoML's HTTP metrics middleware, labelling requests by route instead of by path.

    BentoML 1.4's ``RunnerTrafficMetricsMiddleware`` is the outermost middleware and takes
    its ``endpoint`` label from ``scope["path"]``: every distinct 404 path became a series
    of its own (a scanner could grow ``/metrics`` without bound). A middleware added with
    ``add_asgi_middleware`` runs inside it, too late to change the label, so the class is
    replaced (before the app is built) by this subclass: it hands the metrics code a copy
    of the scope whose path is the route label and restores the real scope for the app.
    """
    from bentoml._internal.server.http import instruments

    base = instruments.RunnerTrafficMetricsMiddleware
    if getattr(base, "labels_by_route", False):
        return base
    real_key = "capacity.real_scope"

    class RealScope:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope.get(real_key, scope), receive, send)

    class RouteLabelledMetrics(base):  # type: ignore[misc, valid-type]
        labels_by_route = True

        def __init__(self, app: Any, **options: Any) -> None:
            super().__init__(RealScope(app), **options)

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope.get("path") != "/metrics":
                label = route_label(scope)
                if label != scope["path"]:
                    scope = {**scope, "path": label, real_key: scope}
            await super().__call__(scope, receive, send)

    instruments.RunnerTrafficMetricsMiddleware = RouteLabelledMetrics  # type: ignore[misc, assignment]
    return RouteLabelledMetrics


_route_labelled_metrics()
# Registered outermost first: the headers and the JSON error bodies cover BodyGuard's answers.
CapacityService.add_asgi_middleware(SecurityHeaders)  # type: ignore[attr-defined]
CapacityService.add_asgi_middleware(  # type: ignore[attr-defined]
    JSONErrors,
    benchmark_endpoints=os.environ.get("CAPACITY_BENCHMARK_ENDPOINTS", "") == "1",
)
# Shedding before BodyGuard: a request that gets no slot is refused before its body is read.
CapacityService.add_asgi_middleware(  # type: ignore[attr-defined]
    LoadShedding,
    max_concurrency=MAX_CONCURRENCY,
    queue_timeout_ms=QUEUE_TIMEOUT_MS,
)
CapacityService.add_asgi_middleware(  # type: ignore[attr-defined]
    BodyGuard,
    max_bytes=MAX_BODY_BYTES,
    json_paths=JSON_PATHS,
)


class ReadinessDetail:
    """ASGI middleware: ``GET /readyz`` answers with the model status as its JSON body.

    BentoML's own ``/readyz`` has a body only when it refuses; a probe or a person then
    cannot see, while the old model serves, that a promoted bundle failed to load. Here
    the status code is the same rule (503 without a model or a recommendation log, else
    200) and the body is ``GET /model``'s: version, bundle, load time, last reload error.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Answer ``GET /readyz``; pass everything else on."""
        if (
            scope["type"] != "http"
            or scope.get("path") != "/readyz"
            or scope.get("method") != "GET"
        ):
            await self.app(scope, receive, send)
            return
        _, body = _model_status()
        code = 200 if body.get("ready") else 503
        response = JSONResponse(body, status_code=code, headers={"Cache-Control": "no-store"})
        await response(scope, receive, send)


CapacityService.add_asgi_middleware(ReadinessDetail)  # type: ignore[attr-defined]
