"""CLI tables: counts print as integers, shares with their digits, and nothing is cut at 80 columns."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from rich.table import Table

from training.cli.output import CLI_WIDTH, cell, console, counts_table, parse_datetime_option


def test_counts_are_integers_and_shares_keep_their_digits() -> None:
    assert cell(249.0, count=True) == "249"  # pandas stores groupby counts as floats
    assert cell(np.int64(249)) == "249"
    assert cell(12) == "12"
    assert cell(1.0) == "1.000"  # a share of 1 is a share, not a count
    assert cell(0.91234) == "0.912"
    assert cell(math.nan) == "–"
    assert cell(True) == "yes"


def test_console_is_at_least_120_columns_when_not_a_terminal() -> None:
    con = console()
    assert con.width >= CLI_WIDTH
    table = Table()
    for i in range(6):
        table.add_column(f"column_{i}_header")
    table.add_row(*[f"value-{i}-long" for i in range(6)])
    with con.capture() as cap:
        con.print(table)
    lines = cap.get().splitlines()
    assert max(len(line) for line in lines) <= CLI_WIDTH
    assert all("…" not in line for line in lines)  # 6 columns of 17 fit in 120, not in 80


def test_rejects_print_as_a_table_not_a_dict() -> None:
    con = console()
    with con.capture() as cap:
        con.print(counts_table("Rejected rows", {"customers": 952, "equipment": 13190}))
    out = cap.get()
    assert "{" not in out and "customers" in out and "13190" in out


def test_one_date_parser_for_every_command() -> None:
    assert parse_datetime_option(None, "since") is None
    assert parse_datetime_option("2026-11-01", "since") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_datetime_option("2026-11-01T08:30", "until") == datetime(
        2026, 11, 1, 8, 30, tzinfo=UTC
    )
    east8 = timezone(timedelta(hours=8))
    got = parse_datetime_option("2026-11-01T08:00+08:00", "since")
    assert got == datetime(2026, 11, 1, 8, tzinfo=east8)  # a given zone is kept
    with pytest.raises(ValueError, match=r"--accuracy-since 'last tuesday' is not a date"):
        parse_datetime_option("last tuesday", "accuracy-since")
