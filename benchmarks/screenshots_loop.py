"""Screenshots of the data scientist's loop: MLflow run page, registered model, compare and monitor reports.

Starts ``mlflow ui`` on the registry under ``CAPACITY_HOME`` (loopback, the given port),
opens the champion's training run, the registered model and its champion version with
Debian's chromium (Playwright, the browser tests' flags), then the HTML reports given on
the command line, and writes PNGs into ``test-artifacts/screenshots/``::

    CAPACITY_HOME=$PWD/var .venv/bin/python benchmarks/screenshots_loop.py --port 3450 \\
        --report compare=var/demo/compare/compare.html --report monitor=var/demo/drifted.html
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402

OUT = REPO / "test-artifacts" / "screenshots"


def _wait(url: str, seconds: float = 90.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"mlflow ui did not answer at {url} within {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3450)
    parser.add_argument("--report", action="append", default=[], help="name=path.html")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from serving.settings import Settings
    from training.registry.store import client

    settings = Settings()
    mc = client(settings)
    mv = mc.get_model_version_by_alias(settings.registered_model, "champion")
    run = mc.get_run(str(mv.run_id))
    home = settings.home.resolve()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    server = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "mlflow"), "server", "--backend-store-uri",
         f"sqlite:///{home}/mlflow.db", "--default-artifact-root", str(home / "mlartifacts"),
         "--host", "127.0.0.1", "--port", str(args.port), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{args.port}"
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        _wait(base)
        exp = run.info.experiment_id
        # MLflow 3's UI opens in its GenAI view unless told otherwise: the query parameter
        # (or one click on "Model training", remembered by the browser) selects classic ML.
        ml = "?workflowType=machine_learning"
        rid = run.info.run_id
        pages = {  # name: (url, a text that is there once the page has rendered)
            "mlflow_runs_table": (f"{base}/#/experiments/{exp}/runs{ml}", run.info.run_name),
            "mlflow_run_page": (f"{base}/#/experiments/{exp}/runs/{rid}{ml}", "About this run"),
            "mlflow_run_artifacts": (
                f"{base}/#/experiments/{exp}/runs/{rid}/artifacts{ml}",
                "monitor",
            ),
            "mlflow_registered_model": (
                f"{base}/#/models/{settings.registered_model}{ml}",
                "Version 1",
            ),
            "mlflow_model_version": (
                f"{base}/#/models/{settings.registered_model}/versions/{mv.version}{ml}",
                "Schema",
            ),
        }
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            for name, (url, ready) in pages.items():
                page.goto(url, wait_until="load")
                # The UI polls (never network-idle): wait for the page's own content.
                page.get_by_text(ready, exact=False).first.wait_for(timeout=120_000)
                time.sleep(2)
                close = page.locator('[data-component-id="mlflow.assistant.chat_panel.close"]')
                if close.count():
                    close.first.click()  # the assistant side panel hides half the page
                    time.sleep(1)
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                print(f"{name}: {OUT / f'{name}.png'}")
            for item in args.report:
                name, _, path = item.partition("=")
                page.goto(Path(path).resolve().as_uri())
                page.wait_for_load_state("load")
                page.screenshot(path=str(OUT / f"{name}_report.png"), full_page=True)
                print(f"{name}: {OUT / f'{name}_report.png'}")
            browser.close()
    finally:
        # The server's own process group (uvicorn and its workers), nothing else.
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
