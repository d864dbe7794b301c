"""A served service for the hardening scripts (started by the tests' own launcher).

``tests/server_process.py`` starts ``bentoml serve`` the way the tests do (stdin a pipe
kept open, its own session, always stopped); this module adds a model bundle (``--model``
or a small one trained once into the work folder) and the worker's memory.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.server_process import (  # noqa: E402
    Server,
    server_env,
    start_server,
    stop_server,
    wait_until,
)


def bundle(model: str | None, work: Path) -> Path:
    """``model``, or a small bundle trained once into ``work`` (as the service tests do)."""
    if model:
        return Path(model)
    ready = work / "bundle"
    if (ready / "checksums.json").is_file():
        return ready
    from benchmarks.bench_service import build_small_bundle

    return build_small_bundle(work)


@contextlib.contextmanager
def served(
    model_dir: Path,
    home: Path,
    extra: dict[str, str] | None = None,
    ready: tuple[int, ...] = (200,),
) -> Iterator[Server]:
    """The service on a loopback port with its own home; stopped on exit."""
    env = server_env(home, model_dir, {"CAPACITY_RELOAD_SECONDS": "0", **(extra or {})})
    server = start_server("bench", home, env)
    try:
        wait_until(server, ready)
        yield server
    finally:
        stop_server(server)


def worker_pids(server: Server) -> list[int]:
    """The API worker processes of a served service."""
    root = psutil.Process(server.proc.pid)
    out = []
    for p in root.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "_bentoml_impl.worker" in " ".join(p.cmdline()):
                out.append(p.pid)
    return out


def rss_mib(pid: int) -> float:
    """Resident memory of one process, MiB."""
    return psutil.Process(pid).memory_info().rss / 2**20
