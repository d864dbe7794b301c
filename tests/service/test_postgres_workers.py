"""Several service workers share one PostgreSQL recommendation log under load.

``bentoml serve`` with two worker processes (``BENTOML_CONFIG_OPTIONS``), both logging to
one database of the throwaway PostgreSQL cluster; eight clients send single answers,
small JSON batches and feedback for a few seconds. Protected: every id a client received
is in the log exactly once (rows lost: 0, duplicated: 0), every logged row was answered,
the outcomes given as feedback are there, both workers served, the schema was migrated
once. The figures are printed (requests, rows logged, rows lost).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import create_engine

from tests.server_process import (
    FEEDBACK_KEY,
    Server,
    running_server,
    server_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.live]

WORKERS = 2
CLIENTS = 8
SECONDS = float(os.environ.get("CAPACITY_PG_LOAD_SECONDS", "6"))
"""Load duration; longer runs for the report: CAPACITY_PG_LOAD_SECONDS=30."""


def _application(i: int) -> dict[str, Any]:
    return {
        "industry": ("machinery", "food", "office")[i % 3],
        "floor_area_m2": 1000 + 37 * (i % 200),
        "employees": 20 + i % 50,
        "shifts": 1 + i % 3,
        "equipment": [
            {"category": "machine_tool", "rated_kw": 7.5, "quantity": 1 + i % 9},
            {"category": "air_compressor", "rated_kw": 37, "quantity": 1},
        ],
    }


def _workers_of(server: Server) -> int:
    tree = psutil.Process(server.proc.pid).children(recursive=True)
    return sum(1 for p in tree if any("_bentoml_impl.worker" in part for part in p.cmdline()))


def test_two_workers_log_every_answer_once_in_one_postgresql_database(
    bundle_dir: Path, postgres_cluster: Any, tmp_path: Path
) -> None:
    url = postgres_cluster.create_database("served_log")
    # BentoML's configuration file sets the service's worker count (the decorator says 1).
    config = tmp_path / "bentoml.yaml"
    config.write_text(f"services:\n  capacity-recommender:\n    workers: {WORKERS}\n", "utf-8")
    env = server_env(
        tmp_path / "home",
        bundle_dir,
        {
            "CAPACITY_LOG_DB_URL": url,
            "BENTOML_CONFIG": str(config),
            "CAPACITY_MAX_CONCURRENCY": "0",
        },
    )
    issued: list[str] = []
    feedback: list[str] = []
    counts = {"requests": 0, "ok": 0, "errors": 0}
    lock = threading.Lock()
    with running_server("pg-workers", tmp_path / "home", env, ready=(200,)) as server:
        assert _workers_of(server) == WORKERS
        deadline = time.monotonic() + SECONDS

        def client_loop(c: int) -> None:
            with httpx.Client(base_url=server.base_url, timeout=60.0) as http:
                i = c
                while time.monotonic() < deadline:
                    i += CLIENTS
                    if i % 5 == 0:
                        r = http.post(
                            "/recommend_batch",
                            json={"applications": [_application(i + k) for k in range(5)]},
                        )
                        ids = (
                            [row["recommendation_id"] for row in r.json()["results"]]
                            if r.status_code == 200
                            else []
                        )
                    else:
                        r = http.post("/recommend", json=_application(i))
                        ids = [r.json()["id"]] if r.status_code == 200 else []
                    given = None
                    if ids and i % 7 == 0:
                        f = http.post(
                            "/feedback",
                            headers={"X-API-Key": FEEDBACK_KEY},
                            json={
                                "recommendation_id": ids[0],
                                "granted_kva": 400,
                                "metered_peak_kw": 250,
                            },
                        )
                        given = ids[0] if f.status_code == 200 else None
                    with lock:
                        counts["requests"] += 1 + (given is not None)
                        counts["ok"] += r.status_code == 200
                        counts["errors"] += r.status_code != 200
                        issued.extend(ids)
                        if given:
                            feedback.append(given)

        threads = [threading.Thread(target=client_loop, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # The server has stopped: each worker flushed its write-behind queue on the way out.
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("SELECT id FROM recommendations")]
            outcomes = {
                r[0] for r in conn.exec_driver_sql("SELECT recommendation_id FROM outcomes")
            }
            versions = conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar_one()
    finally:
        engine.dispose()
    lost = set(issued) - set(rows)
    print(
        f"\n{WORKERS} workers, {CLIENTS} clients, {SECONDS:.0f} s: requests {counts['requests']}, "
        f"answered {counts['ok']}, ids issued {len(issued)}, rows logged {len(rows)}, "
        f"rows lost {len(lost)}, duplicated {len(rows) - len(set(rows))}, "
        f"feedback outcomes {len(feedback)} (in the log: {len(outcomes & set(feedback))})"
    )
    assert counts["errors"] == 0
    assert counts["ok"] > 50
    assert len(issued) == len(set(issued))
    assert lost == set()
    assert len(rows) == len(set(rows)) == len(issued)
    assert set(feedback) <= outcomes
    assert versions == 1
