"""An answered id always has a row: settle() before the answer, spool storage probed.

Storage that takes nothing (the database's and every spool location's folder unusable,
as on a read-only or full volume) must not yield ids that have no row: ``settle`` says
which rows nothing took, the health says ``failing`` and names the spool problem, and
a spool that works again clears it. (Read-only and full tmpfs volumes and kill -9 under
traffic, through the server: ``benchmarks/log_faults.py``, which needs root.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.logbook import Logbook, LogbookSettings
from tests.unit.test_logbook_faults import _issue


@pytest.fixture
def blocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A regular file where folders are expected: nothing can be created under it."""
    wall = tmp_path / "not-a-folder"
    wall.write_text("x")
    monkeypatch.setenv("CAPACITY_HOME", str(wall / "home"))
    return wall


def test_rows_nothing_can_take_are_not_handed_out_as_recorded(blocked: Path) -> None:
    settings = LogbookSettings(url=f"sqlite:///{blocked / 'db' / 'log.db'}", spool_dir=blocked)
    book = Logbook.open(settings, tolerate_unavailable=True)
    try:
        assert book.spool_error is not None and "no writable spool" in book.spool_error
        ids = _issue(book, 3)
        assert book.settle(ids) == [False, False, False]
        health = book.health()
        assert health["state"] == "failing" and health["unrecorded_rows_total"] == 3
    finally:
        book.close()


def test_a_working_spool_takes_the_rows_the_database_refuses(blocked: Path, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    settings = LogbookSettings(url=f"sqlite:///{blocked / 'db' / 'log.db'}", spool_dir=spool)
    book = Logbook.open(settings, tolerate_unavailable=True)
    try:
        assert book.spool_error is None  # the first spool location is usable
        ids = _issue(book, 3)
        assert book.settle(ids) == [True, True, True]
        spooled = (spool / "recommendations-unwritten.jsonl").read_text()
        assert all(rid in spooled for rid in ids)
        assert book.health()["state"] == "degraded"
    finally:
        book.close()


def test_settle_writes_before_it_returns(tmp_path: Path) -> None:
    book = Logbook.open(LogbookSettings(url=f"sqlite:///{tmp_path / 'log.db'}"))
    try:
        ids = _issue(book, 5)
        assert book.settle(ids) == [True] * 5
        assert book.pending == 0
        assert book.health()["state"] == "ok"
    finally:
        book.close()
