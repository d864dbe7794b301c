"""CPU per ``/recommend`` answer of the service's handler, in-process (no HTTP).

The A/B method of ``benchmarks/results/handler_cpu_h27f_ab.txt``: the service object is
built as under ``bentoml serve`` (:func:`benchmarks.profile_service._service`) from the
source tree ``--src`` (e.g. ``git archive main`` unpacked, against this branch), and
``recommend`` is called with the 30-line application of ``bench_service.py``: 50 warm-up
answers, then ``--chunks`` chunks of ``--per-chunk``. Prints one line: the least loaded
chunk, the median chunk and the total CPU per call, with the load average. Run two trees
alternately on the same bundle (``--model``) and compare lines of the same session.

Run: ``.venv/bin/python benchmarks/handler_cpu.py --src /tmp/main --model DIR --label main``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--model", required=True, help="model bundle directory")
    parser.add_argument("--label", default="")
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--per-chunk", type=int, default=100)
    args = parser.parse_args(argv)
    src = Path(args.src).resolve()
    # The tree under test first on the path (its serving/ and features/, not this one's).
    sys.path.insert(0, str(src))
    os.chdir(src)
    from benchmarks.bench_service import APPLICATION_30
    from benchmarks.profile_service import _service

    with tempfile.TemporaryDirectory(prefix="handler-cpu-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        svc = _service(Path(args.model), home)
        for _ in range(50):
            svc.recommend(APPLICATION_30)
        chunks = []
        start = time.process_time()
        for _ in range(args.chunks):
            c = time.process_time()
            for _ in range(args.per_chunk):
                svc.recommend(APPLICATION_30)
            chunks.append((time.process_time() - c) / args.per_chunk * 1000.0)
        total = (time.process_time() - start) / (args.chunks * args.per_chunk) * 1000.0
        svc.logbook.close()
    print(
        f"min chunk {min(chunks):.3f} ms, median {statistics.median(chunks):.3f} ms "
        f"total CPU per call {total:.3f} ms (load {os.getloadavg()[0]:.2f})  {args.label}",
        flush=True,
    )


if __name__ == "__main__":
    main()
