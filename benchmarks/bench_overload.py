"""Beyond capacity: the excess is shed with 503 + Retry-After within 100 ms (issue 27, item 4).

Serves the service (loopback only, ``--workers`` API workers: by default one per CPU, as
in production) and drives it from 64, then 256 concurrent clients, each one keep-alive
connection posting the 30-line application to ``/recommend`` for ``--seconds``; after a
503 a client waits ``--backoff-ms`` (default 50 ms: an impatient client, far harsher than
the ``Retry-After: 1`` it is told) and tries again. Then 64 clients post to ``/api/match``
and to ``/export/batch`` (work routes of the page). Meanwhile a probe PROCESS asks
``/healthz`` and ``/readyz`` every 100 ms, each on a new connection as a kubelet does (so
a full accept queue would show).

The load client is lean on purpose (asyncio streams, the request bytes built once, only
the status line and ``Content-Length`` parsed): on a 2-core machine the client shares the
cores with the server, and an httpx client at 256 connections spent more CPU than the
shedding it measured. Its own CPU is printed beside the server's, with the cores each
used, so a reader can see who had the machine.

Per level it prints:

* answered (200) per second, p50 / p99 of their latency (goal p99 ≤ 1 s);
* shed (503) count, whether every one carried ``Retry-After`` and a JSON body, p50 / p99
  / max of the time to the 503 (goal: every shed answer within 100 ms);
* connection errors and requests left unanswered at the end (goal 0), other statuses;
* the probes' p50 / max latency and statuses (health and readiness never queue);
* CPU seconds of the server tree and of the client, per request and as cores used.

Run: ``.venv/bin/python benchmarks/bench_overload.py [--model DIR] [--seconds 10]``;
``bench_service.py --overload`` runs the same levels on its measured server.
A measurement, not a test (tests/service/test_admission.py checks the behaviour).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

BATCH_CSV = "customer_id,status,recommended_kva\n" + "".join(f"c{i},ok,630\n" for i in range(200))
MATCH_BODY = {"items": [{"text": "螺杆空压机", "rated_kw": 37}] * 200}
GRACE_S = 10.0
"""After the clock stops, how long requests in flight may still take before they count
as unanswered."""


def _q(ms: list[float], q: float) -> float:
    if not ms:
        return float("nan")
    ms = sorted(ms)
    return ms[min(len(ms) - 1, int(q / 100 * (len(ms) - 1) + 0.5))]


def _request(host: str, port: int, path: str, body: Any) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    return head + payload


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    """(status, lower-cased head, body) of one HTTP/1.1 answer."""
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    status = int(head[9:12])
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        end = head.index(b"\r\n", at + 2)
        body = await reader.readexactly(int(head[at + 17 : end]))
    elif b"transfer-encoding: chunked" in head:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(parts)
    else:
        body = b""
    return status, head, body


def _probe(base: str, stop_at: float, out: Any) -> None:
    """Child process: GET /healthz and /readyz every 100 ms, a new connection each."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    rows: list[tuple[str, int, float]] = []
    while time.time() < stop_at:
        for path in ("/healthz", "/readyz"):
            t0 = time.perf_counter()
            code = -1
            try:
                with socket.create_connection((host, port), timeout=10) as s:
                    s.sendall(
                        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
                    )
                    data = b""
                    while chunk := s.recv(65536):
                        data += chunk
                code = int(data[9:12]) if len(data) >= 12 else -1
            except OSError:
                code = -1
            rows.append((path, code, (time.perf_counter() - t0) * 1000))
        time.sleep(0.1)
    out.put(rows)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants so far."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def _own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _level(
    base: str, clients: int, seconds: float, path: str, body: Any, backoff_s: float
) -> dict[str, Any]:
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    request = _request(host, port, path, body)
    ok: list[float] = []
    shed: list[float] = []
    shed_bad: list[str] = []
    other: dict[int, int] = {}
    errors = 0
    stop = time.perf_counter() + seconds
    connected = 0

    async def client() -> None:
        nonlocal errors, connected
        reader = writer = None
        while time.perf_counter() < stop:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                    connected += 1
                assert reader is not None
                t0 = time.perf_counter()
                writer.write(request)
                status, head, answer = await _read_answer(reader)
                dt = (time.perf_counter() - t0) * 1000
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.05)
                continue
            if b"\r\nconnection: close" in head:
                writer.close()
                reader = writer = None
            if status == 200:
                ok.append(dt)
            elif status == 503:
                shed.append(dt)
                if b"\r\nretry-after:" not in head:
                    shed_bad.append("no Retry-After")
                elif b"application/json" not in head or b'"errors"' not in answer:
                    shed_bad.append("no JSON error body")
                await asyncio.sleep(backoff_s)
            else:
                other[status] = other.get(status, 0) + 1
        if writer is not None:
            writer.close()

    queue: Any = mp.get_context("fork").Queue()
    probe = mp.get_context("fork").Process(
        target=_probe, args=(base, time.time() + seconds, queue), daemon=True
    )
    probe.start()
    cpu_client0 = _own_cpu_s()
    tasks = [asyncio.ensure_future(client()) for _ in range(clients)]
    done, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_S)
    for t in pending:
        t.cancel()
    cpu_client = _own_cpu_s() - cpu_client0
    probes: list[tuple[str, int, float]] = queue.get(timeout=60)
    probe.join(timeout=10)
    probe_ms = [ms for _, _, ms in probes]
    probe_codes: dict[int, int] = {}
    for _, code, _ in probes:
        probe_codes[code] = probe_codes.get(code, 0) + 1
    return {
        "path": path,
        "clients": clients,
        "seconds": seconds,
        "answered": len(ok),
        "answered_per_s": len(ok) / seconds,
        "answered_p50_ms": _q(ok, 50),
        "answered_p99_ms": _q(ok, 99),
        "answered_max_ms": max(ok) if ok else float("nan"),
        "shed": len(shed),
        "shed_per_s": len(shed) / seconds,
        "shed_malformed": len(shed_bad),
        "shed_p50_ms": _q(shed, 50),
        "shed_p99_ms": _q(shed, 99),
        "shed_max_ms": max(shed) if shed else float("nan"),
        "shed_over_100ms": sum(ms > 100 for ms in shed),
        "connection_errors": errors,
        "unanswered_at_end": len(pending),
        "other_statuses": other,
        "probe_p50_ms": _q(probe_ms, 50),
        "probe_max_ms": max(probe_ms) if probe_ms else float("nan"),
        "probe_statuses": probe_codes,
        "client_cpu_s": cpu_client,
    }


