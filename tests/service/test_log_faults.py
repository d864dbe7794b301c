"""Over HTTP: the recommendation log never takes answers down and never loses a row.

* the log file deleted while the server runs, then its path made unusable (a directory):
  answers keep coming (200, with ids), ``/readyz`` stays 200 and says ``degraded``, the
  spooled rows are counted in ``/metrics``; once the path is usable again the rows are
  replayed and every issued id takes feedback (rows lost: 0);
* a 2,000-application batch with an ``Idempotency-Key``, the server SIGKILLed during it,
  restarted, the batch resent with the same key: the log holds 0 or 2,000 rows of every
  batch (never half of one) and the answer's ids are all in it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.service.conftest import (
    FEEDBACK_KEY,
    ResponseLog,
    Server,
    make_client,
    running_server,
    server_env,
    start_server,
    stop_server,
    wait_until,
)
from tests.service.test_feedback_after_recommend import application

pytestmark = [pytest.mark.slow, pytest.mark.live]


def _delete_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db}{suffix}").unlink()


def _recommend(client: httpx.Client, n: int) -> list[str]:
    ids = []
    for i in range(n):
        r = client.post("/recommend", json=application(("printing", "food", "machinery")[i % 3]))
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    assert all(isinstance(x, str) and len(x) == 32 for x in ids)
    return ids


def _log_state(client: httpx.Client) -> dict[str, Any]:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    state: dict[str, Any] = r.json()["log"]
    return state


def _wait_state(client: httpx.Client, wanted: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state = _log_state(client)
    while state["state"] != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        state = _log_state(client)
    assert state["state"] == wanted, state
    return state


def _db_ids(db: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(db)) as raw:
        return {row[0] for row in raw.execute("SELECT id FROM recommendations")}


@pytest.fixture
def fault_server(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("log-fault-server")
    env = server_env(home, bundle_dir, {"CAPACITY_LOG_RETRY_SECONDS": "0.3"})
    with running_server("log-fault", home, env, ready=(200,)) as server:
        yield server


def test_log_file_deleted_and_unusable_while_serving(
    fault_server: Server, response_log: ResponseLog
) -> None:
    db = fault_server.home / "log.db"
    key = {"X-API-Key": FEEDBACK_KEY}
    with make_client(fault_server, response_log) as client:
        before = _recommend(client, 10)
        assert _log_state(client)["state"] == "ok"

        _delete_db(db)  # deleted while open: rescued and recreated, nothing lost
        deleted = _recommend(client, 10)

        _delete_db(db)
        db.mkdir()  # now the path cannot be opened at all: rows are spooled
        during = _recommend(client, 10)
        state = _wait_state(client, "degraded")
        # The state turns degraded at the failed write; the spool append follows it.
        deadline = time.monotonic() + 30.0
        while state["spooled_rows"] < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
            state = _log_state(client)
        assert state["spooled_rows"] >= 1, state
        assert str(fault_server.home) not in str(state["last_error"])
        fb = client.post(
            "/feedback",
            json={"recommendation_id": during[0], "granted_kva": 250, "metered_peak_kw": 120},
            headers=key,
        )
        assert fb.status_code == 503, fb.text  # degraded, retry: never a 404 for an issued id
        metrics = client.get("/metrics").text
        spooled = [
            line
            for line in metrics.splitlines()
            if line.startswith("capacity_log_spooled_rows_total")
        ]
        assert spooled and float(spooled[0].split()[-1]) >= 10, metrics[-2000:]
        assert "capacity_log_spool_backlog_rows" in metrics

        db.rmdir()  # the database is back
        _wait_state(client, "ok")
        issued = before + deleted + during
        assert _db_ids(db) >= set(issued)  # rows lost: 0
        for rid in issued:
            fb = client.post(
                "/feedback",
                json={"recommendation_id": rid, "granted_kva": 250, "metered_peak_kw": 120},
                headers=key,
            )
            assert fb.status_code == 200, fb.text
        # Outcomes are idempotent: the same again is the same outcome, other values 409.
        again = client.post(
            "/feedback",
            json={"recommendation_id": issued[0], "granted_kva": 250, "metered_peak_kw": 120},
            headers=key,
        )
        assert again.status_code == 200
        conflict = client.post(
            "/feedback",
            json={"recommendation_id": issued[0], "granted_kva": 400, "metered_peak_kw": 120},
            headers=key,
        )
        assert conflict.status_code == 409, conflict.text
        assert "already has outcome" in conflict.text
    assert not response_log.unexpected_500s()


def _batch_body(n: int) -> dict[str, Any]:
    apps = [application(("printing", "food", "machinery")[i % 3]) for i in range(n)]
    for i, app in enumerate(apps):
        app["floor_area_m2"] = 1000 + i
    return {"applications": apps}


def _kill_tree(server: Server) -> None:
    try:
        procs = [psutil.Process(server.proc.pid), *psutil.Process(server.proc.pid).children(True)]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(procs, timeout=10)


def _batch_counts(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db)) as raw:
        return dict(
            raw.execute(
                "SELECT batch_id, count(*) FROM recommendations "
                "WHERE batch_id IS NOT NULL GROUP BY batch_id"
            ).fetchall()
        )


def test_kill_mid_batch_then_resend_with_the_same_key(
    bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory, response_log: ResponseLog
) -> None:
    home = tmp_path_factory.mktemp("kill-mid-batch")
    env = server_env(home, bundle_dir)
    db = home / "log.db"
    body = _batch_body(2_000)
    headers = {"Idempotency-Key": "batch-2025-06-kill-test"}

    server = start_server("kill-1", home, env)
    try:
        wait_until(server, (200,))
        outcome: dict[str, Any] = {}

        def send() -> None:
            try:
                with httpx.Client(base_url=server.base_url, timeout=120) as client:
                    outcome["response"] = client.post(
                        "/recommend_batch", json=body, headers=headers
                    )
            except httpx.HTTPError as exc:
                outcome["error"] = exc

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(1.0)  # the batch is being scored or logged
        _kill_tree(server)
        sender.join(timeout=60)
    finally:
        stop_server(server)
    first = outcome.get("response")
    first_ids = (
        [r["recommendation_id"] for r in first.json()["results"]]
        if first is not None and first.status_code == 200
        else None
    )
    if db.exists():
        assert set(_batch_counts(db).values()) <= {2_000}, "a half-written batch"

    with running_server("kill-2", home, env, ready=(200,)) as again:
        with make_client(again, response_log) as client:
            r = client.post("/recommend_batch", json=body, headers=headers)
            assert r.status_code == 200, r.text
            ids = [row["recommendation_id"] for row in r.json()["results"]]
            assert len(ids) == 2_000 and len(set(ids)) == 2_000
            if first_ids is not None and r.json().get("idempotent_replay"):
                assert ids == first_ids
            # A repeat now certainly answers with the logged ids, logging nothing new.
            repeat = client.post("/recommend_batch", json=body, headers=headers)
            assert repeat.status_code == 200 and repeat.json()["idempotent_replay"] is True
            assert [row["recommendation_id"] for row in repeat.json()["results"]] == ids
            other = client.post("/recommend_batch", json=_batch_body(3), headers=headers)
            assert other.status_code == 409, other.text
            bad = client.post(
                "/recommend_batch", json=_batch_body(1), headers={"Idempotency-Key": "x" * 129}
            )
            assert bad.status_code == 400, bad.text
    counts = _batch_counts(db)
    assert set(counts.values()) <= {2_000}, counts  # 0 or 2,000 rows per batch, never half
    assert set(ids) <= _db_ids(db)
    assert not response_log.unexpected_500s()
