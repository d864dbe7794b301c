"""Terminal output shared by the CLI commands: one console width, numbers as they are.

Rich falls back to 80 columns when output is not a terminal (a pipe, a CI log, a
scheduler's mail), which truncated the per-industry tables; the CLI prints for a
120-column terminal unless the terminal says it is wider.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

CLI_WIDTH = 120


def console(stderr: bool = False) -> Console:
    """A console at least :data:`CLI_WIDTH` wide (the terminal's width when it is wider)."""
    width = max(CLI_WIDTH, shutil.get_terminal_size((CLI_WIDTH, 24)).columns)
    return Console(stderr=stderr, width=width)


def cell(value: Any, digits: int = 3, count: bool = False) -> str:
    """A table cell: integers without decimals, shares with ``digits``.

    ``count`` marks a column of counts that pandas stored as floats (``n`` after a
    groupby), printed as integers (not ``249.000``).
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (count and isinstance(value, float) and value.is_integer()):
        return f"{int(value)}"
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.{digits}f}"
    if hasattr(value, "item"):  # numpy scalars
        return cell(value.item(), digits, count)
    return str(value)


def counts_table(title: str, counts: Mapping[str, int], key: str = "file") -> Table:
    """A two-column table of counts (e.g. rejected rows per file)."""
    table = Table(title=title)
    table.add_column(key)
    table.add_column("rows", justify="right")
    for k, v in counts.items():
        table.add_row(str(k), f"{int(v)}")
    return table


def parse_datetime_option(value: str | None, option: str) -> datetime | None:
    """The CLI's one date parser: an ISO 8601 date or date-time, UTC when it names no zone.

    Parameters
    ----------
    value
        What the user typed (``None``: the option was not given, returned as is).
    option
        The option's name without dashes, for the message (``since``).

    Raises
    ------
    ValueError
        If ``value`` is not ISO 8601, naming the option, the value and what is expected;
        the commands print it as their error and exit 2.
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--{option} {value!r} is not a date: expected ISO 8601, e.g. 2026-11-01 or "
            "2026-11-01T08:00 (UTC unless a zone is given)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
