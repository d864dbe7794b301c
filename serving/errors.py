"""Error bodies: every rejected input names the field, the value and what was expected.

Shape (HTTP 400/401/404/405/413/415/503)::

    {"errors": [{"field": "equipment[2].rated_kw", "value": -1, "expected": ">= 0.001",
                 "message": "Input should be greater than or equal to 0.001"}]}

``expected`` is always human wording ("a finite number", "a number (not a text or a
boolean)"), never a raw pydantic error code. Every item also carries ``code`` (the
pydantic error type or our own: ``greater_than_equal``, ``unknown_industry``,
``unmatched_line``…) and ``params`` (its context: bounds, suggestions), which the page
renders in the user's language from its catalog (no server English on the Chinese page); a value that cannot be sent back as JSON
(a lone surrogate, NaN) is sent back as its escaped text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse


class UnmatchedLinesError(ValueError):
    """Equipment lines whose name matches no category, in a request without ``unmatched``.

    Left out, such lines would make the answer too small, so the request must say how to
    count them.

    Attributes
    ----------
    lines
        ``(index, name, three likeliest categories)`` per such line.
    """

    def __init__(self, lines: list[tuple[int, str, list[str]]]) -> None:
        self.lines = lines
        names = ", ".join(f"[{i}] {name!r}" for i, name, _ in lines[:5])
        super().__init__(f"{len(lines)} equipment line(s) match no category: {names}")


_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


def _field_path(loc: tuple[Any, ...], prefix: str = "") -> str:
    field = prefix
    for part in loc:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field += f".{part}" if field else str(part)
    return field


def safe_text(text: str) -> str:
    """``text`` with lone surrogates and control characters escaped (always valid UTF-8)."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() and not ("\ud800" <= ch <= "\udfff") else ascii(ch)[1:-1]
        for ch in text
    )


def _jsonable(value: Any) -> Any:
    # Long lists and texts are summarised: an error body should not echo a whole upload.
    if isinstance(value, list | tuple) and len(value) > 10:
        return f"<list of {len(value)} items>"
    if isinstance(value, str):
        return safe_text(value[:200] + "…" if len(value) > 200 else value)
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        return safe_text(repr(value)[:200])
    if isinstance(value, dict) and len(text) > 500:
        return f"<object with {len(value)} fields>"
    if isinstance(value, dict | list | tuple) and not _encodable(value):
        return safe_text(text)
    return value


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return True
    except (UnicodeEncodeError, RecursionError):
        return False


_KINDS = {
    "finite_number": "a finite number",
    "float_type": "a number (not a text or a boolean)",
    "float_parsing": "a number",
    "int_type": "a whole number (not a text, a boolean or a decimal)",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false (a JSON boolean)",
    "bool_parsing": "true or false",
    "string_type": "a text value",
    "list_type": "a list",
    "model_type": "an object",
    "dict_type": "an object",
    "model_attributes_type": "an object",
    "missing": "a value (the field is required)",
    "extra_forbidden": "no such field (unknown fields are not accepted)",
    "text_nul": "a text without NUL bytes",
    "text_surrogate": "valid Unicode text (no lone surrogates)",
    "json_invalid": "a JSON document",
    "literal_error": "one of the listed values",
    "enum": "one of the listed values",
    "string_too_short": "a longer text",
    "string_too_long": "a shorter text",
    "too_short": "more items",
    "too_long": "fewer items",
    "none_required": "no value (null)",
    "union_tag_invalid": "one of the listed kinds",
}


