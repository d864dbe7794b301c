"""Real-server fixtures: ``bentoml serve`` in a subprocess, reached over loopback HTTP.

Two servers are started once per session, each in its own temporary folder:

* ``live_server``: serves the session's small model bundle (``bundle_dir`` from
  ``tests/conftest.py``), with a private log database, a feedback API key and a small body
  limit (:data:`MAX_BODY_BYTES`) so that the 413 path is cheap to reach;
* ``not_ready_server``: ``CAPACITY_MODEL_DIR`` points at a folder that does not exist, so
  the model cannot load and the service must stay up and say why (503).

How a server is started, kept alive and stopped is :mod:`tests.server_process` (shared with
the browser tests); its names are re-exported here for the tests that import them. Every
response the tests receive through :func:`make_client` is kept in the session's
:class:`ResponseLog`; the session fails at its end (``tests/conftest.py``) if any was an
unexplained 5xx, whatever order the tests ran in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import (
    BENTOML,
    FEEDBACK_KEY,
    MAX_BODY_BYTES,
    READY_TIMEOUT_S,
    REPO_ROOT,
    RESPONSE_LOG,
    SERVICE,
    STOP_TIMEOUT_S,
    Entry,
    ResponseLog,
    Server,
    free_port,
    make_client,
    running_server,
    served_500s,
    server_env,
    start_server,
    stop_server,
    wait_until,
)

__all__ = [
    "BENTOML",
    "FEEDBACK_KEY",
    "MAX_BODY_BYTES",
    "READY_TIMEOUT_S",
    "REPO_ROOT",
    "SERVICE",
    "STOP_TIMEOUT_S",
    "Entry",
    "ResponseLog",
    "Server",
    "free_port",
    "make_client",
    "running_server",
    "server_env",
    "start_server",
    "stop_server",
    "wait_until",
]


@pytest.fixture(scope="session")
def response_log() -> ResponseLog:
    return RESPONSE_LOG


@pytest.fixture(scope="session")
def feedback_key() -> str:
    """The live server's feedback API key."""
    return FEEDBACK_KEY


@pytest.fixture(scope="session")
def max_body_bytes() -> int:
    """The live server's body limit."""
    return MAX_BODY_BYTES


def _count_served_500s(server: Server, log: ResponseLog) -> None:
    # Read before the server stops: the session's end compares it with what tests received.
    with contextlib.suppress(httpx.HTTPError), httpx.Client(base_url=server.base_url) as c:
        log.served_5xx[server.name] = served_500s(c)


@pytest.fixture(scope="session")
def live_server(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real service with the session's model bundle (ready: /readyz 200)."""
    home = tmp_path_factory.mktemp("live-server")
    env = server_env(home, bundle_dir, {"CAPACITY_MAX_BODY_BYTES": str(MAX_BODY_BYTES)})
    with running_server("live", home, env, ready=(200,)) as server:
        yield server
        _count_served_500s(server, RESPONSE_LOG)


@pytest.fixture(scope="session")
def not_ready_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real service pointed at a model folder that does not exist (/readyz 503)."""
    home = tmp_path_factory.mktemp("not-ready-server")
    env = server_env(home, home / "no-such-bundle")
    with running_server("not-ready", home, env, ready=(503,)) as server:
        yield server


@pytest.fixture(scope="session")
def client(live_server: Server, response_log: ResponseLog) -> Iterator[httpx.Client]:
    with make_client(live_server, response_log) as c:
        yield c


@pytest.fixture(scope="session")
def not_ready_client(not_ready_server: Server, response_log: ResponseLog) -> Iterator[httpx.Client]:
    with make_client(not_ready_server, response_log) as c:
        yield c
