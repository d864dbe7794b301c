"""Real-server helpers shared by every test that starts ``bentoml serve`` (one module).

Used by the service tests (``tests/service/conftest.py``), the browser tests
(``tests/browser/conftest.py``), the session's 5xx check (``tests/conftest.py``) and the
benchmarks that need a real server (``benchmarks/bench_service.py`` and those built on it),
so that every real server of the project is started and stopped the same way. The
server is the running interpreter's BentoML (``sys.executable -m bentoml``), started in a
session of its own on a loopback port with a private home; its stdin is a pipe kept open
for its lifetime (``bentoml serve`` may shut itself down when its stdin is at end of file),
and it is always stopped: SIGTERM to the process group, then SIGKILL to whatever of the
process tree is still alive (BentoML's worker runs in a process group of its own).

Every response a test receives through :func:`make_client` is kept in
:data:`RESPONSE_LOG`, so each test (``tests/service/test_http.py``) and the whole session
(``pytest_sessionfinish`` in ``tests/conftest.py``) can check that nothing answered 5xx,
whatever order the tests ran in.

A test may start a server only if it is marked ``live`` (``pytest.mark.live``, registered in
``pyproject.toml``): :func:`start_server` fails any other test with the reason, so the fast
lane (``make test-fast``, ``-m "not live and not browser and not slow"``) cannot silently
grow a server start. Outside pytest (a benchmark) there is no such check.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
BENTOML = (sys.executable, "-m", "bentoml")
"""The BentoML of the interpreter running the tests (not a path inside a particular venv)."""
SERVICE = "serving.service:CapacityService"
FEEDBACK_KEY = "test-key"
MAX_BODY_BYTES = 250_000
"""Body limit of the test server. Small, so a 300 kB body is rejected with 413, yet large
enough for a compact JSON batch of 10,001 one-field applications (about 210 kB), whose
answer must be the batch-size 400 and not the body-size 413."""
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
LIVE_MARK = "live"
"""The mark every test that starts a server carries (``make test-fast`` deselects it)."""

RUNNING_TEST_MARKS: set[str] | None = None
"""Marks of the test pytest is setting up or running (``tests/conftest.py`` keeps it
current); None outside pytest, where :func:`start_server` checks nothing."""


class ServerNotReady(RuntimeError):
    """The server exited or did not answer as expected in time (outside a test)."""


def _fail(message: str) -> NoReturn:
    """Fail the running test without a traceback, or raise :class:`ServerNotReady`."""
    if os.environ.get("PYTEST_CURRENT_TEST"):
        import pytest

        pytest.fail(message, pytrace=False)
    raise ServerNotReady(message)


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
    stdin: IO[bytes] | None = None
    """The pipe kept open as the server's stdin for its lifetime (closed at stop)."""

    def log_tail(self, lines: int = 80) -> str:
        """The last lines of the server's combined stdout/stderr."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:  # pragma: no cover - the file is created before the start
            return f"<no server log: {exc}>"
        return "\n".join(text.splitlines()[-lines:])


def server_env(
    home: Path,
    model_dir: Path,
    extra: dict[str, str] | None = None,
    *,
    feedback_key: str | None = FEEDBACK_KEY,
) -> dict[str, str]:
    """Environment of a test server: this one, scrubbed, plus the server's own settings.

    ``feedback_key`` None leaves the feedback API disabled (401), as a server without a
    configured key is.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    env.update(
        {
            "CAPACITY_MODEL_DIR": str(model_dir),
            "CAPACITY_HOME": str(home),
            "CAPACITY_LOG_DB_URL": f"sqlite:///{home / 'log.db'}",
            "BENTOML_HOME": str(home / "bentoml"),
            "BENTOML_DO_NOT_TRACK": "True",
            "PYTHONUNBUFFERED": "1",
            # One worker unless a test asks for more (the service's default follows the
            # CPUs): a test's expectations about one process's state stay its own.
            "CAPACITY_WORKERS": "1",
        }
    )
    if feedback_key is not None:
        env["CAPACITY_FEEDBACK_API_KEY"] = feedback_key
    env.update(extra or {})
    return env


