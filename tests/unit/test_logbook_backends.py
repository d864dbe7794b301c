"""The recommendation log on both of its backends: SQLite and a real PostgreSQL server.

``log_db_url`` (tests/conftest.py) gives each test a fresh database on each backend; the
PostgreSQL one lives in a throwaway cluster started for the session (tests/pg_cluster.py).
Protected: the Alembic migrations (up, down, up again), the round trip of a logged answer,
bulk and all-or-nothing writes, keyed batches, outcomes and their CSV import (every row
recorded or reported), and concurrent writers from threads and from processes without a
lost or duplicated row.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from features.schemas import Application
from serving.logbook import Logbook, LogbookSettings
from training.pilot.log_frame import joined_frame
from training.pilot.outcomes_import import import_outcomes

HEAD = "0003"


def _application(i: int = 0) -> Application:
    return Application.model_validate(
        {
            "industry": "machinery",
            "floor_area_m2": 2400 + i,
            "employees": 60,
            "shifts": 2,
            "equipment": [{"category": "machine_tool", "rated_kw": 7.5, "quantity": 12}],
        }
    )


def _record(book: Logbook, i: int = 0) -> str:
    return book.record(
        _application(i),
        {"recommended_kva": 400, "i": i},
        source="api",
        model_version="v1",
        recommended_kva=400.0,
        predicted_peak_kw=250.0,
        engineering_kva=500.0,
        status_quo_kva=630.0,
    )


@pytest.fixture
def logbook(log_db_url: str) -> Iterator[Logbook]:
    book = Logbook.open(LogbookSettings(url=log_db_url))
    yield book
    book.close()


def test_migrations_create_the_schema_and_go_down_and_up_again(log_db_url: str) -> None:
    from alembic import command

    from serving.logbook.engine import _alembic_config

    book = Logbook.open(LogbookSettings(url=log_db_url))
    try:
        assert book.revision() == HEAD
        tables = set(inspect(book.engine).get_table_names())
        assert {"recommendations", "outcomes", "batch_requests", "alembic_version"} <= tables
        config = _alembic_config(log_db_url)
        with book.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert book.revision() is None
        assert "recommendations" not in set(inspect(book.engine).get_table_names())
        book.upgrade()
        assert book.revision() == HEAD
        book.upgrade()  # idempotent
        rec_id = _record(book)
        assert book.get(rec_id) is not None
    finally:
        book.close()
    again = Logbook.open(LogbookSettings(url=log_db_url))  # reopen: no second migration
    try:
        assert again.revision() == HEAD and again.count() == 1
    finally:
        again.close()


def test_round_trip_bulk_order_and_all_or_nothing(logbook: Logbook) -> None:
    rec_id = _record(logbook, 7)
    got = logbook.get(rec_id)
    assert got is not None
    assert got.response == {"recommended_kva": 400, "i": 7}
    assert got.request["floor_area_m2"] == 2407
    assert got.created_at.tzinfo is not None
    rows = [
        {
            "application": _application(i),
            "response": {"i": i},
            "source": "batch",
            "model_version": "v1",
            "recommended_kva": 630.0,
            "predicted_peak_kw": 300.0,
        }
        for i in range(500)
    ]
    ids = logbook.record_many(rows)
    assert len(set(ids)) == 500 and logbook.count() == 501
    assert [logbook.get(ids[k]).response["i"] for k in (0, 250, 499)] == [0, 250, 499]  # type: ignore[union-attr]
    bad = [*rows[:3], {**rows[3], "recommended_kva": -1.0}]
    with pytest.raises(ValueError, match="recommended_kva"):
        logbook.record_many(bad)
    assert logbook.count() == 501


def test_a_keyed_batch_is_stored_once_and_found_by_key(logbook: Logbook) -> None:
    rows = [
        {
            "application": _application(i),
            "response": {"k": i},
            "source": "batch",
            "model_version": "v1",
            "recommended_kva": 630.0,
            "predicted_peak_kw": 300.0,
            "batch_id": "batch-1",
        }
        for i in range(1200)
    ]
    ids = logbook.record_many(rows, defer=True, idempotency_key="key-1", body_sha256="a" * 64)
    logbook.flush()
    stored = logbook.find_batch("key-1")
    assert stored is not None and list(stored.ids) == ids and stored.batch_id == "batch-1"
    assert logbook.count() == 1200
    assert [r["k"] for r in logbook.batch_responses(ids[:3]) if r is not None] == [0, 1, 2]


def test_outcomes_and_their_import_every_row_recorded_or_reported(
    logbook: Logbook, tmp_path: Path
) -> None:
    a, b, c = (_record(logbook, i) for i in range(3))
    logbook.record_outcome(a, 400, 300, "api")
    logbook.record_outcome(a, 400, 300, "api")  # the same outcome twice is one outcome
    csv_path = tmp_path / "outcomes.csv"
    csv_path.write_text(
        "\ufeffrecommendation_id,granted_kva,metered_peak_kw,note\n"
        f"{b},500,350.5,ok\n"  # row 2
        f"{c},abc,300,\n"  # row 3: not a number
        f"{'e' * 32},400,300,\n"  # row 4: unknown id
        f"{c},400,-5,\n",  # row 5: negative
        encoding="utf-8",
    )
    result = import_outcomes(logbook, csv_path)
    assert result.rows_read == 4 and result.recorded == 1
    assert result.rejected_rows == [3, 4, 5]
    got_a, got_b, got_c = (logbook.get(x) for x in (a, b, c))
    assert got_a is not None and len(got_a.outcomes) == 1
    assert got_b is not None and [o.metered_peak_kw for o in got_b.outcomes] == [350.5]
    assert got_c is not None and got_c.outcomes == ()
    joined = joined_frame(logbook)
    assert len(joined) == 2 and set(joined["id"]) == {a, b}


def test_concurrent_writers_from_threads(log_db_url: str) -> None:
    import threading

    books = [Logbook.open(LogbookSettings(url=log_db_url)) for _ in range(2)]
    ids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(book: Logbook) -> None:
        try:
            for i in range(25):
                rec_id = _record(book, i)
                book.record_outcome(rec_id, 400, 300, "api")
                with lock:
                    ids.append(rec_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(books[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert len(set(ids)) == 150 and books[0].count() == 150
        assert len(joined_frame(books[1])) == 150
    finally:
        for book in books:
            book.close()


def _process_writer(url: str, n: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    book = Logbook.open(LogbookSettings(url=url))
    try:
        queue.put([_record(book, i) for i in range(n)])
    finally:
        book.close()


def test_concurrent_writers_from_processes_open_and_migrate_together(log_db_url: str) -> None:
    # Each process opens the empty database itself: the migration runs once, under a lock.
    # Forked (the test process holds no engine of this database), so no re-import.
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process_writer, args=(log_db_url, 40, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    got = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    ids = [i for chunk in got for i in chunk]
    assert len(ids) == len(set(ids)) == 120
    book = Logbook.open(LogbookSettings(url=log_db_url))
    try:
        assert book.count() == 120 and book.revision() == HEAD
        with book.engine.connect() as conn:
            stored = {r[0] for r in conn.exec_driver_sql("SELECT id FROM recommendations")}
        assert stored == set(ids)
    finally:
        book.close()
