"""One state root: two services started with two ``CAPACITY_HOME`` keep two logs.

Before, ``CAPACITY_HOME`` did not move the recommendation log: every service wrote one
``var/recommendations.db`` in the checkout. Here neither server is given a log URL, so the
log's place comes from its home alone.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from serving.logbook import Logbook, LogbookSettings
from tests.service.conftest import server_env, start_server, stop_server, wait_until
from tests.service.test_feedback_after_recommend import application

# Every test here talks to a real `bentoml serve` (tests/server_process.py).
pytestmark = pytest.mark.live


def test_two_services_with_two_homes_write_two_logs(bundle_dir: Path, tmp_path: Path) -> None:
    homes = {"a": tmp_path / "home-a", "b": tmp_path / "home-b"}
    servers = []
    ids: dict[str, str] = {}
    try:
        for name, home in homes.items():
            env = server_env(home, bundle_dir)
            del env["CAPACITY_LOG_DB_URL"]  # the default: under CAPACITY_HOME
            servers.append(start_server(f"home-{name}", home, env))
        for server in servers:  # both start at once; wait for each
            wait_until(server, (200,))
        for name, server in zip(homes, servers, strict=True):
            with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
                r = client.post("/recommend", json=application("printing"))
                assert r.status_code == 200, r.text
                ids[name] = r.json()["id"]
    finally:
        for server in servers:
            stop_server(server)  # SIGTERM: the log writes its queue on shutdown

    for name, home in homes.items():
        db = home / "recommendations.db"
        assert db.is_file(), f"no log under {home}: {sorted(p.name for p in home.iterdir())}"
        with Logbook.open(LogbookSettings(url=f"sqlite:///{db}")) as book:
            assert book.count() == 1
            assert book.get(ids[name]) is not None
            other = ids["b" if name == "a" else "a"]
            assert book.get(other) is None
