"""The last resort of the guard chain: an unexpected exception is a JSON 500, never a hang.

An exception raised inside a guard (or anything below it that did not answer) propagated
out of the ASGI chain; under the service's server the client then waited for an answer
that never came (seen while profiling issue 27: a ``NameError`` in a guard left the
request hanging). Here it is logged with its traceback and answered with the service's
error body, if the answer has not started; once the answer has started the connection is
the server's to close, so the exception is re-raised.
"""

from __future__ import annotations

import logging
from typing import Any

from serving.errors import single_error

_LOG = logging.getLogger("serving.guards")


class InternalErrors:
    """ASGI middleware: an exception before the answer starts becomes a JSON 500."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass the request on; answer a JSON 500 if it raises before answering."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_start(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except Exception:
            path = str(scope.get("path", ""))[:200]
            _LOG.exception("unexpected error while answering %s %s", scope.get("method"), path)
            if started:
                raise
            response = single_error(
                None,
                None,
                "a retry later, or a report to the service's operators if it persists",
                f"internal error while answering {path}; the error was logged",
                500,
            )
            await response(scope, receive, send)
