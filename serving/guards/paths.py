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
"""POST endpoints whose body :class:`serving.guards.body.BodyGuard` checks."""
BATCH_PATH = "/recommend_batch"
BATCH_JSON_KEYS = frozenset({"applications", "output", "detail"})
BATCH_FILE_FIELDS = frozenset({"customers", "equipment", "workbook", "meter_readings"})
BENCHMARK_PATHS = frozenset({"/trivial"})
"""Endpoints that exist for the benchmarks only: 404 unless CAPACITY_BENCHMARK_ENDPOINTS=1."""
SHED_PATHS = frozenset({"/recommend", "/check", "/recommend_batch", "/feedback", "/export/sheet"})
"""The endpoints load shedding covers (not probes, metrics, the page or static files)."""
