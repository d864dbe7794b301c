"""10,000 fuzzed requests over every route of the served OpenAPI document: 5xx count, memory.

The routes are read from the server's ``/docs.json``; the requests are those of
:mod:`tests.fuzz_routes` (lone surrogates, Infinity, deep nesting, a CR in a CSV cell, a
300-character file name, wrong content types, a foreign Origin, mutations of examples),
spread evenly over the operations, sent by a few client threads. Prints the answers by
status, the number of 5xx (goal: 0), latency, and the worker's resident memory at start,
after the fuzz and a few seconds later (memory returned after a burst).

Run: ``.venv/bin/python benchmarks/fuzz_routes.py [--model DIR] [--requests 10000]``.
Loopback only. A measurement, not a test (the bounded test is tests/service/test_every_route.py).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.hardening_harness import bundle, rss_mib, served, worker_pids  # noqa: E402
from tests.fuzz_routes import cases, operations  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz and print its figures; exit status 1 if any answer was a 5xx."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="a model bundle (default: a small one trained once)")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "capacity-bench"))
    args = parser.parse_args(argv)
    work = Path(args.work)
    model = bundle(args.model, work)
    home = Path(tempfile.mkdtemp(prefix="fuzz-home-", dir=work))
    with served(model, home) as server:
        pid = worker_pids(server)[0]
        with httpx.Client(base_url=server.base_url, timeout=120) as c:
            doc = c.get("/docs.json").json()
        ops = operations(doc)
        per_op = -(-args.requests // len(ops))
        todo = [case for m, p in ops for case in cases(doc, m, p, per_op, seed=7)][: args.requests]
        rss_start = rss_mib(pid)
        statuses: collections.Counter[tuple[str, int]] = collections.Counter()
        fives: list[str] = []
        seconds: list[float] = []
        lock = threading.Lock()
        peak = [rss_start]

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_mib(pid))
                time.sleep(0.2)

        def run(chunk: list[dict]) -> None:
            with httpx.Client(base_url=server.base_url, timeout=120) as client:
                for case in chunk:
                    t0 = time.perf_counter()
                    try:
                        r = client.request(**case)
                        status = r.status_code
                        text = r.text[:160]
                    except httpx.HTTPError as exc:
                        status, text = -1, f"{type(exc).__name__}: {exc}"
                    dt = time.perf_counter() - t0
                    with lock:
                        seconds.append(dt)
                        statuses[(f"{case['method']} {case['url'].split('?')[0]}", status)] += 1
                        if status >= 500 or status < 0:
                            fives.append(f"{case['method']} {case['url'][:60]} {status} {text}")

        done = threading.Event()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        threads = [
            threading.Thread(target=run, args=(todo[k :: args.threads],))
            for k in range(args.threads)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        done.set()
        rss_after = rss_mib(pid)
        time.sleep(5)
        rss_later = rss_mib(pid)
    by_status: collections.Counter[int] = collections.Counter()
    for (_, status), n in statuses.items():
        by_status[status] += n
    ms = sorted(s * 1000 for s in seconds)
    print(f"fuzzed requests: {len(seconds)} over {len(ops)} operations in {wall:.0f} s")
    print("operations:", ", ".join(f"{m} {p}" for m, p in ops))
    print("answers by status:", dict(sorted(by_status.items())))
    print(f"5xx or connection errors: {len(fives)}")
    for line in fives[:20]:
        print("  ", line)
    print(
        f"latency ms: p50 {statistics.median(ms):.0f}, p99 {ms[int(0.99 * (len(ms) - 1))]:.0f}, "
        f"max {ms[-1]:.0f}"
    )
    print(
        f"worker RSS MiB: start {rss_start:.0f}, peak {peak[0]:.0f}, after {rss_after:.0f}, "
        f"5 s later {rss_later:.0f}"
    )
    return 1 if fives else 0


if __name__ == "__main__":
    raise SystemExit(main())
