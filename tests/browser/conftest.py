"""Fixtures of the browser tests: the real BentoML service and Debian's headless chromium.

The service runs as a subprocess (``bentoml serve``) on a free loopback port with the
session's test bundle (``bundle_dir`` from ``tests/conftest.py``), a private
CAPACITY_HOME and a private SQLite recommendation log; it is always stopped by killing
its process group. Every page fails its test if it requests anything that is not on
127.0.0.1/localhost, logs a JavaScript error or misses a translation.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
READY_TIMEOUT_S = 60.0
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bentoml() -> str:
    for candidate in (REPO / ".venv" / "bin" / "bentoml", Path(sys.executable).parent / "bentoml"):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("bentoml")
    if not found:
        pytest.fail("bentoml executable not found (expected .venv/bin/bentoml): run `make setup`")
    return found


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    )


@pytest.fixture(scope="session")
def live_server(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running ``bentoml serve serving.service:CapacityService``."""
    tmp = tmp_path_factory.mktemp("browser-service")
    home = tmp / "home"
    home.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "CAPACITY_MODEL_DIR": str(bundle_dir),
        "CAPACITY_HOME": str(home),
        "CAPACITY_LOG_DB_URL": f"sqlite:///{tmp / 'log.db'}",
        "BENTOML_HOME": str(tmp / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
        "PYTHONUNBUFFERED": "1",
    }
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "CAPACITY_TRACKING_URI"):
        env.pop(var, None)
    log_path = tmp / "serve.log"
    log = log_path.open("wb")
    cmd = [
        _bentoml(), "serve", "serving.service:CapacityService",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    # stdin is a pipe kept open for the server's lifetime: `bentoml serve` shuts itself
    # down about a second after start-up when its stdin is at end-of-file (/dev/null).
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = "no answer yet"
        while True:
            if proc.poll() is not None:
                pytest.fail(f"bentoml serve exited with {proc.returncode}:\n{_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:300]!r}"
            except OSError as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                pytest.fail(
                    f"service not ready after {READY_TIMEOUT_S:.0f} s ({last}):\n{_tail(log_path)}"
                )
            time.sleep(0.25)
        yield base
    finally:
        _stop(proc)
        log.close()


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        if proc.stdin is not None:
            proc.stdin.close()
        return
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright's sync API."""
    executable = _chromium()
    if executable is None:
        pytest.skip("chromium is not installed: run `make browser-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """``test-artifacts/screenshots/`` at the repository root."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


class PageGuard:
    """What a page did that a test must not accept: outside requests, JS errors, missing texts."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.requests: list[tuple[str, str]] = []

    def check(self) -> None:
        assert not self.outside, f"requests to non-loopback hosts: {self.outside}"
        assert not self.errors, f"errors in the page: {self.errors}"


@pytest.fixture
def new_page(browser: Any, live_server: str) -> Iterator[Any]:
    """Factory: ``new_page(viewport)`` → a guarded page at ``/`` (checked after the test)."""
    contexts: list[Any] = []
    guards: list[PageGuard] = []

    def make(viewport: dict[str, int] = DESKTOP, path: str = "/") -> Any:
        ctx = browser.new_context(viewport=viewport, device_scale_factor=1, locale="zh-CN")
        contexts.append(ctx)
        guard = PageGuard()
        guards.append(guard)

        def route(r: Any) -> None:
            host = urlsplit(r.request.url).hostname or ""
            if r.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
                r.continue_()
            else:
                guard.outside.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.on("request", lambda req: guard.requests.append((req.method, req.url)))
        page.on("pageerror", lambda exc: guard.errors.append(f"pageerror: {exc}"))

        def on_console(msg: Any) -> None:
            # A rejected POST (HTTP 400) is logged by chromium; the tests expect those.
            if "Failed to load resource" in msg.text and "status of 400" in msg.text:
                return
            if msg.type == "error" or (msg.type == "warning" and "i18n" in msg.text):
                guard.errors.append(f"console {msg.type}: {msg.text}")

        page.on("console", on_console)
        page.guard = guard
        page.goto(live_server + path)
        page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        return page

    yield make
    try:
        for g in guards:
            g.check()
    finally:
        for ctx in contexts:
            ctx.close()
