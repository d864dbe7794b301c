"""cProfile of the service's own per-answer work (the handlers, without the HTTP server).

Builds the real service object (``CapacityService``'s class, ``__init__`` as under
``bentoml serve``: watcher, verified bundle, recommendation log) in this process and
calls its API methods as BentoML would after decoding the JSON body:

* ``/recommend`` with the 30-line application of ``bench_service.py``, ``--n`` times;
* ``/recommend_batch`` of ``--batch`` varied applications (JSON list, summary rows).

Writes the top-``--top`` functions by cumulative and by own time of each to
``benchmarks/results/profile_<label>.txt`` (the per-answer cost, before and after a
change, is the diff of two such files) and prints the wall time per call. Model:
``--model DIR`` or the champion export, else a small model trained here (as
``bench_service.py`` does).

Run: ``.venv/bin/python benchmarks/profile_service.py --label before``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_service import (  # noqa: E402
    APPLICATION_30,
    build_small_bundle,
    default_bundle,
    varied_applications,
)

RESULTS = REPO_ROOT / "benchmarks" / "results"


def _service(bundle: Path, home: Path) -> Any:
    os.environ.update(
        {
            "CAPACITY_MODEL_DIR": str(bundle),
            "CAPACITY_HOME": str(home),
            "CAPACITY_LOG_DB_URL": f"sqlite:///{home / 'log.db'}",
            "CAPACITY_RELOAD_SECONDS": "0",
        }
    )
    from serving.service import CapacityService

    svc = CapacityService.inner()
    assert svc.not_ready_reason is None, svc.not_ready_reason
    return svc


def _table(prof: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    out.write("== by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(top)
    out.write("== by own time ==\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def _run(label: str, fn: Any, n: int, top: int) -> tuple[float, str]:
    fn()  # warm
    prof = cProfile.Profile()
    t = time.perf_counter()
    cpu = time.process_time()
    prof.enable()
    for _ in range(n):
        fn()
    prof.disable()
    per_call = (time.perf_counter() - t) / n
    # On a shared machine the wall time includes waiting for a core; the CPU time and
    # the count of calls do not (the steadier figures to compare two runs by).
    cpu_ms = (time.process_time() - cpu) / n * 1000.0
    calls = pstats.Stats(prof).total_calls / n  # type: ignore[attr-defined]
    return per_call, f"CPU {cpu_ms:.2f} ms and {calls:,.0f} function calls per call\n" + _table(
        prof, top
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model bundle directory (default: the champion export)")
    parser.add_argument("--n", type=int, default=300, help="/recommend calls profiled")
    parser.add_argument("--batch", type=int, default=10_000, help="applications in the batch")
    parser.add_argument("--top", type=int, default=20, help="rows of each table")
    parser.add_argument("--label", default="now", help="name of the results file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="profile-service-") as tmp:
        work = Path(tmp)
        bundle = Path(args.model) if args.model else default_bundle()
        if bundle is None:
            bundle = build_small_bundle(work)
        home = work / "home"
        home.mkdir()
        svc = _service(bundle, home)
        apps = varied_applications(args.batch)
        single, single_table = _run(
            "recommend", lambda: svc.recommend(APPLICATION_30), args.n, args.top
        )
        batch, batch_table = (
            _run("batch", lambda: svc.recommend_batch(applications=apps), 1, args.top)
            if args.batch
            else (0.0, "(not run)\n")
        )
        svc.logbook.close()
    text = (
        f"profile of the service handlers ({args.label}); model {bundle}\n"
        f"/recommend (30 lines): {single * 1000:.2f} ms per call under cProfile (n={args.n})\n"
        f"/recommend_batch ({args.batch:,} applications, summary): {batch:.2f} s under cProfile\n"
        f"(cProfile roughly doubles the time of Python-heavy code; the ratios between rows "
        f"are what matters)\n"
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n\n"
        f"######## /recommend ########\n{single_table}\n"
        f"######## /recommend_batch ########\n{batch_table}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile_{args.label}.txt"
    out.write_text(text, encoding="utf-8")
    print(text[:400])
    print(f"written: {out}")


if __name__ == "__main__":
    main()
