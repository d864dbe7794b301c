"""The web page and its GET helpers, mounted at ``/`` of the BentoML service.

BentoML routes its probes, metrics and POST APIs before mounted apps, so this app only
receives what BentoML does not claim: the page, its static assets, the OpenAPI page and
two model-free helpers (the catalog and live name matching) that the page calls while
the user types.
"""

from __future__ import annotations

import json
import logging
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from features import contract
from features.catalog import OTHER_INDUSTRY, load_catalog
from features.contract import CLIMATE_ZONES, STANDARD_SERIES_KVA
from features.figures import LineFigures, parse_rating, typical_rating, typical_ratings
from features.matching import (
    BROAD_INDUSTRY_WORDS,
    DEFAULT_THRESHOLD,
    STANDBY_MARKERS,
    NameMatcher,
    default_matcher,
    industry_matcher,
    is_guess,
)
from features.schemas import MAX_EQUIPMENT_LINES
from serving.examples import EXAMPLES
from serving.openapi import openapi_document

STATIC = Path(__file__).resolve().parent / "static"
NEXT_STEPS_DEFAULT = Path(__file__).resolve().parent / "next_steps.json"
MATCH_BATCH_MAX = MAX_EQUIPMENT_LINES
"""At most this many names per POST /api/match (one application's lines)."""
CLIMATE_NAMES = {
    "severe_cold": ("严寒地区", "Severe cold"),
    "cold": ("寒冷地区", "Cold"),
    "hot_summer_cold_winter": ("夏热冬冷地区", "Hot summer, cold winter"),
    "hot_summer_warm_winter": ("夏热冬暖地区", "Hot summer, warm winter"),
    "mild": ("温和地区", "Mild"),
}


