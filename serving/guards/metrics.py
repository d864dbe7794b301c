"""Prometheus HTTP metrics labelled by route, not by path (bounded series)."""

from __future__ import annotations

from typing import Any

UNKNOWN_ROUTE_LABEL = "/{unknown}"
"""The metrics ``endpoint`` label of every path no route serves (one series, not one each)."""


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


def route_labelled_metrics() -> type:
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
