from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect

from features.schemas import Application
from serving.logbook import (
    Logbook,
    LogbookSettings,
    RecommendationEntry,
    UnknownRecommendationError,
    default_database_url,
    project_root,
)
from training.pilot.log_frame import JOINED_COLUMNS, joined_frame
from training.pilot.outcomes_import import import_outcomes


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "log.db"


@pytest.fixture
def settings(db_path: Path) -> LogbookSettings:
    return LogbookSettings(url=f"sqlite:///{db_path}")


@pytest.fixture
def logbook(settings: LogbookSettings) -> Iterator[Logbook]:
    book = Logbook.open(settings)
    yield book
    book.close()


def _application() -> Application:
    return Application.model_validate(
        {
            "industry": "machinery",
            "floor_area_m2": 2400,
            "employees": 60,
            "shifts": 2,
            "equipment": [{"category": "machine_tool", "rated_kw": 7.5, "quantity": 12}],
        }
    )


def _record(book: Logbook, **overrides: object) -> str:
    kwargs: dict[str, object] = {
        "source": "api",
        "model_version": "v1",
        "recommended_kva": 400.0,
        "predicted_peak_kw": 250.0,
        "engineering_kva": 500.0,
        "status_quo_kva": 630.0,
    }
    kwargs.update(overrides)
    application = kwargs.pop("application", _application())
    response = kwargs.pop("response", {"recommended_kva": 400, "drivers": []})
    return book.record(application, response, **kwargs)  # type: ignore[arg-type]


# -- settings -----------------------------------------------------------------------------


def test_default_url_is_absolute_sqlite_under_project_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAPACITY_LOG_DB_URL", raising=False)
    monkeypatch.delenv("CAPACITY_HOME", raising=False)  # the default home is <project>/var
    expected = project_root() / "var" / "recommendations.db"
    assert LogbookSettings().url == default_database_url() == f"sqlite:///{expected}"
    assert expected.is_absolute()
    assert project_root() == Path(__file__).resolve().parents[2]


def test_default_url_and_spool_follow_capacity_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # One state root: a service started with another CAPACITY_HOME keeps another log.
    monkeypatch.delenv("CAPACITY_LOG_DB_URL", raising=False)
    monkeypatch.delenv("CAPACITY_LOG_SPOOL_DIR", raising=False)
    monkeypatch.setenv("CAPACITY_HOME", str(tmp_path / "home-a"))
    expected = (tmp_path / "home-a" / "recommendations.db").resolve()
    assert LogbookSettings().url == default_database_url() == f"sqlite:///{expected}"
    with Logbook.open() as book:
        _record(book)
        assert book.spool_path.parent == expected.parent
    assert expected.is_file()
    monkeypatch.setenv("CAPACITY_HOME", str(tmp_path / "home-b"))
    assert (
        LogbookSettings().url
        == f"sqlite:///{(tmp_path / 'home-b' / 'recommendations.db').resolve()}"
    )


def test_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("CAPACITY_LOG_DB_URL", url)
    assert LogbookSettings().url == url


def test_invalid_url_is_rejected_with_the_value_masked() -> None:
    with pytest.raises(ValueError, match="CAPACITY_LOG_DB_URL") as info:
        LogbookSettings(url="not a url://user:secret@host")
    assert "secret" not in str(info.value)


# -- schema -------------------------------------------------------------------------------


def test_open_creates_directory_and_schema_on_empty_db(
    settings: LogbookSettings, db_path: Path
) -> None:
    assert not db_path.parent.exists()
    book = Logbook.open(settings)
    try:
        assert db_path.exists()
        tables = set(inspect(book.engine).get_table_names())
        assert {"recommendations", "outcomes", "batch_requests", "alembic_version"} <= tables
        columns = {c["name"] for c in inspect(book.engine).get_columns("recommendations")}
        assert {
            "id",
            "created_at",
            "source",
            "model_version",
            "industry",
            "request_json",
            "response_json",
            "recommended_kva",
            "predicted_peak_kw",
            "engineering_kva",
            "status_quo_kva",
            "batch_id",
        } == columns
        assert book.revision() == "0003"
    finally:
        book.close()
    # WAL is a property of the file: check it with a plain sqlite3 connection.
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopen_is_idempotent_and_keeps_data(settings: LogbookSettings) -> None:
    first = Logbook.open(settings)
    rec_id = _record(first)
    first.close()
    second = Logbook.open(settings)
    try:
        assert second.revision() == "0003"
        assert second.get(rec_id) is not None
        assert second.count() == 1
    finally:
        second.close()
    with sqlite3.connect(settings.url.removeprefix("sqlite:///")) as raw:
        assert raw.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1


