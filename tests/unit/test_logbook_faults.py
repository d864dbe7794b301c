"""Fault suite of the recommendation log: a database that refuses writes (I/O error, disk
full, read-only), a SQLite file or directory deleted while open, a spool left by an earlier
run. In every case ids are issued, rows are spooled, the log says it is degraded, and once
the database is back every issued id is in it (rows lost: 0) and takes an outcome."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from features.schemas import Application
from serving.logbook import (
    SPOOL_FILE,
    Logbook,
    LogbookSettings,
    LogUnavailableError,
    OutcomeConflictError,
    public_error,
)
from serving.logbook.store import CHECKPOINT_EVERY_S
from training.pilot.outcomes_import import import_outcomes

FAULTS = ("disk I/O error", "database or disk is full", "attempt to write a readonly database")


def _settings(tmp_path: Path, **extra: Any) -> LogbookSettings:
    return LogbookSettings(url=f"sqlite:///{tmp_path / 'db' / 'log.db'}", **extra)


@pytest.fixture
def logbook(tmp_path: Path) -> Iterator[Logbook]:
    book = Logbook.open(_settings(tmp_path))
    yield book
    book.close()


def _application(i: int = 0) -> Application:
    return Application.model_validate(
        {
            "industry": "machinery",
            "floor_area_m2": 2400 + i,
            "equipment": [{"category": "machine_tool", "rated_kw": 7.5, "quantity": 12}],
        }
    )


def _issue(book: Logbook, n: int, batch: int = 0) -> list[str]:
    """``n`` single deferred records, plus a deferred batch of ``batch`` rows: their ids."""
    ids = [
        book.record(
            _application(i),
            {"recommended_kva": 400, "i": i},
            source="api",
            model_version="v1",
            recommended_kva=400.0,
            predicted_peak_kw=250.0,
            defer=True,
        )
        for i in range(n)
    ]
    if batch:
        ids += book.record_many(
            [
                {
                    "application": _application(i),
                    "response": {"k": i},
                    "source": "batch",
                    "model_version": "v1",
                    "recommended_kva": 630.0,
                    "predicted_peak_kw": 300.0,
                    "batch_id": "b-fault",
                }
                for i in range(batch)
            ],
            defer=True,
        )
    return ids


def _db_ids(book: Logbook) -> set[str]:
    with book.engine.connect() as conn:
        return set(conn.exec_driver_sql("SELECT id FROM recommendations").scalars())


def _spooled_metric() -> float:
    return REGISTRY.get_sample_value("capacity_log_spooled_rows_total") or 0.0


@contextlib.contextmanager
def _refusing(book: Logbook, message: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every write transaction of ``book`` fails as SQLite fails with ``message``."""

    @contextlib.contextmanager
    def refuse() -> Iterator[Any]:
        raise OperationalError("INSERT INTO recommendations", {}, sqlite3.OperationalError(message))
        yield  # pragma: no cover

    with monkeypatch.context() as patch:
        patch.setattr(book, "_write", refuse)
        yield


def _assert_every_id_takes_an_outcome(book: Logbook, ids: list[str]) -> None:
    for rid in ids:
        assert isinstance(book.record_outcome(rid, 400, 200, "api"), int)


# -- a database that refuses writes -------------------------------------------------------


