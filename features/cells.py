"""One rule for every spreadsheet and CSV cell we write: text never becomes a formula.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and a tab or a
carriage return before them) as a formula: an equipment name ``=HYPERLINK("http://…")``
or a project name ``=1+2`` would run in the planner's Excel (OWASP "CSV injection").
:func:`formula_safe` is the one place that decides; the batch CSV answer, the batch and
sheet workbooks and the rejects files all call it.

Numbers are left alone (a negative number is data, not a formula); only text is escaped,
with a leading apostrophe, the mark Excel and LibreOffice themselves use for "this is
text". Formulas we write on purpose (the calculation sheet's Pjs = Kx·Pe) do not pass here.
"""

from __future__ import annotations

from typing import Any

FORMULA_LEADS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\n")
"""Text starting with one of these is a formula (or hides one) to a spreadsheet."""


def formula_safe(value: Any) -> Any:
    """``value`` as a cell a spreadsheet will not run.

    Parameters
    ----------
    value
        Any cell value.

    Returns
    -------
    Any
        Text that a spreadsheet would read as a formula, with a leading ``'``; anything
        else (numbers, booleans, None, ordinary text) unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def formula_safe_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame whose text cells went through :func:`formula_safe`."""
    out = frame.copy()
    for col in out.columns:
        if str(out[col].dtype) in ("object", "str", "string") or str(out[col].dtype).startswith(
            "string"
        ):
            out[col] = out[col].map(formula_safe)
    out.columns = [formula_safe(c) for c in out.columns]
    return out
