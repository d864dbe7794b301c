"""The recommendation log under storage faults and kill -9: answered ids without a row (goal 0).

Each scenario serves the service, drives ``POST /recommend`` from 4 client threads, keeps
every answered id (and every answer marked ``X-Recommendation-Recorded: false``, whose id
is null), injects the fault, then stops the server cleanly and looks every answered id up
in the SQLite log and in every spool file under the home. A row is *lost* when its id
was answered and is in neither. Scenarios:

* ``full``: the home (log + spool) on a 48 MB tmpfs, filled to the last byte during the
  traffic, then freed;
* ``readonly``: the home on a tmpfs mounted read-only before the start (log and spool on
  the same storage); ``readonly-spool``: the same with ``CAPACITY_LOG_SPOOL_DIR`` on
  writable storage (the second spool location);
* ``kill``: the API worker SIGKILLed under traffic (BentoML starts a new one).

``/readyz`` is sampled during each fault (how many 503s). Needs root (tmpfs mounts);
scenarios that cannot mount are skipped. Loopback only. A measurement, not a test.

Run: ``sudo .venv/bin/python benchmarks/log_faults.py [--model DIR] [--scenario full ...]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.hardening_harness import bundle, served, worker_pids  # noqa: E402
from serving.examples import MACHINERY_WORKSHOP  # noqa: E402


@contextlib.contextmanager
def tmpfs(path: Path, size_mb: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], check=True
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


class Traffic:
    """Client threads posting /recommend until stopped; answered ids and readiness."""

    def __init__(self, base: str, threads: int = 4) -> None:
        self.base = base
        self.ids: set[str] = set()
        self.not_recorded = 0
        self.errors = 0
        self.statuses: dict[int, int] = {}
        self.ready: dict[int, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]
        self._threads.append(threading.Thread(target=self._probe))

    def __enter__(self) -> Traffic:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as c:
            while not self._stop.is_set():
                try:
                    r = c.post("/recommend", json=MACHINERY_WORKSHOP)
                except httpx.HTTPError:
                    with self._lock:
                        self.errors += 1
                    time.sleep(0.1)
                    continue
                with self._lock:
                    self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
                    if r.status_code == 200:
                        rid = r.json().get("id")
                        if rid:
                            self.ids.add(rid)
                        elif r.headers.get("x-recommendation-recorded") == "false":
                            self.not_recorded += 1

    def _probe(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as c:
            while not self._stop.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    code = c.get("/readyz").status_code
                    with self._lock:
                        self.ready[code] = self.ready.get(code, 0) + 1
                time.sleep(0.25)


def logged_ids(home: Path, spool_dirs: list[Path]) -> set[str]:
    """Ids in the SQLite log and in every spool file (JSON lines) under the folders."""
    found: set[str] = set()
    db = home / "log.db"
    if db.exists():
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            found.update(r[0] for r in conn.execute("SELECT id FROM recommendations"))
    for folder in [home, *spool_dirs]:
        for path in folder.rglob("*.jsonl*"):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    doc = json.loads(line)
                    rows = doc.get("rows", [doc]) if isinstance(doc, dict) else []
                    found.update(str(r.get("id")) for r in rows if isinstance(r, dict))
    return found


def report(name: str, traffic: Traffic, found: set[str]) -> int:
    lost = traffic.ids - found
    print(
        f"{name:<15} answered ids {len(traffic.ids):>5}  lost {len(lost):>3}  "
        f"answered 'not recorded' {traffic.not_recorded:>5}  statuses {traffic.statuses}  "
        f"connection errors {traffic.errors}  /readyz {traffic.ready}"
    )
    return len(lost)


def scenario_full(model: Path, root: Path) -> int:
    with tmpfs(root / "full", 48) as mount:
        home = mount / "home"
        extra = {"CAPACITY_HOME": str(home), "CAPACITY_LOG_DB_URL": f"sqlite:///{home}/log.db"}
        with (
            served(model, root / "full-server", extra) as server,
            Traffic(server.base_url) as traffic,
        ):
            time.sleep(4)
            filler = mount / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as fh:
                while True:
                    fh.write(b"\0" * 2**20)
                    fh.flush()
            time.sleep(8)
            filler.unlink()
            time.sleep(6)
        return report("full", traffic, logged_ids(home, []))


def scenario_readonly(model: Path, root: Path, second_spool: bool) -> int:
    spool = root / "spool-elsewhere"
    name = "readonly-spool" if second_spool else "readonly"
    with tmpfs(root / name, 16) as mount:
        (mount / "home").mkdir(parents=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        ro_home = mount / "home"
        # The state home (log, spool) is read-only; the server's own log and BentoML's
        # home stay writable elsewhere (they are not what is measured).
        extra = {
            "CAPACITY_HOME": str(ro_home),
            "CAPACITY_LOG_DB_URL": f"sqlite:///{ro_home}/log.db",
        }
        if second_spool:
            extra["CAPACITY_LOG_SPOOL_DIR"] = str(spool)
        with (
            served(model, root / f"{name}-server", extra, ready=(200, 503)) as server,
            Traffic(server.base_url) as traffic,
        ):
            time.sleep(8)
        return report(name, traffic, logged_ids(ro_home, [spool]))


def scenario_kill(model: Path, root: Path) -> int:
    home = Path(tempfile.mkdtemp(prefix="kill-", dir=root))
    with served(model, home) as server:
        with Traffic(server.base_url, threads=8) as traffic:
            time.sleep(4)
            for pid in worker_pids(server):
                os.kill(pid, signal.SIGKILL)
            time.sleep(12)
        return report("kill -9", traffic, logged_ids(home, []))


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios; print the figures; exit 1 if any answered id was lost."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "capacity-bench"))
    parser.add_argument(
        "--scenario",
        action="append",
        choices=["full", "readonly", "readonly-spool", "kill"],
        help="default: all",
    )
    args = parser.parse_args(argv)
    work = Path(args.work)
    model = bundle(args.model, work)
    root = Path(tempfile.mkdtemp(prefix="log-faults-", dir=work))
    lost = 0
    for name in args.scenario or ["full", "readonly", "readonly-spool", "kill"]:
        if name != "kill" and os.geteuid() != 0:
            print(f"{name}: skipped (tmpfs mounts need root)")
            continue
        if name == "full":
            lost += scenario_full(model, root)
        elif name == "readonly":
            lost += scenario_readonly(model, root, second_spool=False)
        elif name == "readonly-spool":
            lost += scenario_readonly(model, root, second_spool=True)
        else:
            lost += scenario_kill(model, root)
    print(f"answered ids without a row, all scenarios: {lost}")
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