@pytest.mark.parametrize("message", FAULTS)
def test_refused_writes_are_spooled_and_replayed_with_zero_rows_lost(
    logbook: Logbook, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before_metric = _spooled_metric()
    with _refusing(logbook, message, monkeypatch):
        ids = _issue(logbook, 120, batch=80)
        logbook.flush()  # the writer fails: rows go to the spool, nothing raises
        health = logbook.health()
        assert health["state"] == "degraded"
        assert health["spooled_rows"] == 200
        assert message in str(health["last_error"])
        assert str(tmp_path) not in str(health["last_error"])
        spooled = [json.loads(line) for line in logbook.spool_path.read_text("utf-8").splitlines()]
        assert {r["id"] for r in spooled} == set(ids)
        # An issued id is never "unknown" while the log is degraded: retry, not 404.
        with pytest.raises(LogUnavailableError):
            logbook.record_outcome(ids[0], 400, 200, "api")
        with pytest.raises(LogUnavailableError):
            logbook.get(ids[-1])
    assert _spooled_metric() - before_metric == 200
    # The database is back: the next read replays the spool (same ids), nothing is lost.
    assert logbook.count() == 200
    assert _db_ids(logbook) == set(ids)
    assert not logbook.spool_path.exists()
    health = logbook.health()
    assert health["state"] == "ok" and health["spooled_rows"] == 0
    assert health["replayed_rows_total"] == 200
    _assert_every_id_takes_an_outcome(logbook, ids)


def test_the_writer_thread_replays_without_any_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = Logbook.open(_settings(tmp_path, retry_seconds=0.1))
    try:
        with _refusing(book, FAULTS[0], monkeypatch):
            ids = _issue(book, 30)
            book._queue.flush()
            assert book.health()["spooled_rows"] == 30
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while book.health()["spooled_rows"] and datetime.now(UTC) < deadline:
            book._queue._wake.acquire()
            book._queue._wake.notify()
            book._queue._wake.release()
            import time

            time.sleep(0.05)
        assert book.health()["state"] == "ok"
        assert _db_ids(book) == set(ids)
    finally:
        book.close()


def test_a_spool_left_by_an_earlier_run_is_replayed_at_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Logbook.open(_settings(tmp_path))
    with _refusing(first, FAULTS[1], monkeypatch):
        ids = _issue(first, 40, batch=10)
        first.close()  # cannot write: everything is spooled, nothing raises
    assert first.spool_path.exists()
    with Logbook.open(_settings(tmp_path)) as second:
        assert second.count() == 50
        assert _db_ids(second) == set(ids)
        assert not second.spool_path.exists()


def test_replay_is_idempotent_when_rows_are_already_there(logbook: Logbook) -> None:
    ids = _issue(logbook, 10)
    logbook.flush()
    rows = [logbook.get(r) for r in ids]
    # A crash after the commit and before the spool was removed: the same rows spooled.
    logbook._spool.append(
        [
            (
                [
                    {
                        k: getattr(r, k)
                        for k in (
                            "id created_at source model_version industry request_json "
                            "response_json recommended_kva predicted_peak_kw engineering_kva "
                            "status_quo_kva batch_id"
                        ).split()
                    }
                    for r in rows
                    if r is not None
                ],
                None,
            )
        ]
    )
    logbook.flush()
    assert logbook.count() == 10
    assert not logbook.spool_path.exists()


def test_a_torn_spool_line_is_kept_aside_not_dropped(logbook: Logbook) -> None:
    logbook.spool_path.parent.mkdir(parents=True, exist_ok=True)
    logbook.spool_path.write_text('{"id": "abc", "created_at": "2025-', encoding="utf-8")
    logbook._spool.backlog = 1
    logbook.flush()
    corrupt = logbook.spool_path.with_name(SPOOL_FILE + ".corrupt")
    assert corrupt.read_text("utf-8").startswith('{"id": "abc"')


# -- the SQLite file or its directory deleted while open --------------------------------------


def _delete_files(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db}{suffix}").unlink()


def test_deleted_database_file_is_rescued_and_no_id_is_lost(
    logbook: Logbook, tmp_path: Path
) -> None:
    db = tmp_path / "db" / "log.db"
    before = _issue(logbook, 50, batch=50)
    logbook.flush()
    _delete_files(db)
    assert logbook.health()["state"] == "degraded"  # noticed before any write
    after = _issue(logbook, 50)
    logbook.flush()
    assert db.exists()
    assert logbook.health()["database_recreated"] == 1
    assert _db_ids(logbook) == set(before + after)
    _assert_every_id_takes_an_outcome(logbook, before + after)
    assert logbook.health()["state"] == "ok"
    # A new connection (another process) sees it all too.
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM recommendations").fetchone()[0] == 150


def test_deleted_database_directory_is_recreated_and_no_id_is_lost(
    logbook: Logbook, tmp_path: Path
) -> None:
    before = _issue(logbook, 30)
    logbook.flush()
    shutil.rmtree(tmp_path / "db")
    after = _issue(logbook, 30, batch=20)
    logbook.flush()
    assert _db_ids(logbook) == set(before + after)
    _assert_every_id_takes_an_outcome(logbook, before + after)


def test_database_path_replaced_by_a_directory_spools_until_it_is_back(
    logbook: Logbook, tmp_path: Path
) -> None:
    db = tmp_path / "db" / "log.db"
    before = _issue(logbook, 20)
    logbook.flush()
    _delete_files(db)
    db.mkdir()  # the path cannot be opened as a database at all
    during = _issue(logbook, 20)
    logbook.flush()
    health = logbook.health()
    assert health["state"] == "degraded" and health["spooled_rows"] == 20
    with pytest.raises(LogUnavailableError):
        logbook.record_outcome(during[0], 400, 200, "api")
    db.rmdir()
    logbook.flush()
    assert logbook.health()["state"] == "ok"
    assert _db_ids(logbook) == set(before + during)
    _assert_every_id_takes_an_outcome(logbook, before + during)


def test_open_with_an_unusable_path_is_degraded_not_fatal(tmp_path: Path) -> None:
    db = tmp_path / "db" / "log.db"
    db.mkdir(parents=True)
    book = Logbook.open(_settings(tmp_path), tolerate_unavailable=True)
    try:
        assert book.health()["state"] == "degraded"
        ids = _issue(book, 10)
        book.flush()
        assert book.health()["spooled_rows"] == 10
        db.rmdir()
        book.flush()
        assert book.health()["state"] == "ok"
        assert _db_ids(book) == set(ids)
    finally:
        book.close()
    with pytest.raises(Exception):  # noqa: B017 - without the flag it raises as before
        db.mkdir()
        Logbook.open(_settings(tmp_path))


# -- keyed batches ------------------------------------------------------------------------


def _keyed(book: Logbook, key: str, n: int, batch_id: str) -> list[str]:
    return book.record_many(
        [
            {
                "application": _application(i),
                "response": {"k": i},
                "source": "batch",
                "model_version": "v1",
                "recommended_kva": 630.0,
                "predicted_peak_kw": 300.0,
                "batch_id": batch_id,
            }
            for i in range(n)
        ],
        defer=True,
        idempotency_key=key,
        body_sha256="a" * 64,
    )


def test_a_keyed_batch_is_found_by_key_in_order(logbook: Logbook) -> None:
    ids = _keyed(logbook, "key-1", 2_500, "batch-1")
    stored = logbook.find_batch("key-1")
    assert stored is not None and list(stored.ids) == ids
    assert stored.body_sha256 == "a" * 64 and stored.batch_id == "batch-1"
    assert logbook.find_batch("other") is None
    responses = logbook.batch_responses(ids[:3])
    assert [r["k"] for r in responses if r is not None] == [0, 1, 2]


def test_a_keyed_batch_is_one_transaction_and_spooled_whole(
    logbook: Logbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _refusing(logbook, FAULTS[0], monkeypatch):
        ids = _keyed(logbook, "key-2", 2_000, "batch-2")
        logbook.flush()
        stored = logbook.find_batch("key-2")  # read from the spool
        assert stored is not None and list(stored.ids) == ids
        lines = logbook.spool_path.read_text("utf-8").splitlines()
        assert len(lines) == 1  # the whole batch in one line: replayed all or none
    logbook.flush()
    with logbook.engine.connect() as conn:
        n = conn.exec_driver_sql(
            "SELECT count(*) FROM recommendations WHERE batch_id = 'batch-2'"
        ).scalar_one()
    assert n == 2_000
    stored = logbook.find_batch("key-2")
    assert stored is not None and list(stored.ids) == ids


# -- outcomes are idempotent per recommendation --------------------------------------------


def test_the_same_outcome_twice_is_one_outcome(logbook: Logbook) -> None:
    (rid,) = _issue(logbook, 1)
    first = logbook.record_outcome(rid, 400, 312.5, "api", note="n")
    assert logbook.record_outcome(rid, 400, 312.5, "api", note="n") == first
    with pytest.raises(OutcomeConflictError, match=f"outcome {first}"):
        logbook.record_outcome(rid, 500, 312.5, "api", note="n")
    got = logbook.get(rid)
    assert got is not None and len(got.outcomes) == 1
    replaced = logbook.record_outcome(rid, 500, 312.5, "api", replace=True)
    assert replaced != first


def test_import_repeats_are_the_existing_outcome_and_conflicts_are_errors(
    logbook: Logbook, tmp_path: Path
) -> None:
    a, b = _issue(logbook, 2)
    existing = logbook.record_outcome(a, 400, 300, "api")
    path = tmp_path / "outcomes.csv"
    path.write_text(
        f"recommendation_id,granted_kva,metered_peak_kw\n{a},400,300\n{b},500,350\n{b},630,350\n",
        encoding="utf-8",
    )
    result = import_outcomes(logbook, path)
    assert result.outcome_ids[0] == existing
    assert result.recorded == 2 and result.rejected_rows == [4]
    assert "already has outcome" in result.errors[0].reason
    got = logbook.get(b)
    assert got is not None and [o.granted_kva for o in got.outcomes] == [500.0]


# -- retention, WAL, close ------------------------------------------------------------------


def test_retention_prunes_old_rows_without_outcomes_only(tmp_path: Path) -> None:
    book = Logbook.open(_settings(tmp_path))  # no periodic prune: called by hand below
    try:
        old = datetime.now(UTC) - timedelta(days=40)
        kwargs: dict[str, Any] = {
            "source": "api",
            "model_version": "v1",
            "recommended_kva": 400.0,
            "predicted_peak_kw": 250.0,
        }
        old_plain = book.record(_application(), {"a": 1}, created_at=old, **kwargs)
        old_with_outcome = book.record(_application(), {"a": 2}, created_at=old, **kwargs)
        recent = book.record(_application(), {"a": 3}, **kwargs)
        book.record_outcome(old_with_outcome, 400, 300, "api")
        assert book.prune() == 0  # retention not set: keep everything
        assert book.prune(older_than_days=30) == 1
        assert book.get(old_plain) is None
        assert book.get(old_with_outcome) is not None and book.get(recent) is not None
    finally:
        book.close()


def test_the_writer_prunes_periodically_when_retention_is_set(tmp_path: Path) -> None:
    import time

    settings = _settings(tmp_path, retention_days=30, prune_seconds=0.1, retry_seconds=0.1)
    book = Logbook.open(settings)
    try:
        old = datetime.now(UTC) - timedelta(days=40)
        kwargs: dict[str, Any] = {
            "source": "api",
            "model_version": "v1",
            "recommended_kva": 400.0,
            "predicted_peak_kw": 250.0,
        }
        with book._queue.drain_lock:  # hold the writer off until the outcome is recorded
            kept = book.record(_application(), {"a": 2}, created_at=old, **kwargs)
            book.record_outcome(kept, 400, 300, "api")
        gone = book.record(_application(), {"a": 1}, created_at=old, **kwargs)
        deadline = time.monotonic() + 10
        while book.get(gone) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert book.get(gone) is None
        assert book.get(kept) is not None
    finally:
        book.close()


def test_retention_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPACITY_LOG_RETENTION_DAYS", "90")
    monkeypatch.setenv("CAPACITY_LOG_WAL_AUTOCHECKPOINT", "200")
    settings = LogbookSettings()
    assert settings.retention_days == 90 and settings.wal_autocheckpoint == 200
    monkeypatch.setenv("CAPACITY_LOG_RETENTION_DAYS", "")
    assert LogbookSettings().retention_days is None


def test_close_truncates_the_wal(tmp_path: Path) -> None:
    book = Logbook.open(_settings(tmp_path, wal_autocheckpoint=0))
    _issue(book, 300)
    book.flush()
    wal = tmp_path / "db" / "log.db-wal"
    assert wal.exists() and wal.stat().st_size > 0
    book.close()
    book.close()  # idempotent
    assert not wal.exists() or wal.stat().st_size == 0


def test_public_error_has_no_absolute_paths(tmp_path: Path) -> None:
    text = public_error(OSError(f"[Errno 30] Read-only file system: '{tmp_path}/db/log.db'"))
    assert str(tmp_path) not in text and "log.db" in text


def _wal_frames(tmp_path: Path) -> int:
    """Frames in the WAL now (what a PASSIVE checkpoint reports as the log's size)."""
    with contextlib.closing(sqlite3.connect(tmp_path / "db" / "log.db")) as conn:
        for _ in range(100):  # -1: the writer thread is checkpointing right now
            _busy, frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames >= 0:
                return int(frames)
            time.sleep(0.01)
    raise AssertionError("the WAL stayed busy")


def test_the_writer_thread_checkpoints_what_answers_settled(tmp_path: Path) -> None:
    """Rows settled by the callers are checkpointed by the writer thread, not by them."""
    book = Logbook.open(_settings(tmp_path, wal_autocheckpoint=1_000_000))
    try:
        before = book._last_checkpoint
        # Far below SQLite's own auto-checkpoint (10⁶ pages): only the writer copies them,
        # once a write comes CHECKPOINT_EVERY_S after the last checkpoint.
        book.settle(_issue(book, 300))
        time.sleep(CHECKPOINT_EVERY_S * 1.5)
        book.settle(_issue(book, 1))
        deadline = time.monotonic() + 10.0
        while book._last_checkpoint == before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert book._last_checkpoint > before
        book.settle(_issue(book, 1))
        assert _wal_frames(tmp_path) < 50  # the WAL started over after the writer's copy
    finally:
        book.close()