class NextStepsTexts(BaseModel):
    """The next-steps panel in one language (the utility's own words)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(..., min_length=1, max_length=200)
    apply: str = Field(..., max_length=1000, description="May contain {kva}")
    bring_title: str = Field(..., max_length=200)
    bring: list[str] = Field(default_factory=list, max_length=30)
    utility_title: str = Field(..., max_length=200)
    utility: list[str] = Field(default_factory=list, max_length=30)
    contact: str = Field("", max_length=1000)


class NextSteps(BaseModel):
    """Both languages of the next-steps panel."""

    model_config = ConfigDict(extra="forbid")

    zh: NextStepsTexts
    en: NextStepsTexts


def next_steps(path: Path | None = None) -> NextSteps:
    """The next-steps texts: ``CAPACITY_NEXT_STEPS_FILE`` if set, else the default.

    Raises
    ------
    ValueError
        If the file cannot be read or does not have the expected fields (named).
    """
    source = path or Path(os.environ.get("CAPACITY_NEXT_STEPS_FILE") or NEXT_STEPS_DEFAULT)
    try:
        return NextSteps.model_validate(json.loads(source.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise ValueError(
            f"next-steps texts {source.name}: expected a JSON object with 'zh' and 'en', "
            f"each with title, apply, bring_title, bring, utility_title, utility, contact "
            f"({exc})"
        ) from exc


def _next_steps_or_default() -> dict[str, Any]:
    try:
        return next_steps().model_dump()
    except ValueError:
        # A broken utility file must not take the page down: the default texts serve and
        # the reason is in the server log.
        logging.getLogger(__name__).exception("CAPACITY_NEXT_STEPS_FILE ignored")
        return next_steps(NEXT_STEPS_DEFAULT).model_dump()


@lru_cache(maxsize=1)
def catalog_document() -> dict[str, Any]:
    """Industries, categories and climate zones with both names, for the page's pickers."""
    cat = load_catalog()
    return {
        "version": cat.version,
        "industries": [
            {
                "code": i.code,
                "name_zh": i.name_zh,
                "name_en": i.name_en,
                "aliases_zh": [a for a in i.aliases if not a.isascii()],
                "aliases_en": [a for a in i.aliases if a.isascii()],
                # 其他 (last): the customer says its industry is not listed; the answer is
                # the all-industry one, flagged for review.
                "not_listed": i.code == OTHER_INDUSTRY,
            }
            for i in (*cat.industries.values(), cat.not_listed)
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
        "standby_words": list(STANDBY_MARKERS),
        # Industry words that name no trade: matched as a guess, never shown as recognised.
        "broad_industry_words": list(BROAD_INDUSTRY_WORDS),
        "typical_ratings": [
            {"category": r.category, "size_t_upto": r.size_t_upto, "typical_kw": r.typical_kw}
            for r in typical_ratings()
        ],
        "next_steps": _next_steps_or_default(),
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
        "METER_MONTHS_MIN",
        "METER_MONTHS_MAX",
        "ENERGY_KWH_MAX",
        "PEAK_KW_MAX",
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


def _match_doc(
    matcher: NameMatcher, text: str, rated_kw: float | None, rating: LineFigures | None = None
) -> dict[str, Any]:
    """One match, the figures read from the name and, when sent as text, from the kW box.

    ``rating`` is the kW box read by :func:`features.figures.parse_rating` ('60kVA',
    '750W', '15HP'); a kVA figure there decides an AC/DC choice at face value and becomes
    kW with the matched category's power factor (the answer says which factor).
    """
    power = rated_kw
    if power is None and rating is not None:
        power = rating.power_for_type
    m = matcher.match(text, rated_kw=power)
    doc: dict[str, Any] = {
        "text": text,
        "category": m.category,
        "confidence": m.confidence,
        "matched_alias": m.matched_alias,
        "rated_kw_hint": m.rated_kw_hint,
        "reason": m.reason,
        # A tie, a typo corrected or a broad word (工厂): shown as a guess, never ✓.
        "guess": m.category is not None and is_guess(m.confidence),
        # What was read from the name (power, count, standby) and how: the page shows it
        # beside the line, the importer fills the empty boxes from it.
        "figures": m.figures.as_dict() if m.figures is not None else None,
        # A common rating to OFFER when the line names no power (never filled in).
        "typical_kw": typical_rating(m.category, m.figures.size_t if m.figures else None)
        if m.category and matcher.kind == "category" and m.rated_kw_hint is None
        else None,
        # Guesses for a name that matched nothing (or too weakly): the page offers them.
        "candidates": [
            {"code": code, "score": score}
            for code, score in (matcher.candidates(text, 5) if m.category is None else [])
        ],
    }
    if rating is not None:
        cat = (
            load_catalog().categories.get(m.category or "") if matcher.kind == "category" else None
        )
        doc["rating"] = rating.with_power_factor(cat.cos_phi if cat else None).as_dict()
    return doc


def _check_text(text: object, field: str) -> JSONResponse | None:
    if not isinstance(text, str):
        return _one_error(field, text, "a text", "not a text", "string_type")
    if len(text) > 200:
        return _one_error(
            field,
            text[:50] + "…",
            "at most 200 characters",
            "equipment name too long",
            "string_too_long",
            {"max_length": 200},
        )
    if "\x00" in text:
        return _one_error(
            field,
            text[:50].replace("\x00", "\\x00"),
            "a text without NUL bytes",
            "the equipment name contains a NUL byte",
            "text_nul",
        )
    return None


def _check_kw(
    raw: object, field: str
) -> tuple[float | None, LineFigures | None, JSONResponse | None]:
    """(kW as a plain number, the box's figures when written with a unit, error)."""
    if raw is None or raw == "":
        return None, None, None
    rating: LineFigures | None = None
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        # A unit written in the kW box ('60kVA', '750W', '15HP') is read, not refused.
        rating = parse_rating(raw) if isinstance(raw, str) and len(raw) <= 50 else None
        if rating is None or rating.power_for_type is None:
            return (
                None,
                None,
                _one_error(
                    field,
                    raw,
                    "a number, or a power with its unit (kW, W, kVA, HP)",
                    "not a number",
                    "float_parsing",
                ),
            )
        value = rating.power_for_type
    low, high = contract.RATED_KW_MIN, contract.RATED_KW_MAX
    if not (math.isfinite(value) and low <= value <= high):
        return (
            None,
            None,
            _one_error(
                field,
                raw,
                f"a finite number from {low:g} to {high:g}",
                "rating out of range",
                "rating_range",
                {"min": low, "max": high},
            ),
        )
    return (value if rating is None else None), rating, None


def _matcher_of(request: Request) -> NameMatcher | JSONResponse:
    kind = request.query_params.get("kind", "category")
    if kind == "category":
        return default_matcher()
    if kind == "industry":
        return industry_matcher()
    return _one_error(
        "kind", kind, "'category' or 'industry'", "unknown kind of match", "literal_error"
    )


async def api_match(request: Request) -> Response:
    """Live name → category (or, with ``kind=industry``, industry) suggestion.

    GET ``?text=…&rated_kw=…`` matches one name; POST ``{"items": [{"text", "rated_kw"}]}``
    matches up to 500 at once (a pasted list is one request, not one per row). The
    matching runs in a thread: 200 names are ~10 ms of Python, which in the event loop
    would hold every probe and every refusal of the worker behind them.
    """
    body = await request.body() if request.method == "POST" else None
    return await run_in_threadpool(_match_answer, request, body)


def _match_answer(request: Request, raw: bytes | None) -> Response:
    """``/api/match``'s answer (in a worker thread; ``raw`` is a POST's body)."""
    matcher = _matcher_of(request)
    if isinstance(matcher, JSONResponse):
        return matcher
    if raw is not None:
        try:
            body = json.loads(raw)
        except ValueError:
            return _one_error("(body)", None, "a JSON document", "not JSON", "json_invalid")
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) > MATCH_BATCH_MAX:
            return _one_error(
                "items",
                f"<{type(items).__name__}>",
                f"a list of at most {MATCH_BATCH_MAX} objects with 'text' and 'rated_kw'",
                "no list of names to match",
                "too_long" if isinstance(items, list) else "list_type",
                {"max_length": MATCH_BATCH_MAX},
            )
        results = []
        for k, item in enumerate(items):
            if not isinstance(item, dict):
                return _one_error(f"items[{k}]", None, "an object", "not an object", "dict_type")
            text = item.get("text", "")
            bad = _check_text(text, f"items[{k}].text")
            if bad is not None:
                return bad
            kw, rating, bad = _check_kw(item.get("rated_kw"), f"items[{k}].rated_kw")
            if bad is not None:
                return bad
            results.append(_match_doc(matcher, str(text), kw, rating))
        return JSONResponse({"results": results})
    text = request.query_params.get("text", "")
    bad = _check_text(text, "text")
    if bad is not None:
        return bad
    rated_kw, rating, bad = _check_kw(request.query_params.get("rated_kw"), "rated_kw")
    if bad is not None:
        return bad
    return JSONResponse(_match_doc(matcher, text, rated_kw, rating))


def _one_error(
    field: str,
    value: object,
    expected: str,
    message: str,
    code: str = "value_error",
    params: dict[str, Any] | None = None,
) -> JSONResponse:
    item = {
        "field": field,
        "value": value,
        "expected": expected,
        "message": message,
        "code": code,
        "params": params or {},
    }
    return JSONResponse({"errors": [item]}, status_code=400)


def build_ui_app() -> Starlette:
    """The Starlette app mounted at ``/``."""
    return Starlette(
        routes=[
            Route("/", index),
            Route("/docs", docs),
            Route("/docs.json", docs_json),
            Route("/api/catalog", api_catalog),
            Route("/api/match", api_match, methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
        ]
    )
