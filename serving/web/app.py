"""The web page and its GET helpers, mounted at ``/`` of the BentoML service.

BentoML routes its probes, metrics and POST APIs before mounted apps, so this app only
receives what BentoML does not claim: the page, its static assets, the OpenAPI page and
two model-free helpers (the catalog and live name matching) that the page calls while
the user types.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from features import contract
from features.catalog import load_catalog
from features.contract import CLIMATE_ZONES, STANDARD_SERIES_KVA
from features.matching import DEFAULT_THRESHOLD, default_matcher
from features.schemas import MAX_EQUIPMENT_LINES
from serving.examples import EXAMPLES
from serving.openapi import openapi_document

STATIC = Path(__file__).resolve().parent / "static"
CLIMATE_NAMES = {
    "severe_cold": ("严寒地区", "Severe cold"),
    "cold": ("寒冷地区", "Cold"),
    "hot_summer_cold_winter": ("夏热冬冷地区", "Hot summer, cold winter"),
    "hot_summer_warm_winter": ("夏热冬暖地区", "Hot summer, warm winter"),
    "mild": ("温和地区", "Mild"),
}


@lru_cache(maxsize=1)
def catalog_document() -> dict[str, Any]:
    """Industries, categories and climate zones with both names, for the page's pickers."""
    cat = load_catalog()
    return {
        "version": cat.version,
        "industries": [
            {"code": i.code, "name_zh": i.name_zh, "name_en": i.name_en}
            for i in cat.industries.values()
        ],
        "categories": [
            {
                "code": c.code,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "kx_low": c.kx_low,
                "kx_high": c.kx_high,
                "cos_phi": c.cos_phi,
            }
            for c in cat.categories.values()
        ],
        "climate_zones": [
            {"code": z, "name_zh": CLIMATE_NAMES[z][0], "name_en": CLIMATE_NAMES[z][1]}
            for z in CLIMATE_ZONES
        ],
        "standard_series_kva": list(STANDARD_SERIES_KVA),
        "max_equipment_lines": MAX_EQUIPMENT_LINES,
        "limits": plausibility_limits(),
        # The words a boolean column may hold (the page's CSV import reads standby with
        # them), the same list the history validation and the engineering method use.
        "boolean_words": {
            "true": list(contract.BOOLEAN_TRUE_WORDS),
            "false": list(contract.BOOLEAN_FALSE_WORDS),
        },
        # The page shows a suggested category as "will be recognised" only above the
        # confidence the server accepts (RecommenderConfig.min_match_confidence's default).
        "min_match_confidence": DEFAULT_THRESHOLD,
        "examples": EXAMPLES,
    }


def plausibility_limits() -> dict[str, float]:
    """The contract's plausibility limits (the page checks them before sending)."""
    names = (
        "RATED_KW_MIN",
        "RATED_KW_MAX",
        "QUANTITY_MAX",
        "FLOOR_AREA_M2_MIN",
        "FLOOR_AREA_M2_MAX",
        "EMPLOYEES_MAX",
        "CAPACITY_KVA_MIN",
        "CAPACITY_KVA_MAX",
        "INSTALLED_KW_MAX",
        "INSTALLED_KW_PER_M2_MAX",
    )
    return {name.lower(): float(getattr(contract, name)) for name in names}


async def index(request: Request) -> Response:
    """The page."""
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


@lru_cache(maxsize=1)
def swagger_page() -> str:
    """Our own API page (``static/docs.html``): Swagger UI from the server's own assets.

    It used to be BentoML's private ``main-openapi.html`` with its tracker stripped out; a
    file of our own cannot change under us with a BentoML upgrade.
    """
    return (STATIC / "docs.html").read_text(encoding="utf-8")


async def docs(request: Request) -> Response:
    """Swagger UI reading /docs.json (served from the bundled swagger assets only)."""
    return HTMLResponse(swagger_page())


async def docs_json(request: Request) -> Response:
    """The OpenAPI document."""
    return JSONResponse(openapi_document())


async def api_catalog(request: Request) -> Response:
    """Catalog for the page's pickers."""
    return JSONResponse(catalog_document())


async def api_match(request: Request) -> Response:
    """Live name → category suggestion."""
    text = request.query_params.get("text", "")
    if len(text) > 200:
        return JSONResponse(
            {
                "errors": [
                    {
                        "field": "text",
                        "value": text[:50] + "…",
                        "expected": "at most 200 characters",
                        "message": "equipment name too long",
                    }
                ]
            },
            status_code=400,
        )
    if "\x00" in text:
        return _one_error(
            "text",
            text[:50].replace("\x00", "\\x00"),
            "a text without NUL bytes",
            "the equipment name contains a NUL byte",
        )
    rated = request.query_params.get("rated_kw")
    try:
        rated_kw = float(rated) if rated else None
    except ValueError:
        return _one_error("rated_kw", rated, "a number", "not a number")
    low, high = contract.RATED_KW_MIN, contract.RATED_KW_MAX
    if rated_kw is not None and not (math.isfinite(rated_kw) and low <= rated_kw <= high):
        return _one_error(
            "rated_kw", rated, f"a finite number from {low:g} to {high:g}", "rating out of range"
        )
    m = default_matcher().match(text, rated_kw=rated_kw)
    return JSONResponse(
        {
            "text": text,
            "category": m.category,
            "confidence": m.confidence,
            "matched_alias": m.matched_alias,
            "rated_kw_hint": m.rated_kw_hint,
            "reason": m.reason,
        }
    )


def _one_error(field: str, value: object, expected: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"field": field, "value": value, "expected": expected, "message": message}]},
        status_code=400,
    )


def build_ui_app() -> Starlette:
    """The Starlette app mounted at ``/``."""
    return Starlette(
        routes=[
            Route("/", index),
            Route("/docs", docs),
            Route("/docs.json", docs_json),
            Route("/api/catalog", api_catalog),
            Route("/api/match", api_match),
            Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
        ]
    )
