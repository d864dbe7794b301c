"""Load benchmark: what the service does beyond its capacity (it sheds, it does not queue).

Starts the real service (``bentoml serve``, as :mod:`benchmarks.bench_service` does, with
its helpers) and drives ``POST /recommend`` with the 30-line application from 1, 64 and
256 concurrent clients (asyncio, one connection each) for a bounded time per level. Per
level it prints the served requests/s, the share answered 503 (shed, with Retry-After),
p50/p99 of the served answers and p50 of the shed ones. Optionally (``--batch-apps``) it
also posts one large JSON batch (the 30-line application N times, about 2.9 kB each) and
samples the peak resident memory of the server's process tree meanwhile.

Server settings: ``CAPACITY_MAX_CONCURRENCY`` / ``CAPACITY_QUEUE_TIMEOUT_MS`` as given on
the command line (default: the service's defaults). Everything targets 127.0.0.1 only.
Writes ``benchmarks/results/load.json``. A measurement, not a test.

Run: ``.venv/bin/python benchmarks/bench_load.py [--model DIR] [--seconds 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_service import (  # noqa: E402
    APPLICATION_30,
    build_small_bundle,
    default_bundle,
    served,
    tree_rss_mib,
)

RESULTS = REPO_ROOT / "benchmarks" / "results" / "load.json"


def _ms(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ms = sorted(x * 1000.0 for x in samples)
    if q == 50:
        return statistics.median(ms)
    return ms[min(len(ms) - 1, max(0, round(q / 100.0 * len(ms)) - 1))]


async def _level(base: str, clients: int, seconds: float) -> dict[str, Any]:
    payload = json.dumps(APPLICATION_30).encode()
    headers = {"content-type": "application/json"}
    served_s: list[float] = []
    shed_s: list[float] = []
    other: dict[str, int] = {}
    retry_after: set[str] = set()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        stop_at = time.perf_counter() + seconds

        async def one() -> None:
            while time.perf_counter() < stop_at:
                t = time.perf_counter()
                try:
                    r = await client.post("/recommend", content=payload, headers=headers)
                except httpx.HTTPError as exc:
                    other[type(exc).__name__] = other.get(type(exc).__name__, 0) + 1
                    continue
                took = time.perf_counter() - t
                if r.status_code == 200:
                    served_s.append(took)
                elif r.status_code == 503:
                    shed_s.append(took)
                    retry_after.add(r.headers.get("retry-after", "(none)"))
                    await asyncio.sleep(0.001)  # a real client would back off Retry-After
                else:
                    other[str(r.status_code)] = other.get(str(r.status_code), 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    total = len(served_s) + len(shed_s) + sum(other.values())
    return {
        "clients": clients,
        "seconds": elapsed,
        "requests": total,
        "served": len(served_s),
        "shed": len(shed_s),
        "other": other,
        "served_req_per_s": len(served_s) / elapsed,
        "shed_share": len(shed_s) / total if total else 0.0,
        "served_p50_ms": _ms(served_s, 50),
        "served_p99_ms": _ms(served_s, 99),
        "shed_p50_ms": _ms(shed_s, 50),
        "retry_after": sorted(retry_after),
    }


_ACCESS = re.compile(r"path=/recommend,.*?\(status=(\d+).*?\) ([\d.]+)ms")


def server_side(log_path: Path) -> dict[str, dict[str, Any]]:
    """Latency per status of ``/recommend`` as BentoML's access log saw it (inside the app).

    The gap to what the clients saw is time outside the ASGI app: the event loop, HTTP
    parsing and, on a small machine, the clients themselves competing for the CPUs.
    """
    seen: dict[str, list[float]] = {}
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if m := _ACCESS.search(line):
            seen.setdefault(m.group(1), []).append(float(m.group(2)) / 1000.0)
    return {
        status: {"n": len(xs), "p50_ms": _ms(xs, 50), "p99_ms": _ms(xs, 99)}
        for status, xs in seen.items()
    }


def batch_memory(base: str, pid: int, n_apps: int) -> dict[str, Any]:
    """Post one JSON batch of ``n_apps`` 30-line applications; peak tree RSS meanwhile."""
    body = json.dumps({"applications": [APPLICATION_30] * n_apps, "output": "json"}).encode()
    before = tree_rss_mib(pid)["total"]
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                peak[0] = max(peak[0], tree_rss_mib(pid)["total"])
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.perf_counter()
    with httpx.Client(base_url=base, timeout=300) as client:
        r = client.post(
            "/recommend_batch", content=body, headers={"content-type": "application/json"}
        )
    took = time.perf_counter() - t
    done.set()
    sampler.join()
    return {
        "applications": n_apps,
        "body_mib": len(body) / 2**20,
        "status": r.status_code,
        "seconds": took,
        "rss_before_mib": before,
        "rss_peak_mib": peak[0],
        "rss_growth_mib": peak[0] - before,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    extra: dict[str, str] = {}
    if args.max_concurrency is not None:
        extra["CAPACITY_MAX_CONCURRENCY"] = str(args.max_concurrency)
    if args.queue_timeout_ms is not None:
        extra["CAPACITY_QUEUE_TIMEOUT_MS"] = str(args.queue_timeout_ms)
    if args.max_body_bytes is not None:
        extra["CAPACITY_MAX_BODY_BYTES"] = str(args.max_body_bytes)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        if args.model:
            bundle, origin = Path(args.model).resolve(), "--model"
        elif (champion := default_bundle()) is not None:
            bundle, origin = champion, "champion export"
        else:
            print("no champion export: training a small model (3,000 synthetic customers) ...")
            bundle, origin = build_small_bundle(work), "built here (n=3000, seed=5)"
        home = work / "server"
        home.mkdir()
        levels = []
        memory = None
        with served(bundle, home, extra) as (base, proc, _):
            with httpx.Client(base_url=base, timeout=60) as warm:
                for _ in range(20):
                    warm.post("/recommend", json=APPLICATION_30).raise_for_status()
            for clients in args.clients:
                print(f"/recommend: {clients} client(s), {args.seconds:g} s ...")
                log_path = home / "server.log"
                offset = log_path.stat().st_size
                level = asyncio.run(_level(base, clients, args.seconds))
                time.sleep(1.0)  # the access log is written after the answer
                part = home / f"level-{clients}.log"
                with log_path.open("rb") as fh:
                    fh.seek(offset)
                    part.write_bytes(fh.read())
                level["server_side"] = server_side(part)
                levels.append(level)
            if args.batch_apps:
                print(f"batch memory: {args.batch_apps} applications ...")
                memory = batch_memory(base, proc.pid, args.batch_apps)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min_before": load_before[0],
            "load_average_1min_after": os.getloadavg()[0],
            "note": "clients run on the same machine as the server",
        },
        "model_origin": origin,
        "settings": {
            "CAPACITY_MAX_CONCURRENCY": extra.get("CAPACITY_MAX_CONCURRENCY", "default"),
            "CAPACITY_QUEUE_TIMEOUT_MS": extra.get("CAPACITY_QUEUE_TIMEOUT_MS", "default"),
            "CAPACITY_MAX_BODY_BYTES": extra.get("CAPACITY_MAX_BODY_BYTES", "default"),
        },
        "levels": levels,
        "batch_memory": memory,
    }


def print_table(res: dict[str, Any]) -> None:
    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.0f}"

    print(
        f"\n{'clients':>7} {'served/s':>9} {'shed':>6} {'p50 ms':>7} {'p99 ms':>7} {'shed p50':>8}"
    )
    for lv in res["levels"]:
        print(
            f"{lv['clients']:>7} {lv['served_req_per_s']:>9.1f} {lv['shed_share']:>6.1%} "
            f"{f(lv['served_p50_ms']):>7} {f(lv['served_p99_ms']):>7} {f(lv['shed_p50_ms']):>8}"
            + (f"  other: {lv['other']}" if lv["other"] else "")
        )
        inside = lv.get("server_side", {}).get("200")
        if inside:
            print(
                f"{'':>7} inside the app (access log): served p50 {f(inside['p50_ms'])} ms, "
                f"p99 {f(inside['p99_ms'])} ms"
            )
    mem = res.get("batch_memory")
    if mem:
        print(
            f"\nbatch of {mem['applications']} applications ({mem['body_mib']:.1f} MiB): "
            f"HTTP {mem['status']} in {mem['seconds']:.1f} s, server RSS "
            f"{mem['rss_before_mib']:.0f} -> peak {mem['rss_peak_mib']:.0f} MiB"
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model bundle directory (default: the champion export)")
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each level")
    parser.add_argument(
        "--clients",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 64, 256],
        help="e.g. 1,64,256",
    )
    parser.add_argument("--max-concurrency", type=int, help="CAPACITY_MAX_CONCURRENCY")
    parser.add_argument("--queue-timeout-ms", type=float, help="CAPACITY_QUEUE_TIMEOUT_MS")
    parser.add_argument("--max-body-bytes", type=int, help="CAPACITY_MAX_BODY_BYTES")
    parser.add_argument(
        "--batch-apps", type=int, default=0, help="also measure one JSON batch of N applications"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    results = run(args)
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out}")
    return results


if __name__ == "__main__":
    main()
