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
from serving.guards.paths import BATCH_FILE_FIELDS, BATCH_JSON_KEYS, BATCH_PATH

MAX_JSON_DEPTH = 32
"""Deepest JSON nesting a body may have (a batch of applications needs 4 levels)."""


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