def _expected(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    if kind == "finite_number":  # before the bounds: NaN is not "> 0", it is no number
        return _KINDS[kind]
    if kind == "implausible_total":
        return str(ctx.get("expected", "a plausible total"))
    for key, sym in _BOUNDS:
        if key in ctx:
            bound = ctx[key]
            if isinstance(bound, float) and bound.is_integer():
                bound = int(bound)
            return f"{sym} {bound}"
    if kind in {"literal_error", "enum"} and "expected" in ctx:
        return f"one of {ctx['expected']}"
    if kind == "too_long" and "max_length" in ctx:
        return f"at most {ctx['max_length']} items"
    if kind == "too_short" and "min_length" in ctx:
        return f"at least {ctx['min_length']} items"
    if kind == "string_too_long" and "max_length" in ctx:
        return f"at most {ctx['max_length']} characters"
    if kind == "string_too_short" and "min_length" in ctx:
        return f"at least {ctx['min_length']} characters"
    if kind in _KINDS:
        return _KINDS[kind]
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    if kind == "value_error":
        return msg
    # Any other pydantic code: its sentence, not the code ("Input should be ...").
    return msg.removeprefix("Input should be ") or "a valid value"


def _params(ctx: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON-safe part of an error's context (bounds, lengths, suggestions)."""
    out: dict[str, Any] = {}
    for key, value in (ctx or {}).items():
        if isinstance(value, bool | int | float | str) or value is None:
            out[key] = _jsonable(value)
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            out[key] = [safe_text(v) for v in value[:10]]
    return out


def validation_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Turn a pydantic ValidationError into our error items."""
    out = []
    for err in exc.errors(include_url=False):
        message = safe_text(str(err.get("msg", "")).removeprefix("Value error, "))
        value = err.get("input")
        if err.get("type") == "implausible_total":  # the total, not the whole list
            value = (err.get("ctx") or {}).get("value", value)
        out.append(
            {
                "field": safe_text(_field_path(tuple(err.get("loc", ())), prefix)) or "(body)",
                "value": _jsonable(value),
                "expected": _expected(dict(err)),
                "message": message,
                "code": str(err.get("type", "value_error")),
                "params": _params(err.get("ctx")),
            }
        )
    return out


MAX_ERROR_ITEMS = 1_000
"""Most error items one body carries; the rest are counted in a last item."""
MAX_ERROR_TEXT = 500
"""Longest text of an item's ``field``, ``expected`` or ``message`` (values: 200)."""


def _bounded(item: dict[str, Any]) -> dict[str, Any]:
    """An error item whose texts are bounded excerpts (a 7.9 MB input echoes 500 chars)."""
    out = dict(item)
    for key in ("field", "expected", "message"):
        text = out.get(key)
        if isinstance(text, str) and len(text) > MAX_ERROR_TEXT:
            out[key] = text[:MAX_ERROR_TEXT] + "…"
    if "value" in out and isinstance(out["value"], str) and len(out["value"]) > 201:
        out["value"] = out["value"][:200] + "…"
    return out


def error_response(errors: list[dict[str, Any]], status: int = 400) -> JSONResponse:
    """A JSON error response with our error items (bounded: see :data:`MAX_ERROR_ITEMS`)."""
    items = [_bounded(e) for e in errors[:MAX_ERROR_ITEMS]]
    if len(errors) > MAX_ERROR_ITEMS:
        left = len(errors) - MAX_ERROR_ITEMS
        items.append(
            {
                "field": None,
                "value": left,
                "expected": "the errors above corrected first",
                "message": f"{left} more error(s) not listed",
                "code": "more_errors",
                "params": {"count": left},
            }
        )
    return JSONResponse({"errors": items}, status_code=status)


def single_error(
    field: str | None,
    value: Any,
    expected: str,
    message: str,
    status: int = 400,
    code: str | None = None,
    params: dict[str, Any] | None = None,
) -> JSONResponse:
    """A JSON error response with one item."""
    item: dict[str, Any] = {
        "field": None if field is None else safe_text(field),
        "value": _jsonable(value),
        "expected": expected,
        "message": safe_text(message),
    }
    if code is not None:
        item.update(code=code, params=params or {})
    return error_response([item], status)


def unmatched_errors(
    lines: list[tuple[int, str, list[str]]], prefix: str = ""
) -> list[dict[str, Any]]:
    """One error item per equipment line whose name matches no category."""
    return [
        {
            "field": f"{prefix}equipment[{index}].category",
            "value": _jsonable(name),
            "expected": "a category code, a recognisable name, or 'unmatched': 'other_motor' "
            "or 'other_heating' in the request to count such lines as that",
            "message": f"the name {safe_text(name)!r} matches no equipment category"
            + (f"; likeliest: {', '.join(guesses)}" if guesses else ""),
            "code": "unmatched_line",
            "params": {"index": index, "name": _jsonable(name), "suggestions": list(guesses)},
        }
        for index, name, guesses in lines
    ]


_URI = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*:/{1,3}[^\s'\"<>)\]]*")
_ABS_PATH = re.compile(
    r"(?<![\w.~\-/])(?:[A-Za-z]:)?/(?:[^\s'\"<>/:;,()\[\]]+/)*([^\s'\"<>/:;,()\[\]]+)/?"
)


def public_text(text: str) -> str:
    """``text`` fit for a public body: URIs become ``<uri>``, absolute paths their last name.

    A load error names the file that failed (``…/booster.txt``), which is what the reader
    needs; the directory layout of the server and the tracking or database URI (which may
    carry credentials) stay in the server log.
    """
    text = _URI.sub("<uri>", text)
    return safe_text(_ABS_PATH.sub(lambda m: f"…/{m.group(1)}", text))
