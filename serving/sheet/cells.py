"""Spreadsheet formulas that carry their value: one expression, written once, gives both.

A workbook written by openpyxl holds formulas without results, so a previewer that does
not calculate (a mail client, a phone, a file browser) shows blank cells. Each
:class:`Formula` is built from cell references that know their value, with Python
operators and the few Excel functions the sheet uses; its ``text`` is the Excel formula
and its ``value`` what Excel computes from it, in the same order of operations. The
values are then written beside the formulas as cached results
(:func:`with_cached_values`); Excel still recalculates on open (``fullCalcOnLoad``).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

_ATOM = 9
_PRECEDENCE = {"=": 0, "<>": 0, "<": 0, ">": 0, "<=": 0, ">=": 0, "+": 1, "-": 1, "*": 2, "/": 2}
_POWER = 3


@dataclass(frozen=True)
class Formula:
    """An Excel expression (``text``, without the leading '=') and its value."""

    text: str
    value: float
    precedence: int = _ATOM

    def _wrap(self, precedence: int, right: bool, op: str) -> str:
        # Parentheses only where Excel's precedence needs them: a lower-precedence operand,
        # or an equal one on the right of a non-associative operator (a-(b-c), a/(b*c)).
        if self.precedence < precedence or (
            right and self.precedence == precedence and op in {"-", "/", "^"}
        ):
            return f"({self.text})"
        return self.text

    def _binary(self, op: str, other: Formula | float, swap: bool = False) -> Formula:
        left, right = (lift(other), self) if swap else (self, lift(other))
        p = _POWER if op == "^" else _PRECEDENCE[op]
        fn = _OPERATORS[op]
        return Formula(
            f"{left._wrap(p, False, op)}{op}{right._wrap(p, True, op)}",
            fn(left.value, right.value),
            p,
        )

    def __add__(self, other: Formula | float) -> Formula:
        return self._binary("+", other)

    def __radd__(self, other: float) -> Formula:
        return self._binary("+", other, swap=True)

    def __sub__(self, other: Formula | float) -> Formula:
        return self._binary("-", other)

    def __rsub__(self, other: float) -> Formula:
        return self._binary("-", other, swap=True)

    def __mul__(self, other: Formula | float) -> Formula:
        return self._binary("*", other)

    def __rmul__(self, other: float) -> Formula:
        return self._binary("*", other, swap=True)

    def __truediv__(self, other: Formula | float) -> Formula:
        return self._binary("/", other)

    def __rtruediv__(self, other: float) -> Formula:
        return self._binary("/", other, swap=True)

    def __pow__(self, other: Formula | float) -> Formula:
        return self._binary("^", other)

    def gt(self, other: Formula | float) -> Formula:
        """``self>other`` (a condition for :func:`if_`)."""
        return self._binary(">", other)


def _div(a: float, b: float) -> float:
    # Excel gives #DIV/0!; NaN marks the cell as having no cached value (left blank).
    return a / b if b != 0 else math.nan


_OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _div,
    "^": lambda a, b: a**b,
    ">": lambda a, b: float(a > b),
}


def lift(x: Formula | float) -> Formula:
    """A number as a formula literal ('1', '0.5', '100')."""
    if isinstance(x, Formula):
        return x
    return Formula(f"{x:g}" if float(x) == int(x) else repr(float(x)), float(x))


def ref(address: str, value: float) -> Formula:
    """A reference to a cell holding ``value`` ('B12', "'设备清单'!H3")."""
    return Formula(address, float(value))


def call(name: str, args: Sequence[Formula | float], value: float) -> Formula:
    """``NAME(a,b,…)`` with the value Excel gives it."""
    return Formula(f"{name}({','.join(lift(a).text for a in args)})", value)


def sqrt(x: Formula) -> Formula:
    """``SQRT(x)``."""
    return call("SQRT", [x], math.sqrt(x.value) if x.value >= 0 else math.nan)


def max_(*xs: Formula | float) -> Formula:
    """``MAX(a,b,…)``."""
    return call("MAX", xs, max(lift(x).value for x in xs))


def if_(condition: Formula, then: Formula | float, otherwise: Formula | float) -> Formula:
    """``IF(condition,then,otherwise)``."""
    a, b = lift(then), lift(otherwise)
    return Formula(
        f"IF({condition.text},{a.text},{b.text})", a.value if condition.value else b.value
    )


def total(first: str, last: str, values: Sequence[float]) -> Formula:
    """``SUM(first:last)`` of the cells holding ``values``."""
    return Formula(f"SUM({first}:{last})", math.fsum(values))


def formula_cell(x: Formula) -> str:
    """The cell content of a formula (``=`` and its text)."""
    return "=" + x.text


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_paths(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title → its XML part in the package."""
    book = ElementTree.fromstring(z.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): str(r.get("Target")) for r in rels}
    out = {}
    for sheet in book.iterfind("m:sheets/m:sheet", _NS):
        path = target[sheet.get(_REL)].lstrip("/")
        out[str(sheet.get("name"))] = path if path.startswith("xl/") else f"xl/{path}"
    return out


def with_cached_values(package: bytes, cached: dict[str, dict[str, float]]) -> bytes:
    """The workbook with each formula cell's result written beside its formula.

    ``cached`` maps a sheet title to ``{address: value}``. openpyxl writes a formula cell
    as ``<c r="B12"><f>…</f><v></v></c>``; the empty ``<v>`` gets the value (a NaN, for
    an Excel error, stays empty). Every other part of the package is copied unchanged.

    Raises
    ------
    ValueError
        If a cell of ``cached`` is not a formula cell of its sheet (the workbook and the
        values went out of step: a programming error).
    """
    src = zipfile.ZipFile(io.BytesIO(package))
    paths = _sheet_paths(src)
    by_path = {paths[title]: values for title, values in cached.items() if values}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            values = by_path.get(info.filename)
            if values is not None:
                data = _fill(data.decode("utf-8"), values, info.filename).encode("utf-8")
            dst.writestr(info, data)
    return out.getvalue()


_FORMULA_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>([^<]*)</f><v\s*/?>(?:</v>)?</c>')


def _fill(xml: str, values: dict[str, float], part: str) -> str:
    seen: set[str] = set()

    def put(m: re.Match[str]) -> str:
        address = m.group(1)
        if address not in values:
            return m.group(0)
        seen.add(address)
        v = values[address]
        cached = "" if not math.isfinite(v) else repr(float(v))
        return f'<c r="{address}"{m.group(2)}><f>{m.group(3)}</f><v>{cached}</v></c>'

    filled = _FORMULA_CELL.sub(put, xml)
    missing = set(values) - seen
    if missing:
        raise ValueError(f"{part}: no formula cell at {sorted(missing)} to cache a value in")
    return filled
