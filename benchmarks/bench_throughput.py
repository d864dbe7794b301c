"""Throughput of three bulk paths, each against a baseline measured in the same run.

The wall-clock limits that tests used to assert (10,000 logged rows under 2 s, the
engineering method on 200,000 customers under 10 s, a 20,000-customer synthetic history
under 30 s) live here instead, as printed figures:

* recommendation log: ``Logbook.record_many`` of 10,000 rows (validation, JSON, one
  transaction) against a bare ``sqlite3.executemany`` of the same rows into a table of the
  same columns (what the database alone costs);
* engineering method: ``engineering_estimate_frame`` on 200,000 customers (~3 M lines)
  against a pandas groupby sum of rated × quantity over the same lines (the least any
  per-customer figure costs);
* synthetic history: ``generate_history`` of 20,000 customers against writing it
  (``write_history``).

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_throughput.py [--customers 200000]``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.catalog import load_catalog  # noqa: E402
from features.engineering import engineering_estimate_frame  # noqa: E402
from serving.logbook import Logbook, LogbookSettings, RecommendationEntry  # noqa: E402
from training.synth.history import SynthConfig, generate_history, write_history  # noqa: E402


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def _rows(n: int) -> list[RecommendationEntry]:
    return [
        RecommendationEntry(
            application={"industry": "machinery", "equipment": [], "i": i},
            response={"i": i},
            source="batch",
            model_version="v1",
            recommended_kva=400.0,
            predicted_peak_kw=200.0 + i % 50,
            engineering_kva=500.0,
            batch_id="run-1",
        )
        for i in range(n)
    ]


def bench_logbook(n: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        times: list[float] = []
        for k in range(repeat):
            book = Logbook.open(LogbookSettings(url=f"sqlite:///{Path(tmp) / f'log{k}.db'}"))
            rows = _rows(n)
            started = time.perf_counter()
            book.record_many(rows)
            times.append(time.perf_counter() - started)
            book.close()
        values = [
            (f"{i:032x}", "2025-01-01T00:00:00", "batch", "v1", "machinery", json.dumps({"i": i}),
             json.dumps({"i": i}), 400.0, 200.0, 500.0, None, "run-1")
            for i in range(n)
        ]  # fmt: skip

        def raw() -> None:
            con = sqlite3.connect(Path(tmp) / "raw.db")
            con.execute("DROP TABLE IF EXISTS r")
            con.execute("CREATE TABLE r (a, b, c, d, e, f, g, h, i, j, k, l)")
            with con:
                con.executemany("INSERT INTO r VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", values)
            con.close()

        baseline = _best(raw, repeat)
    return {"seconds": min(times), "baseline_seconds": baseline, "rows": float(n)}


def bench_engineering(n_customers: int, repeat: int) -> dict[str, float]:
    rng = np.random.default_rng(3)
    catalog = load_catalog()
    ids = np.array([f"C{i:07d}" for i in range(n_customers)], dtype=object)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "industry": rng.choice(list(catalog.industry_codes), n_customers),
            "floor_area_m2": rng.uniform(50, 20_000, n_customers),
        }
    )
    owner = np.repeat(ids, rng.integers(0, 30, n_customers))
    equipment = pd.DataFrame(
        {
            "customer_id": owner,
            "category": rng.choice(list(catalog.category_codes), len(owner)),
            "rated_kw": np.round(rng.lognormal(2.5, 1.0, len(owner)), 1) + 0.1,
            "quantity": rng.integers(1, 6, len(owner)),
            "standby": rng.random(len(owner)) < 0.1,
        }
    )
    seconds = _best(lambda: engineering_estimate_frame(equipment, customers), repeat)
    baseline = _best(
        lambda: (
            (equipment["rated_kw"] * equipment["quantity"]).groupby(equipment["customer_id"]).sum()
        ),
        repeat,
    )
    return {"seconds": seconds, "baseline_seconds": baseline, "lines": float(len(equipment))}


def bench_synth(n: int, repeat: int) -> dict[str, float]:
    generated = []

    def generate() -> None:
        generated.append(generate_history(SynthConfig(n=n, seed=1)))

    seconds = _best(generate, repeat)
    with tempfile.TemporaryDirectory() as tmp:
        baseline = _best(lambda: write_history(generated[-1], tmp), repeat)
    return {"seconds": seconds, "baseline_seconds": baseline, "customers": float(n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--synth", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {
        f"log: record_many {args.rows:,} rows (vs bare sqlite3 executemany)": bench_logbook(
            args.rows, args.repeat
        ),
        f"engineering: {args.customers:,} customers (vs groupby sum of kW)": bench_engineering(
            args.customers, args.repeat
        ),
        f"synth: generate {args.synth:,} customers (vs writing them)": bench_synth(
            args.synth, max(1, args.repeat - 1)
        ),
    }
    print(f"{'path':<62} {'best s':>8} {'baseline s':>11} {'ratio':>7}")
    for name, r in results.items():
        ratio = r["seconds"] / r["baseline_seconds"] if r["baseline_seconds"] else float("nan")
        print(f"{name:<62} {r['seconds']:8.3f} {r['baseline_seconds']:11.3f} {ratio:7.1f}")
    rates = [r["seconds"] for r in results.values()]
    print(f"(best of {args.repeat} runs each; total best time {statistics.fsum(rates):.2f} s)")


if __name__ == "__main__":
    main()
