"""Every error answer in the service's JSON error body (unknown paths, methods, BentoML's own)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

from serving.errors import public_text, single_error
from serving.guards.paths import BENCHMARK_PATHS


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
