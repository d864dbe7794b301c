"""Error bodies: every rejected input names the field, the value and what was expected.

Shape (HTTP 400/401/413/422/503)::

    {"errors": [{"field": "equipment[2].rated_kw", "value": -1, "expected": "> 0",
                 "message": "Input should be greater than 0"}]}
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


def _field_path(loc: tuple[Any, ...], prefix: str = "") -> str:
    field = prefix
    for part in loc:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field += f".{part}" if field else str(part)
    return field


def _jsonable(value: Any) -> Any:
    # Long lists and texts are summarised: an error body should not echo a whole upload.
    if isinstance(value, list | tuple) and len(value) > 10:
        return f"<list of {len(value)} items>"
    if isinstance(value, dict) and len(json.dumps(value, default=str)) > 500:
        return f"<object with {len(value)} fields>"
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _expected(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    for key, sym in _BOUNDS:
        if key in ctx:
            bound = ctx[key]
            if isinstance(bound, float) and bound.is_integer():
                bound = int(bound)
            return f"{sym} {bound}"
    kind = err.get("type", "")
    if kind == "literal_error" and "expected" in ctx:
        return f"one of {ctx['expected']}"
    if kind == "missing":
        return "a value (the field is required)"
    if kind == "extra_forbidden":
        return "no such field (unknown fields are not accepted)"
    if kind == "too_long" and "max_length" in ctx:
        return f"at most {ctx['max_length']} items"
    if kind in {"float_parsing", "float_type"}:
        return "a number"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return "a whole number"
    if kind in {"bool_parsing", "bool_type"}:
        return "true or false"
    if kind in {"string_type"}:
        return "a text value"
    if kind in {"list_type"}:
        return "a list"
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return "an object"
    if kind == "value_error":
        msg = str(err.get("msg", ""))
        return msg.removeprefix("Value error, ")
    return kind


def validation_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Turn a pydantic ValidationError into our error items."""
    out = []
    for err in exc.errors(include_url=False):
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        out.append(
            {
                "field": _field_path(tuple(err.get("loc", ())), prefix) or "(body)",
                "value": _jsonable(err.get("input")),
                "expected": _expected(dict(err)),
                "message": message,
            }
        )
    return out


def error_response(errors: list[dict[str, Any]], status: int = 400) -> JSONResponse:
    """A JSON error response with our error items."""
    return JSONResponse({"errors": errors}, status_code=status)


def single_error(
    field: str | None, value: Any, expected: str, message: str, status: int = 400
) -> JSONResponse:
    """A JSON error response with one item."""
    return error_response(
        [{"field": field, "value": _jsonable(value), "expected": expected, "message": message}],
        status,
    )