def level(
    base: str,
    clients: int,
    seconds: float,
    path: str,
    body: Any,
    server_pid: int | None = None,
    backoff_s: float = 0.05,
) -> dict[str, Any]:
    """``clients`` connections posting ``body`` to ``path`` for ``seconds``; the figures."""
    cpu0 = tree_cpu_s(server_pid) if server_pid else float("nan")
    t0 = time.perf_counter()
    row = asyncio.run(_level(base, clients, seconds, path, body, backoff_s))
    wall = time.perf_counter() - t0
    cpu = (tree_cpu_s(server_pid) - cpu0) if server_pid else float("nan")
    requests = max(1, row["answered"] + row["shed"])
    row.update(
        server_cpu_s=cpu,
        server_cores=cpu / wall,
        client_cores=row["client_cpu_s"] / wall,
        server_cpu_ms_per_request=cpu / requests * 1000,
        client_cpu_ms_per_request=row["client_cpu_s"] / requests * 1000,
        load_average_1min=os.getloadavg()[0],
    )
    return row


def show(row: dict[str, Any]) -> None:
    """One level's figures on two lines."""
    print(
        f"{row['path']:<14} {row['clients']:>3} clients: answered {row['answered_per_s']:6.1f}/s "
        f"p50 {row['answered_p50_ms']:5.0f} p99 {row['answered_p99_ms']:5.0f} "
        f"max {row['answered_max_ms']:5.0f} ms | shed {row['shed_per_s']:6.0f}/s "
        f"p50 {row['shed_p50_ms']:4.0f} p99 {row['shed_p99_ms']:4.0f} max "
        f"{row['shed_max_ms']:4.0f} ms, over 100 ms {row['shed_over_100ms']}, malformed "
        f"{row['shed_malformed']}"
    )
    print(
        f"{'':<19}connection errors {row['connection_errors']}, unanswered "
        f"{row['unanswered_at_end']}, other {row['other_statuses']} | probes p50 "
        f"{row['probe_p50_ms']:.0f} max {row['probe_max_ms']:.0f} ms {row['probe_statuses']}"
        f" | CPU server {row['server_cores']:.2f} cores "
        f"({row['server_cpu_ms_per_request']:.2f} ms/req), client {row['client_cores']:.2f} "
        f"cores ({row['client_cpu_ms_per_request']:.2f} ms/req) | load {row['load_average_1min']:.1f}"
    )


