"""Real-server fixtures: ``bentoml serve`` in a subprocess, reached over loopback HTTP.

Two servers are started once per session, each in its own temporary folder:

* ``live_server``: serves the session's small model bundle (``bundle_dir`` from
  ``tests/conftest.py``), with a private log database, a feedback API key and a small body
  limit (:data:`MAX_BODY_BYTES`) so that the 413 path is cheap to reach;
* ``not_ready_server``: ``CAPACITY_MODEL_DIR`` points at a folder that does not exist, so
  the model cannot load and the service must stay up and say why (503).

Every response the tests receive through :func:`make_client` is kept in a
:class:`ResponseLog`, so a test (and the session) can check that nothing answered 500.
Servers are always stopped: SIGTERM to the process group, then SIGKILL to whatever of the
process tree is still alive (BentoML's worker runs in a process group of its own).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BENTOML = REPO_ROOT / ".venv" / "bin" / "bentoml"
SERVICE = "serving.service:CapacityService"
FEEDBACK_KEY = "test-key"
MAX_BODY_BYTES = 250_000
"""Body limit of the test server. Small, so a 300 kB body is rejected with 413, yet large
enough for a compact JSON batch of 10,001 one-field applications (about 210 kB), whose
answer must be the batch-size 400 and not the body-size 413."""
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0

# Inherited variables that would point the server at another model, registry or database.
_SCRUBBED_PREFIXES = ("CAPACITY_", "MLFLOW_", "BENTOML_")


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``bentoml serve`` process and where it listens."""

    name: str
    proc: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    home: Path

    def log_tail(self, lines: int = 80) -> str:
        """The last lines of the server's combined stdout/stderr."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:  # pragma: no cover - the file is created before the start
            return f"<no server log: {exc}>"
        return "\n".join(text.splitlines()[-lines:])


def server_env(home: Path, model_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a test server: this one, scrubbed, plus the server's own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    env.update(
        {
            "CAPACITY_MODEL_DIR": str(model_dir),
            "CAPACITY_HOME": str(home),
            "CAPACITY_LOG_DB_URL": f"sqlite:///{home / 'log.db'}",
            "CAPACITY_FEEDBACK_API_KEY": FEEDBACK_KEY,
            "BENTOML_HOME": str(home / "bentoml"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def start_server(name: str, home: Path, env: dict[str, str], port: int | None = None) -> Server:
    """Start ``bentoml serve`` for the service in its own session; return at once."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = home / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BENTOML), "serve", SERVICE, "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Server(name, proc, f"http://127.0.0.1:{port}", log_path, home)


def wait_until(server: Server, statuses: tuple[int, ...], timeout: float = READY_TIMEOUT_S) -> int:
    """Poll ``/readyz`` until it answers one of ``statuses``; fail with the server log if not."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                pytest.fail(
                    f"{server.name}: bentoml serve exited with code {server.proc.returncode} "
                    f"before /readyz answered {statuses}.\n--- server log ---\n{server.log_tail()}",
                    pytrace=False,
                )
            try:
                status = client.get("/readyz").status_code
                last = f"HTTP {status}"
                if status in statuses:
                    return status
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
    pytest.fail(
        f"{server.name}: /readyz did not answer {statuses} within {timeout:.0f} s "
        f"(last: {last}).\n--- server log ---\n{server.log_tail()}",
        pytrace=False,
    )


def stop_server(server: Server) -> None:
    """SIGTERM the server's process group; SIGKILL what is left of its tree after a while."""
    proc = server.proc
    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    # The worker runs in a process group of its own: make sure no process of the tree that
    # this fixture started outlives the session.
    _, alive = psutil.wait_procs([p for p in tree if p.pid != proc.pid], timeout=5)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


@contextlib.contextmanager
def running_server(
    name: str, home: Path, env: dict[str, str], ready: tuple[int, ...]
) -> Iterator[Server]:
    """Start a server, wait for ``/readyz`` to answer ``ready``, always stop it afterwards."""
    server = start_server(name, home, env)
    try:
        wait_until(server, ready)
        yield server
    finally:
        stop_server(server)


# --------------------------------------------------------------------------------------
# response log: every response of the run, so that "no 500" can be asserted
# --------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One received response."""

    server: str
    method: str
    path: str
    status: int
    test: str
    known_bug: str | None


@dataclass
class ResponseLog:
    """All responses received through :func:`make_client` during the session."""

    entries: list[Entry] = field(default_factory=list)
    current_test: str = ""
    _known_bug: str | None = None

    @contextlib.contextmanager
    def known_bug(self, description: str) -> Iterator[None]:
        """Responses received inside are marked as the effect of a documented bug."""
        self._known_bug = description
        try:
            yield
        finally:
            self._known_bug = None

    def hook(self, server: str) -> Callable[[httpx.Response], None]:
        def record(response: httpx.Response) -> None:
            self.entries.append(
                Entry(
                    server,
                    response.request.method,
                    response.request.url.raw_path.decode("ascii", "replace"),
                    response.status_code,
                    self.current_test,
                    self._known_bug,
                )
            )

        return record

    def unexpected_500s(self, since: int = 0) -> list[Entry]:
        """Responses with status >= 500 other than 503 that no known bug accounts for."""
        return [
            e
            for e in self.entries[since:]
            if e.status >= 500 and e.status != 503 and not e.known_bug
        ]


@pytest.fixture(scope="session")
def response_log() -> ResponseLog:
    return ResponseLog()


@pytest.fixture(scope="session")
def feedback_key() -> str:
    """The live server's feedback API key."""
    return FEEDBACK_KEY


@pytest.fixture(scope="session")
def max_body_bytes() -> int:
    """The live server's body limit."""
    return MAX_BODY_BYTES


def make_client(server: Server, log: ResponseLog, timeout: float = 120.0) -> httpx.Client:
    """An httpx client for ``server`` whose every response is kept in ``log``."""
    return httpx.Client(
        base_url=server.base_url,
        timeout=timeout,
        event_hooks={"response": [log.hook(server.name)]},
    )


# --------------------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real service with the session's model bundle (ready: /readyz 200)."""
    home = tmp_path_factory.mktemp("live-server")
    env = server_env(home, bundle_dir, {"CAPACITY_MAX_BODY_BYTES": str(MAX_BODY_BYTES)})
    with running_server("live", home, env, ready=(200,)) as server:
        yield server


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
