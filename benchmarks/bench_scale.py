"""Scale benchmark: single process vs Dask LocalCluster on millions of synthetic customers.

Prints figures (no asserts) and writes benchmarks/results/scale-<n>.json:

* a synthetic history of ``--n`` customers generated in partitions of ``--partition-size``
  (``training.synth.history`` per partition, seed ``seed + k``), written as Parquet partitions;
* **Dask** (LocalCluster, ``--workers`` processes of one thread): ``train_partitioned``
  (validation per partition, distributed features and fit, gathered aggregates, holdout
  evaluation, bundle) and ``recommend_dask`` (every customer scored by
  ``Recommender.score_frames``, one CSV per partition);
* **single process** (the existing engine, one thread): ``train_from_files`` and the
  ``capacity recommend`` path on the same history concatenated into one Parquet file,
  at ``--single-sizes`` (subsets of the partitions) so that its memory growth is measured
  where it fits, then extrapolated linearly (least squares over the measured sizes) to
  the full size and to 20 M;
* equality: the single-process and the Dask bundles' tiers on the largest common size,
  and the two engines' scoring of one bundle (must be identical).

Every step runs in its own child process; peak memory is the peak of the summed RSS of
the child and all its descendants (the cluster's workers and nanny included), sampled
every 0.2 s with psutil, so the Dask figures include every process of the cluster.

Usage: ``nice -n 10 python benchmarks/bench_scale.py --n 1000000 [--single-sizes 250000,1000000]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

GENERATE = """
import sys
from concurrent.futures import ProcessPoolExecutor
from training.dask_engine.partitions import partition_sizes, write_synthetic_partition
root, n, size, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sizes = partition_sizes(n, max(1, round(n / size)))
if __name__ == "__main__":
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(write_synthetic_partition, [root] * len(sizes), range(len(sizes)), sizes))
"""

CONCAT = """
import glob, sys
import pyarrow.parquet as pq
import pyarrow as pa
root, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
for sub in ("customers", "equipment"):
    files = sorted(glob.glob(f"{root}/{sub}/*.parquet"))[:k]
    tables = [pq.read_table(f) for f in files]
    pq.write_table(pa.concat_tables(tables, promote_options="permissive"), f"{out}/{sub}.parquet")
"""

SINGLE_TRAIN = """
import json, sys, time
from pathlib import Path
from serving.settings import Settings
from training.train import TrainConfig, train_from_files
d = Path(sys.argv[1])
t0 = time.perf_counter()
r = train_from_files(d / "customers.parquet", d / "equipment.parquet", d / "bundle",
    TrainConfig(seed=42, log_to_mlflow=False, make_plots=False), Settings(home=d / "home"))
print(json.dumps({"seconds": time.perf_counter() - t0, "n_train": r.n_train,
    "accuracy": r.metrics["model_accuracy"], "best_iteration": r.model.best_iteration}))
"""

SINGLE_SCORE = """
import json, sys, time
from pathlib import Path
from features.validation import load_history
from serving.core import Recommender
from serving.model.bundle import load_bundle
d, bundle = Path(sys.argv[1]), Path(sys.argv[2])
t0 = time.perf_counter()
cm, _, _ = load_bundle(bundle)
v = load_history(d / "customers.parquet", d / "equipment.parquet", require_label=False)
frame = Recommender(cm, "bench").score_frames(v.customers, v.equipment)
frame.to_csv(d / "recs.csv", index=False)
print(json.dumps({"seconds": time.perf_counter() - t0, "n_scored": len(frame)}))
"""

DASK_TRAIN = """
import json, sys, time
from pathlib import Path
from serving.settings import Settings
from training.train import TrainConfig
from training.dask_engine.train import train_partitioned
if __name__ == "__main__":
    root, out, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    t0 = time.perf_counter()
    r = train_partitioned(str(root / "customers"), str(root / "equipment"), out / "bundle",
        TrainConfig(seed=42, log_to_mlflow=False, make_plots=False), Settings(home=out / "home"),
        n_workers=workers)
    print(json.dumps({"seconds": time.perf_counter() - t0, "n_train": r.fit.n_train,
        "accuracy": r.metrics["model_accuracy"], "best_iteration": r.fit.model.best_iteration,
        "stages": r.fit.seconds, "n_holdout_evaluated": r.fit.n_holdout_evaluated}))
"""

DASK_SCORE = """
import json, sys, time
from pathlib import Path
from serving.core import Recommender
from serving.model.bundle import load_bundle
from training.dask_engine.engine import dask_client, recommend_dask
if __name__ == "__main__":
    root, bundle, out, workers = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    t0 = time.perf_counter()
    cm, _, _ = load_bundle(bundle)
    with dask_client(None, n_workers=workers) as client:
        r = recommend_dask(client, Recommender(cm, "bench"), str(root / "customers"),
            str(root / "equipment"), out)
    print(json.dumps({"seconds": time.perf_counter() - t0, "n_scored": r.n_scored}))