def start_server(name: str, home: Path, env: dict[str, str], port: int | None = None) -> Server:
    """Start ``bentoml serve`` for the service in its own session; return at once.

    Inside pytest, only for a test marked ``live`` (see the module's docstring).
    """
    if RUNNING_TEST_MARKS is not None and LIVE_MARK not in RUNNING_TEST_MARKS:
        _fail(
            f"{os.environ.get('PYTEST_CURRENT_TEST', 'this test')} starts a real server "
            f"({name!r}) but is not marked {LIVE_MARK!r}: add `pytestmark = pytest.mark."
            f"{LIVE_MARK}` (or the decorator) so that `make test-fast` leaves it out"
        )
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = home / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*BENTOML, "serve", SERVICE, "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # A pipe kept open for the server's lifetime: `bentoml serve` has been seen to shut
            # itself down about a second after start-up when its stdin is at end of file.
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
    return Server(name, proc, f"http://127.0.0.1:{port}", log_path, home, proc.stdin)


def wait_until(
    server: Server,
    statuses: tuple[int, ...],
    timeout: float = READY_TIMEOUT_S,
    poll_s: float = 0.25,
) -> int:
    """Poll ``/readyz`` until it answers one of ``statuses``; fail with the server log if not.

    ``poll_s`` is the pause between polls (the cold-start benchmark polls more often).
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                _fail(
                    f"{server.name}: bentoml serve exited with code {server.proc.returncode} "
                    f"before /readyz answered {statuses}.\n--- server log ---\n{server.log_tail()}"
                )
            try:
                status = client.get("/readyz").status_code
                last = f"HTTP {status}"
                if status in statuses:
                    return status
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(poll_s)
    _fail(
        f"{server.name}: /readyz did not answer {statuses} within {timeout:.0f} s "
        f"(last: {last}).\n--- server log ---\n{server.log_tail()}"
    )


def stop_server(server: Server) -> None:
    """SIGTERM the server's process group; SIGKILL what is left of its tree after a while."""
    proc = server.proc
    if server.stdin is not None:
        with contextlib.suppress(OSError):
            server.stdin.close()
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

    served_5xx: dict[str, int] = field(default_factory=dict)
    """Per server, the 500s its own /metrics counted, read just before it was stopped."""

    def unexpected_500s(self, since: int = 0) -> list[Entry]:
        """Responses with status >= 500 other than 503 that no known bug accounts for."""
        return [
            e
            for e in self.entries[since:]
            if e.status >= 500 and e.status != 503 and not e.known_bug
        ]


def make_client(server: Server, log: ResponseLog, timeout: float = 120.0) -> httpx.Client:
    """An httpx client for ``server`` whose every response is kept in ``log``."""
    return httpx.Client(
        base_url=server.base_url,
        timeout=timeout,
        event_hooks={"response": [log.hook(server.name)]},
    )


RESPONSE_LOG = ResponseLog()
"""The session's responses (the ``response_log`` fixture; checked at the session's end)."""


def served_500s(client: httpx.Client) -> int:
    """How many 500s the server's own metrics counted (BentoML's request counter)."""
    metrics = client.get("/metrics").text
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("bentoml_service_request_total{")
            and 'http_response_code="500"' in line
        )
    )


def session_problems(log: ResponseLog) -> list[str]:
    """What the session's responses must not show, whatever ran and in whatever order.

    Every 5xx other than 503 must be one a known-bug test provoked, and a server's own
    count of 500s must equal the 500s the tests received from it (none went unseen).
    """
    problems = [
        f"{e.method} {e.path} -> {e.status} ({e.server}, during {e.test or 'a fixture'})"
        for e in log.unexpected_500s()
    ]
    for server, served in sorted(log.served_5xx.items()):
        seen = [e for e in log.entries if e.server == server and e.status == 500]
        if served != len(seen):
            problems.append(
                f"server {server!r} counted {served} responses 500 but the tests received "
                f"{len(seen)}: {[(e.method, e.path) for e in seen]}"
            )
    return problems
