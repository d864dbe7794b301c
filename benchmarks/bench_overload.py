"""Beyond capacity: the excess is shed with 503 + Retry-After within 100 ms (issue 27, item 4).

Serves the service (loopback only) and drives it from 64, then 256 concurrent clients
(asyncio, one connection each, a bounded number of seconds per level) posting the
30-line application to ``/recommend``; a probe meanwhile asks ``/readyz`` and
``/healthz`` every 100 ms. Then 64 clients post to ``/api/match`` and to ``/export/batch``
(the routes that used to be outside the limiter). Per level it prints:

* answered (200) per second, p50 / p99 of their latency (goal p99 ≤ 1 s);
* shed (503) count, whether every one carried ``Retry-After``, p50 / p99 / max of the time
  to the 503 (goal: every shed answer within 100 ms);
* connection errors (goal 0) and other statuses;
* the probes' p50 / max latency (health and readiness never queue behind work).

Run: ``.venv/bin/python benchmarks/bench_overload.py [--model DIR] [--seconds 10]``.
A measurement, not a test (tests/service/test_hardening_load.py checks the behaviour).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_service import APPLICATION_30  # noqa: E402
from benchmarks.hardening_harness import bundle, served  # noqa: E402

BATCH_CSV = "customer_id,status,recommended_kva\n" + "".join(f"c{i},ok,630\n" for i in range(200))


def _q(ms: list[float], q: float) -> float:
    if not ms:
        return float("nan")
    ms = sorted(ms)
    return ms[min(len(ms) - 1, int(q / 100 * (len(ms) - 1) + 0.5))]


async def level(base: str, clients: int, seconds: float, path: str, body: Any) -> dict[str, Any]:
    """``clients`` connections posting ``body`` to ``path`` for ``seconds``; the figures."""
    ok: list[float] = []
    shed: list[float] = []
    shed_without_retry = 0
    other: dict[int, int] = {}
    errors = 0
    probes: list[float] = []
    probe_codes: dict[int, int] = {}
    stop = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal shed_without_retry, errors
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as c:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    r = await c.post(path, json=body)
                except httpx.HTTPError:
                    errors += 1
                    await asyncio.sleep(0.05)
                    continue
                dt = (time.perf_counter() - t0) * 1000
                if r.status_code == 200:
                    ok.append(dt)
                elif r.status_code == 503:
                    shed.append(dt)
                    if "retry-after" not in r.headers:
                        shed_without_retry += 1
                    await asyncio.sleep(0.05)  # a polite client backs off a little
                else:
                    other[r.status_code] = other.get(r.status_code, 0) + 1

    async def probe() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            while time.perf_counter() < stop:
                for p in ("/readyz", "/healthz"):
                    t0 = time.perf_counter()
                    try:
                        r = await c.get(p)
                        probe_codes[r.status_code] = probe_codes.get(r.status_code, 0) + 1
                    except httpx.HTTPError:
                        probe_codes[-1] = probe_codes.get(-1, 0) + 1
                    probes.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(0.1)

    await asyncio.gather(*(client() for _ in range(clients)), probe())
    return {
        "path": path,
        "clients": clients,
        "answered_per_s": len(ok) / seconds,
        "answered_p50_ms": _q(ok, 50),
        "answered_p99_ms": _q(ok, 99),
        "shed": len(shed),
        "shed_without_retry_after": shed_without_retry,
        "shed_p50_ms": _q(shed, 50),
        "shed_p99_ms": _q(shed, 99),
        "shed_max_ms": max(shed) if shed else float("nan"),
        "connection_errors": errors,
        "other_statuses": other,
        "probe_p50_ms": _q(probes, 50),
        "probe_max_ms": max(probes) if probes else float("nan"),
        "probe_statuses": probe_codes,
    }


def show(row: dict[str, Any]) -> None:
    print(
        f"{row['path']:<14} {row['clients']:>3} clients: answered {row['answered_per_s']:6.1f}/s "
        f"p50 {row['answered_p50_ms']:6.0f} p99 {row['answered_p99_ms']:6.0f} ms | shed "
        f"{row['shed']:>6} (no Retry-After: {row['shed_without_retry_after']}) p50 "
        f"{row['shed_p50_ms']:5.0f} p99 {row['shed_p99_ms']:5.0f} max {row['shed_max_ms']:5.0f} ms"
        f" | connection errors {row['connection_errors']} other {row['other_statuses']} | "
        f"probes p50 {row['probe_p50_ms']:.0f} max {row['probe_max_ms']:.0f} ms "
        f"{row['probe_statuses']}"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the overload figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "capacity-bench"))
    args = parser.parse_args(argv)
    work = Path(args.work)
    model = bundle(args.model, work)
    home = Path(tempfile.mkdtemp(prefix="overload-home-", dir=work))
    print(f"cores: {os.cpu_count()}; server defaults (CAPACITY_MAX_CONCURRENCY, QUEUE_TIMEOUT_MS)")
    with served(model, home) as server:
        base = server.base_url
        httpx.post(f"{base}/recommend", json=APPLICATION_30, timeout=60)  # warm
        rows = []
        for clients in (64, 256):
            rows.append(
                asyncio.run(level(base, clients, args.seconds, "/recommend", APPLICATION_30))
            )
            show(rows[-1])
        match = {"items": [{"text": "螺杆空压机", "rated_kw": 37}] * 200}
        for path, body in (("/api/match", match), ("/export/batch", {"csv": BATCH_CSV})):
            rows.append(asyncio.run(level(base, 64, args.seconds / 2, path, body)))
            show(rows[-1])
    worst_shed = max((r["shed_p99_ms"] for r in rows if r["shed"]), default=float("nan"))
    print(
        f"summary: connection errors {sum(r['connection_errors'] for r in rows)}, "
        f"shed without Retry-After {sum(r['shed_without_retry_after'] for r in rows)}, "
        f"worst shed p99 {worst_shed:.0f} ms, worst answered p99 "
        f"{max(r['answered_p99_ms'] for r in rows[:2]):.0f} ms, worst probe "
        f"{max(r['probe_max_ms'] for r in rows):.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