"""

COMPARE = """
import glob, json, sys
import numpy as np, pandas as pd
single = pd.read_csv(sys.argv[1], usecols=["customer_id", "recommended_kva"])
dask = pd.concat([pd.read_csv(f, usecols=["customer_id", "recommended_kva"])
    for f in sorted(glob.glob(sys.argv[2] + "/*.csv"))], ignore_index=True)
m = single.merge(dask, on="customer_id", suffixes=("_s", "_d"))
same = float(np.mean(m["recommended_kva_s"].to_numpy() == m["recommended_kva_d"].to_numpy()))
print(json.dumps({"rows": len(m), "same_tier": same}))
"""


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(script: str, *args: object, cwd: Path | None = None) -> dict[str, Any]:
    """Run a child Python script; its JSON line plus wall time and the tree's peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENTOML_DO_NOT_TRACK": "True",
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(script)
    t0 = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, fh.name, *map(str, args)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
    )  # fmt: skip
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        proc = psutil.Process(child.pid)
        while not done.is_set():
            try:
                peak[0] = max(peak[0], _tree_rss(proc))
            except psutil.Error:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = child.communicate()
    done.set()
    sampler.join()
    os.unlink(fh.name)
    wall = time.perf_counter() - t0
    if child.returncode != 0:
        raise RuntimeError(f"child failed ({child.returncode}): {err[-3000:]}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    result.update({"wall_seconds": round(wall, 1), "peak_rss_gb": round(peak[0] / 2**30, 2)})
    return result


def swap_used_gb() -> float:
    return round(psutil.swap_memory().used / 2**30, 2)


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares slope and intercept (two points: the line through them)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, my - slope * mx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--partition-size", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--single-sizes", default="250000,1000000",
                    help="customers for the single-process runs (multiples of the partition size)")  # fmt: skip
    ap.add_argument("--work", type=Path, default=None, help="working folder (default: a temp dir)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    parts = work / "parts"
    report: dict[str, Any] = {"n": args.n, "partition_size": args.partition_size,
                              "workers": args.workers, "cpus": os.cpu_count(),
                              "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}  # fmt: skip
    if not (parts / "customers").exists():
        g = run(GENERATE, parts, args.n, args.partition_size, args.workers)
        report["generate"] = g
        print(f"generated {args.n:,} customers in {g['wall_seconds']} s", flush=True)

    d = run(DASK_TRAIN, parts, work / "dask", args.workers)
    report["dask_train"] = d
    print(f"dask train: {d}", flush=True)
    ds = run(DASK_SCORE, parts, work / "dask" / "bundle", work / "dask" / "recs", args.workers)
    report["dask_score"] = ds
    print(f"dask score: {ds}", flush=True)

    sizes = [int(s) for s in args.single_sizes.split(",") if s]
    singles = []
    for size in sizes:
        k = max(1, round(size / args.partition_size))
        sd = work / f"single-{size}"
        sd.mkdir(exist_ok=True)
        run(CONCAT, parts, sd, k)
        st = run(SINGLE_TRAIN, sd)
        ss = run(SINGLE_SCORE, sd, sd / "bundle")
        singles.append({"n": size, "train": st, "score": ss})
        print(f"single {size:,}: train {st}; score {ss}", flush=True)
    report["single"] = singles
    if singles:
        xs = [float(s["n"]) for s in singles]
        for step in ("train", "score"):
            if len(xs) >= 2:
                slope, icpt = linear_fit(xs, [s[step]["peak_rss_gb"] for s in singles])
                report[f"single_{step}_gb_per_million"] = round(slope * 1e6, 2)
                for target in (args.n, 5_000_000, 20_000_000):
                    report[f"single_{step}_gb_at_{target}"] = round(icpt + slope * target, 1)
        largest = singles[-1]
        if largest["n"] == args.n:
            # One bundle, two scoring engines: must be identical.
            same_bundle = work / "dask" / "recs-single-bundle"
            run(DASK_SCORE, parts, work / f"single-{args.n}" / "bundle", same_bundle, args.workers)
            report["same_bundle"] = run(
                COMPARE, work / f"single-{args.n}" / "recs.csv", same_bundle
            )
            # Two bundles (single-process fit vs two-worker fit), scored on every customer.
            report["cross_engine"] = run(COMPARE, work / f"single-{args.n}" / "recs.csv",
                                         work / "dask" / "recs")  # fmt: skip
            print(f"equality: {report['same_bundle']} (one bundle); {report['cross_engine']} "
                  "(single-process vs Dask fit)", flush=True)  # fmt: skip
    report["swap_used_gb_at_end"] = swap_used_gb()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"scale-{args.n}.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    main()
