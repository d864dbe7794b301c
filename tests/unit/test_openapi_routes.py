"""Every route the service serves is in its OpenAPI document (so the route fuzz covers it).

``tests/service/test_every_route.py`` and ``benchmarks/fuzz_routes.py`` fuzz the routes
of the served ``/docs.json``; a route missing there would escape them, as ``/api/match``
once did (124 × 500 of 729 fuzzed requests).
"""

from __future__ import annotations

from starlette.routing import Route

from serving.openapi import openapi_document
from serving.reload import status_app
from serving.service import CapacityService
from serving.web.app import build_ui_app

NOT_AN_API = {"/", "/docs", "/docs.json"}
"""The page and the docs themselves (HTML and the document), not operations."""


def _documented() -> set[tuple[str, str]]:
    doc = openapi_document()
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item}


def test_every_api_method_is_documented() -> None:
    apis = {("POST", api.route) for api in CapacityService.apis.values()}  # type: ignore[attr-defined]
    apis.discard(("POST", "/trivial"))  # benchmark-only: 404 unless switched on
    assert apis, "no APIs found: the enumeration itself is broken"
    assert apis <= _documented(), sorted(apis - _documented())


def test_every_page_and_status_route_is_documented() -> None:
    served = set()
    for app in (build_ui_app(), status_app(lambda: (200, {}))):
        for route in app.routes:
            if isinstance(route, Route) and route.path not in NOT_AN_API:
                for method in route.methods or ():
                    if method != "HEAD":
                        served.add((method, route.path))
    assert ("POST", "/api/match") in served
    assert served <= _documented(), sorted(served - _documented())
