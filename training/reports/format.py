"""Formatting shared by the generated reports (pilot report, model card).

One way to show a share, an interval, a number and a table, so the pilot report and the
model card print the same figure the same way. Missing or non-finite values show as "–".
"""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Sequence

__all__ = ["MISSING", "count", "html_table", "interval", "md_table", "num", "pct"]

MISSING = "–"
"""How a missing or non-finite value is shown."""


def _finite(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        try:
            number = float(value)  # type: ignore[arg-type]  # numpy and pandas scalars
        except (TypeError, ValueError):
            return None
    return number if math.isfinite(number) else None


def pct(value: object) -> str:
    """A share as a percentage with one decimal (``0.9123`` → ``91.2 %``)."""
    number = _finite(value)
    return MISSING if number is None else f"{100.0 * number:.1f} %"


def interval(low: object, high: object) -> str:
    """A share's interval as percentages (``91.0–93.4 %``)."""
    lo, hi = _finite(low), _finite(high)
    if lo is None or hi is None:
        return MISSING
    return f"{100.0 * lo:.1f}–{100.0 * hi:.1f} %"


def num(value: object, digits: int = 0) -> str:
    """A number with thousands separators and ``digits`` decimals."""
    number = _finite(value)
    return MISSING if number is None else f"{number:,.{digits}f}"


def count(value: object) -> str:
    """A count, rounded to a whole number, with thousands separators."""
    number = _finite(value)
    return MISSING if number is None else f"{int(round(number)):,}"


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def md_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()
) -> str:
    """A Markdown table; columns whose index is in ``right`` are right-aligned."""
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = [
        "| " + " | ".join(_md_cell(h) for h in headers) + " |",
        "|" + "|".join(align) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table (text escaped)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