# -- recommendations ----------------------------------------------------------------------


def test_record_get_round_trip(logbook: Logbook) -> None:
    application = _application()
    response = {"recommended_kva": 400, "drivers": [{"label": "机床", "kw": 90.0}]}
    created = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    rec_id = logbook.record(
        application,
        response,
        source="web",
        model_version="m-7",
        recommended_kva=400,
        predicted_peak_kw=251.5,
        engineering_kva=None,
        status_quo_kva=630,
        batch_id="b1",
        created_at=created,
    )
    assert len(rec_id) == 32 and int(rec_id, 16) >= 0
    got = logbook.get(rec_id)
    assert got is not None
    assert got.id == rec_id
    assert got.created_at == created and got.created_at.tzinfo is not None
    assert got.source == "web"
    assert got.model_version == "m-7"
    assert got.industry == "machinery"  # taken from the application
    assert Application.model_validate(got.request) == application
    assert got.response == response
    assert got.recommended_kva == 400.0
    assert got.predicted_peak_kw == 251.5
    assert got.engineering_kva is None
    assert got.status_quo_kva == 630.0
    assert got.batch_id == "b1"
    assert got.outcomes == ()


def test_get_unknown_returns_none(logbook: Logbook) -> None:
    assert logbook.get("0" * 32) is None


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"recommended_kva": 0}, "recommended_kva"),
        ({"predicted_peak_kw": -3.0}, "predicted_peak_kw"),
        ({"status_quo_kva": float("nan")}, None),  # NaN means "not given"
        ({"engineering_kva": -1}, "engineering_kva"),
        ({"source": "fax"}, "source"),
        ({"created_at": datetime(2025, 1, 1)}, "created_at"),
    ],
)
def test_record_validates_fields(logbook: Logbook, override: dict, field: str | None) -> None:
    if field is None:
        rec_id = _record(logbook, **override)
        got = logbook.get(rec_id)
        assert got is not None and got.status_quo_kva is None
        return
    with pytest.raises(ValueError, match=field):
        _record(logbook, **override)
    assert logbook.count() == 0


def test_record_many_bulk_is_fast_and_keeps_order(logbook: Logbook) -> None:
    application = _application().model_dump(mode="json")
    rows = [
        RecommendationEntry(
            application=application,
            response={"i": i},
            source="batch",
            model_version="v1",
            recommended_kva=400.0,
            predicted_peak_kw=200.0 + i % 50,
            engineering_kva=500.0,
            batch_id="run-1",
        )
        for i in range(10_000)
    ]
    # How fast: benchmarks/bench_throughput.py (no wall-clock assert in a test).
    ids = logbook.record_many(rows)
    assert len(ids) == len(set(ids)) == 10_000
    assert logbook.count() == 10_000
    got = logbook.get(ids[1234])
    assert got is not None and got.response == {"i": 1234} and got.batch_id == "run-1"


def test_record_many_is_all_or_nothing(logbook: Logbook) -> None:
    good = {
        "application": {"industry": "food"},
        "response": {},
        "source": "batch",
        "model_version": "v1",
        "recommended_kva": 100.0,
        "predicted_peak_kw": 60.0,
    }
    with pytest.raises(ValueError, match=r"row 1: recommended_kva"):
        logbook.record_many([good, {**good, "recommended_kva": -5}])
    assert logbook.count() == 0


