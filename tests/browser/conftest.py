"""Fixtures of the browser tests: the real BentoML service and Debian's headless chromium.

The service runs as a subprocess (``bentoml serve``, :mod:`tests.server_process`, the same
helpers as the service tests) on a free loopback port with the session's test bundle
(``bundle_dir`` from ``tests/conftest.py``), a private CAPACITY_HOME and a private SQLite
recommendation log; it is always stopped. Every page fails its test if it requests anything that is not on
127.0.0.1/localhost, logs a JavaScript error or misses a translation.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.server_process import running_server, server_env

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
DESKTOP = {"width": 1280, "height": 800}
# The page's servers let a request wait for a slot (5 s instead of the service's 50 ms).
# One click sends several requests at once (the answer, the names' matches), and this
# server shares 2 cores with the test runner and chromium: with the default, a slot held
# a little longer made the gate shed one of them (seen in CI: a 503 in the console of
# test_print_layout_of_a_planner_check). These tests are about the page; the gate is
# tested by tests/service/test_admission.py, the page's retry by test_overload_pages.py.
PAGE_SERVER = {"CAPACITY_QUEUE_TIMEOUT_MS": "5000"}
PHONE = {"width": 390, "height": 844}


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    )


@pytest.fixture(scope="session")
def live_server(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running ``bentoml serve serving.service:CapacityService``.

    Started, kept alive and stopped by :mod:`tests.server_process`, as the service tests'
    servers are; no feedback key (the page does not send outcomes).
    """
    home = tmp_path_factory.mktemp("browser-service") / "home"
    env = server_env(home, bundle_dir, PAGE_SERVER, feedback_key=None)
    with running_server("browser", home, env, ready=(200,)) as server:
        yield server.base_url


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


@pytest.fixture(scope="session")
def metered_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small bundle trained on a history with existing customers (the metered path).

    The session bundle (``tests/conftest.py``) has no existing customers and refuses meter
    readings; the existing-customer page needs a model that answers them.
    """
    from serving.model.config import ModelConfig
    from tests.metered_history import write_metered_history
    from training.bundle import save_bundle
    from training.data import load_labelled
    from training.model import fit_model

    root = tmp_path_factory.mktemp("metered-bundle")
    paths = write_metered_history(root / "history", n=1500, seed=11)
    data, _ = load_labelled(
        paths["customers"], paths["equipment"], meter_readings=paths["meter_readings"]
    )
    model = fit_model(data.frames, data.peak_kw, ModelConfig(max_rounds=300, num_threads=1), seed=0)
    assert model.builder.metered_
    return save_bundle(
        model,
        root / "bundle",
        metadata={"model_version": "metered-test-1", "seed": 0, "data_hash": "metered-fixture"},
        metrics={"model_accuracy": 0.0},
    )


@pytest.fixture(scope="session")
def metered_live_server(
    metered_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Base URL of a running service with the metered bundle (see :func:`live_server`)."""
    home = tmp_path_factory.mktemp("browser-metered-service") / "home"
    env = server_env(home, metered_bundle_dir, PAGE_SERVER, feedback_key=None)
    with running_server("browser-metered", home, env, ready=(200,)) as server:
        yield server.base_url
