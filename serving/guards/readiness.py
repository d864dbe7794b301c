"""``GET /readyz`` with the model status as its body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse

StatusFn = Callable[[], tuple[int, dict[str, Any]]]


class ReadinessDetail:
    """ASGI middleware: ``GET /readyz`` answers with the model status as its JSON body.

    BentoML's own ``/readyz`` has a body only when it refuses; a probe or a person then
    cannot see, while the old model serves, that a promoted bundle failed to load. Here
    the status code is the same rule (503 without a model or a recommendation log, else
    200) and the body is ``GET /model``'s: version, bundle, load time, last reload error.
    """

    def __init__(self, app: Any, status: StatusFn) -> None:
        self.app = app
        self.status = status

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Answer ``GET /readyz``; pass everything else on."""
        if (
            scope["type"] != "http"
            or scope.get("path") != "/readyz"
            or scope.get("method") != "GET"
        ):
            await self.app(scope, receive, send)
            return
        _, body = self.status()
        code = 200 if body.get("ready") else 503
        response = JSONResponse(body, status_code=code, headers={"Cache-Control": "no-store"})
        await response(scope, receive, send)
