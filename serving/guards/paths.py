"""Which routes each guard covers (one declaration, imported by the guards and the service)."""

from __future__ import annotations

JSON_PATHS = (
    "/recommend",
    "/check",
    "/recommend_batch",
    "/feedback",
    "/trivial",
    "/export/sheet",
    "/export/batch",
)
"""The service's own JSON POST endpoints (the body guard checks every route's POST)."""
WORK_PATHS = frozenset({*JSON_PATHS, "/api/match"})
"""The work routes the service has (labels of the shed counter; every other path that is
not free is counted under one label, so that a scanner cannot grow ``/metrics``)."""
BATCH_PATH = "/recommend_batch"
UPLOAD_PATHS = frozenset({BATCH_PATH})
"""The only routes that take ``multipart/form-data`` (file uploads); every other POST is JSON."""
BATCH_JSON_KEYS = frozenset({"applications", "output", "detail"})
BATCH_FILE_FIELDS = frozenset({"customers", "equipment", "workbook", "meter_readings"})
BENCHMARK_PATHS = frozenset({"/trivial"})
"""Endpoints that exist for the benchmarks only: 404 unless CAPACITY_BENCHMARK_ENDPOINTS=1."""
FREE_PATHS = frozenset(
    {
        "/",
        "/healthz",
        "/livez",
        "/readyz",
        "/metrics",
        "/model",
        "/docs",
        "/docs.json",
        "/api/catalog",
    }
)
"""Paths outside admission control (exact): probes, metrics, the page, the docs and the
catalog (cheap GETs, and a probe must never queue behind work). Every other path
(present or future route, unknown path, any method) takes a slot: the limiter covers
what is not listed here."""
FREE_PREFIXES = ("/static/",)
"""Path prefixes outside admission control: the page's files."""