def run_levels(
    base: str,
    seconds: float,
    server_pid: int | None,
    backoff_s: float = 0.05,
    clients: tuple[int, ...] = (64, 256),
    page_routes: bool = True,
) -> list[dict[str, Any]]:
    """The overload levels of issue 27 against a running server; printed as they finish."""
    from benchmarks.bench_service import APPLICATION_30

    rows = []
    for n in clients:
        rows.append(level(base, n, seconds, "/recommend", APPLICATION_30, server_pid, backoff_s))
        show(rows[-1])
    if page_routes:
        for path, body in (("/api/match", MATCH_BODY), ("/export/batch", {"csv": BATCH_CSV})):
            rows.append(level(base, 64, seconds / 2, path, body, server_pid, backoff_s))
            show(rows[-1])
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The goals' figures over every level."""
    recommend = [r for r in rows if r["path"] == "/recommend"]
    return {
        "connection_errors": sum(r["connection_errors"] + r["unanswered_at_end"] for r in rows),
        "shed_malformed": sum(r["shed_malformed"] for r in rows),
        "shed_over_100ms": sum(r["shed_over_100ms"] for r in rows),
        "shed": sum(r["shed"] for r in rows),
        "worst_shed_p99_ms": max((r["shed_p99_ms"] for r in rows if r["shed"]), default=0.0),
        "worst_answered_p99_ms": max(r["answered_p99_ms"] for r in recommend),
        "worst_probe_ms": max(r["probe_max_ms"] for r in rows),
        "probe_failures": sum(
            n for r in rows for code, n in r["probe_statuses"].items() if code != 200
        ),
    }


def print_summary(s: dict[str, Any]) -> None:
    print(
        f"overload summary: connection errors + unanswered {s['connection_errors']}, "
        f"shed {s['shed']} (over 100 ms: {s['shed_over_100ms']}, malformed "
        f"{s['shed_malformed']}), worst shed p99 {s['worst_shed_p99_ms']:.0f} ms, worst "
        f"answered p99 {s['worst_answered_p99_ms']:.0f} ms, worst probe "
        f"{s['worst_probe_ms']:.0f} ms, probe failures {s['probe_failures']}"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the overload figures."""
    from benchmarks.hardening_harness import bundle, served

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=0, help="API workers (0: the CPUs)")
    parser.add_argument("--backoff-ms", type=float, default=50.0, help="client wait after a 503")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "capacity-bench"))
    parser.add_argument("--env", action="append", default=[], help="extra server KEY=VALUE")
    parser.add_argument(
        "--clients", default="64,256", help="levels of /recommend clients, e.g. 64,256"
    )
    parser.add_argument(
        "--no-page-routes", action="store_true", help="skip the /api/match, /export/batch levels"
    )
    args = parser.parse_args(argv)
    work = Path(args.work)
    model = bundle(args.model, work)
    home = Path(tempfile.mkdtemp(prefix="overload-home-", dir=work))
    extra = {"CAPACITY_WORKERS": str(args.workers), **dict(e.split("=", 1) for e in args.env)}
    print(f"cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; server {extra}")
    with served(model, home, extra) as server:
        base = server.base_url
        import httpx

        from benchmarks.bench_service import APPLICATION_30

        for _ in range(20):  # warm every worker
            httpx.post(f"{base}/recommend", json=APPLICATION_30, timeout=60)
        rows = run_levels(
            base,
            args.seconds,
            server.proc.pid,
            args.backoff_ms / 1000,
            tuple(int(c) for c in args.clients.split(",")),
            not args.no_page_routes,
        )
    print_summary(summary(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
