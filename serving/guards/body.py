"""The request-body guard: size, content type, strict JSON, depth, multipart form shape.

Runs before BentoML parses anything (see :class:`BodyGuard`); the paths it covers are
declared in :mod:`serving.guards.paths`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.responses import JSONResponse

from serving.errors import error_response, safe_text, single_error
from serving.guards.metrics import route_accepts
from serving.guards.paths import BATCH_FILE_FIELDS, BATCH_JSON_KEYS, BATCH_PATH, UPLOAD_PATHS

MAX_JSON_DEPTH = 32
"""Deepest JSON nesting a body may have (a batch of applications needs 4 levels)."""
MAX_FILENAME_BYTES = 200
"""Longest upload file name (UTF-8 bytes): BentoML keeps it in a temporary file's name,
and a file system takes 255 bytes (a 300-character name was a 500)."""
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
    import numpy as np

    codes = np.frombuffer(body, dtype=np.uint8)
    quotes = np.flatnonzero(codes == ord('"'))
    after = quotes[quotes > 0]
    if len(quotes) % 2 or bool((codes[after - 1] == ord("\\")).any()):
        return _json_depth_scanned(body)
    # No quote is escaped and every string is closed: the strings are the spans between
    # the 1st and 2nd quote, the 3rd and 4th… A bracket is outside them when an even
    # number of quotes precede it (the same count as the scan's, at C speed: the scan's
    # regex took 80 ms of a 5 MB batch body).
    opens = (codes == ord("[")) | (codes == ord("{"))
    at = np.flatnonzero(opens | (codes == ord("]")) | (codes == ord("}")))
    at = at[np.searchsorted(quotes, at) % 2 == 0]
    if not len(at):
        return 0
    return int(np.cumsum(np.where(opens[at], 1, -1)).max())


def _json_depth_scanned(body: bytes) -> int:
    """:func:`json_depth` by cutting the strings out with a regex (escaped quotes too)."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    import numpy as np

    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""An escaped UTF-16 surrogate: the only way a lone surrogate gets into a str parsed from
UTF-8 (its decoder refuses encoded surrogates). Conservative: a proper pair matches too."""


def _parse_noting_non_finite(body: bytes) -> tuple[Any, bool]:
    """``json.loads(body)`` and whether a number in it is NaN or infinite.

    The parser's hooks see every ``NaN``/``Infinity`` literal and every float text (one
    that overflows, ``1e400``, included), so the walk over the whole document
    (:func:`_inspect`: 0.1 s for a 10,000-application batch) runs only when one was seen
    or a surrogate may be there (:func:`_may_hold_surrogates`).
    """
    seen: list[str] = []

    def constant(name: str) -> float:
        seen.append(name)
        return float(name)

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            seen.append(text)
        return value

    doc = json.loads(body or b"null", parse_constant=constant, parse_float=number)
    return doc, bool(seen)


def _may_hold_surrogates(body: bytes) -> bool:
    """Whether a text parsed from ``body`` may hold a lone surrogate (False: it cannot)."""
    return json.detect_encoding(body) != "utf-8" or _SURROGATE_ESCAPE.search(body) is not None


def _foreign_origin(headers: dict[bytes, bytes]) -> str | None:
    """The ``Origin`` of a cross-site browser request, or None (same site or no browser).

    Same origin: the Origin's host[:port] is the request's ``Host`` (or, behind a proxy,
    ``X-Forwarded-Host``). Clients other than browsers send no Origin and pass.
    """
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
    raw = headers.get(b"origin")
    if raw is None:
        return "(cross-site)" if site == "cross-site" else None
    origin = raw.decode("latin-1").strip()
    netloc = origin.split("://", 1)[1].rstrip("/").lower() if "://" in origin else ""
    hosts = {
        headers.get(name, b"").decode("latin-1").split(",")[0].strip().lower()
        for name in (b"host", b"x-forwarded-host")
    }
    hosts.discard("")
    if netloc and netloc in hosts and site != "cross-site":
        return None
    return origin or "(empty)"


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

    * 403 for a state-changing request (POST, PUT, PATCH, DELETE) that a browser sent from
      another site (``Origin`` not this host, or ``Sec-Fetch-Site: cross-site``): a
      multipart or form post needs no CORS preflight, so without this check any page
      could post a batch in a visitor's name (CSRF);
    * an upload's file name longer than :data:`MAX_FILENAME_BYTES` is a 400.

    Every POST to a path a route serves is checked, whatever the route (present and
    future ones, the page's ``/api/match`` included); ``json_paths`` narrows that to a
    list (None: every route). Every refusal carries the service's JSON error body.
    """

    def __init__(self, app: Any, max_bytes: int, json_paths: tuple[str, ...] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_paths = json_paths

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Check the origin and body of state-changing requests, then pass them on."""
        method = scope.get("method")
        if scope["type"] != "http" or method not in STATE_CHANGING:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        foreign = _foreign_origin(headers)
        if foreign is not None:
            await single_error(
                "Origin",
                foreign[:100],
                "a request from the service's own pages (same origin), or without Origin",
                "cross-site request refused",
                403,
            )(scope, receive, send)
            return
        if method != "POST":
            await self.app(scope, receive, send)
            return
        length = headers.get(b"content-length")
        try:
            declared = None if length is None else int(length)
        except ValueError:
            declared = None
        if declared is not None and declared > self.max_bytes:
            await self._too_large(scope, receive, send, declared)
            return
        path = scope.get("path")
        covered = route_accepts(scope) if self.json_paths is None else path in self.json_paths
        if not covered:  # no such route, or not for POST: the app answers 404 / 405
            await self.app(scope, receive, send)
            return
        media = _media_type(headers)
        if media != "application/json" and not (
            media == "multipart/form-data" and path in UPLOAD_PATHS
        ):
            allowed = "application/json" + (
                " or multipart/form-data" if path in UPLOAD_PATHS else ""
            )
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
            doc, non_finite = _parse_noting_non_finite(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return single_error(
                "(body)",
                body[:80].decode("utf-8", "replace"),
                "a JSON document (UTF-8, no NaN or Infinity)",
                f"the request body is not valid JSON: {exc}",
            )
        bad = _inspect(doc) if non_finite or _may_hold_surrogates(body) else []
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

        if path not in UPLOAD_PATHS:
            return single_error(
                "(body)", None, "application/json", f"{path} takes a JSON body, not a form upload"
            )
        sent = [{"type": "http.request", "body": body, "more_body": False}]

        async def once() -> Any:
            return sent.pop() if sent else {"type": "http.disconnect"}

        try:
            async with Request(scope, once).form() as form:
                for name, value in form.multi_items():
                    filename = getattr(value, "filename", None) or ""
                    if len(filename.encode("utf-8", "surrogatepass")) > MAX_FILENAME_BYTES:
                        return single_error(
                            name,
                            filename[:60] + "…",
                            f"a file name of at most {MAX_FILENAME_BYTES} bytes",
                            "upload file name too long",
                        )
                    if name in BATCH_FILE_FIELDS and not isinstance(value, UploadFile):
                        return single_error(
                            name, str(value)[:100], "a file upload", f"'{name}' must be a file part"
                        )
                    if name not in BATCH_FILE_FIELDS | {"output", "detail"}:
                        return single_error(
                            name,
                            None,
                            "customers, equipment, meter_readings or workbook (files), output and detail",
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