def test_concurrent_writers_from_threads(settings: LogbookSettings) -> None:
    books = [Logbook.open(settings) for _ in range(2)]  # two "workers" on one file
    errors: list[BaseException] = []

    def work(book: Logbook) -> None:
        try:
            for _ in range(25):
                rec_id = _record(book)
                book.record_outcome(rec_id, 400, 300, "api")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(books[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert books[0].count() == 150
        assert len(joined_frame(books[1])) == 150
    finally:
        for book in books:
            book.close()


# -- outcomes -----------------------------------------------------------------------------


def test_record_outcome_for_unknown_id_names_the_id(logbook: Logbook) -> None:
    missing = "f" * 32
    with pytest.raises(UnknownRecommendationError, match=missing) as info:
        logbook.record_outcome(missing, 400, 300, "api")
    assert isinstance(info.value, ValueError)
    assert info.value.recommendation_id == missing


@pytest.mark.parametrize(
    ("granted", "peak", "field", "value"),
    [
        (0, 300, "granted_kva", "0"),
        (-400, 300, "granted_kva", "-400"),
        (400, 0.0, "metered_peak_kw", "0.0"),
        (400, -1.5, "metered_peak_kw", "-1.5"),
        (400, float("inf"), "metered_peak_kw", "inf"),
        (True, 300, "granted_kva", "True"),
    ],
)
def test_record_outcome_rejects_non_positive(
    logbook: Logbook, granted: float, peak: float, field: str, value: str
) -> None:
    rec_id = _record(logbook)
    with pytest.raises(ValueError) as info:
        logbook.record_outcome(rec_id, granted, peak, "api")
    message = str(info.value)
    assert field in message and value in message and "> 0" in message
    got = logbook.get(rec_id)
    assert got is not None and got.outcomes == ()


def test_record_outcome_rejects_unknown_source(logbook: Logbook) -> None:
    rec_id = _record(logbook)
    with pytest.raises(ValueError, match="source must be one of api, import; received 'fax'"):
        logbook.record_outcome(rec_id, 400, 300, "fax")  # type: ignore[arg-type]


def test_record_outcome_round_trip(logbook: Logbook) -> None:
    rec_id = _record(logbook)
    outcome_id = logbook.record_outcome(rec_id, 400, 312.5, "api", note="energised")
    got = logbook.get(rec_id)
    assert got is not None and len(got.outcomes) == 1
    outcome = got.outcomes[0]
    assert outcome.id == outcome_id
    assert (outcome.granted_kva, outcome.metered_peak_kw) == (400.0, 312.5)
    assert (outcome.source, outcome.note) == ("api", "energised")


def test_import_outcomes_reports_bad_rows_and_keeps_good(logbook: Logbook, tmp_path: Path) -> None:
    a, b, c = (_record(logbook) for _ in range(3))
    unknown = "e" * 32
    csv_path = tmp_path / "outcomes.csv"
    csv_path.write_text(
        "\ufeffrecommendation_id,granted_kva,metered_peak_kw,note,meter_no\n"  # BOM, extra col
        f"{a},400,300,first,M1\n"  # row 2: ok
        f"{b},abc,300,,M2\n"  # row 3: granted not a number
        f"{unknown},400,300,,M3\n"  # row 4: unknown id
        f"{c},400,-5,,M4\n"  # row 5: negative peak
        "\n"  # blank line: skipped, not a row
        f"{c},0,,,M5\n"  # row 7: two problems
        f"{b},500,350.5,,M6\n"  # row 8: ok
        f"{a},400\n",  # row 9: too few fields
        encoding="utf-8",
    )
    result = import_outcomes(logbook, csv_path)

    assert result.rows_read == 7
    assert result.recorded == 2
    assert result.ignored_columns == ["meter_no"]
    assert result.rejected_rows == [3, 4, 5, 7, 9]
    by_cell = {(e.row, e.column): e for e in result.errors}
    assert set(by_cell) == {
        (3, "granted_kva"),
        (4, "recommendation_id"),
        (5, "metered_peak_kw"),
        (7, "granted_kva"),
        (7, "metered_peak_kw"),
        (9, "(row)"),
    }
    assert by_cell[(3, "granted_kva")].value == "abc"
    assert "not a number" in by_cell[(3, "granted_kva")].reason
    assert by_cell[(4, "recommendation_id")].value == unknown
    assert by_cell[(5, "metered_peak_kw")].value == "-5"
    assert "not positive" in by_cell[(5, "metered_peak_kw")].reason
    assert "empty" in by_cell[(7, "metered_peak_kw")].reason
    # every data row is accounted for: recorded or reported
    assert result.recorded + len(result.rejected_rows) == result.rows_read

    got_a, got_b, got_c = (logbook.get(x) for x in (a, b, c))
    assert got_a is not None and [o.note for o in got_a.outcomes] == ["first"]
    assert got_a.outcomes[0].source == "import"
    assert got_b is not None and [o.metered_peak_kw for o in got_b.outcomes] == [350.5]
    assert got_c is not None and got_c.outcomes == ()


def test_import_outcomes_missing_column_fails_whole_file(logbook: Logbook, tmp_path: Path) -> None:
    rec_id = _record(logbook)
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text(f"recommendation_id,granted_kva\n{rec_id},400\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column.*metered_peak_kw"):
        import_outcomes(logbook, csv_path)
    got = logbook.get(rec_id)
    assert got is not None and got.outcomes == ()


# -- joined frame -------------------------------------------------------------------------


def test_joined_frame_latest_outcome_wins(logbook: Logbook) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    with_outcomes = _record(logbook, created_at=t0, status_quo_kva=None)
    later = _record(logbook, created_at=t0 + timedelta(days=10), recommended_kva=630)
    _record(logbook, created_at=t0 + timedelta(days=20))  # no outcome: not in the frame

    logbook.record_outcome(with_outcomes, 400, 300, "api", recorded_at=t0 + timedelta(days=300))
    # Recorded later but inserted first, to show "latest" means recorded_at, not insert order.
    # A second outcome with other values is a conflict unless replace=True.
    logbook.record_outcome(
        with_outcomes, 500, 410, "import", recorded_at=t0 + timedelta(days=400), replace=True
    )
    logbook.record_outcome(
        with_outcomes, 450, 350, "api", recorded_at=t0 + timedelta(days=350), replace=True
    )
    logbook.record_outcome(later, 630, 420, "api")

    frame = joined_frame(logbook)
    assert list(frame.columns) == list(JOINED_COLUMNS)
    assert list(frame["id"]) == [with_outcomes, later]
    first = frame.iloc[0]
    assert (first["granted_kva"], first["metered_peak_kw"]) == (500.0, 410.0)
    assert pd.isna(first["status_quo_kva"])
    assert first["created_at"] == pd.Timestamp(t0)
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert json.loads(first["response_json"])["recommended_kva"] == 400

    since = joined_frame(logbook, since=t0 + timedelta(days=5))
    assert list(since["id"]) == [later]
    assert since.iloc[0]["recommended_kva"] == 630.0


def test_joined_frame_empty_has_columns(logbook: Logbook) -> None:
    frame = joined_frame(logbook)
    assert frame.empty and list(frame.columns) == list(JOINED_COLUMNS)


def test_joined_frame_rejects_naive_since(logbook: Logbook) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        joined_frame(logbook, since=datetime(2025, 1, 1))


def test_import_row_numbers_follow_the_file_with_multiline_cells(
    logbook: Logbook, tmp_path: Path
) -> None:
    rec_id = _record(logbook)
    csv_path = tmp_path / "multiline.csv"
    csv_path.write_text(
        "recommendation_id,granted_kva,metered_peak_kw,note\n"
        f'{rec_id},400,300,"two\nlines"\n'  # rows 2-3
        f"{rec_id},400,x,\n",  # row 4
        encoding="utf-8",
    )
    result = import_outcomes(logbook, csv_path)
    assert result.recorded == 1 and result.rejected_rows == [4]
    got = logbook.get(rec_id)
    assert got is not None and got.outcomes[0].note == "two\nlines"
