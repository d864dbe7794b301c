"""Model benchmark: training time and memory, batch scoring time, accuracy against baselines.

Prints figures (no asserts) and writes them to benchmarks/results/model.json:

* training time for 20k and 200k customers (and peak RSS of a separate 200k training
  process, measured with resource.getrusage of the child);
* batch recommendation time for 100k customers through the recommender core's
  vectorised path (``Recommender.score_frames``), beside the time the engineering method
  alone takes on the same customers (a baseline measured in the same run);
* sizing accuracy on a 5,000-customer holdout (model trained on 20,000) against the
  status quo, the demand-coefficient method and the oracle, per industry.

Usage: ``python benchmarks/bench_model.py [--quick]`` (``--quick`` skips the 200k runs).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

CHILD = """
import resource, sys, time
from pathlib import Path
from serving.model.config import ModelConfig
from serving.settings import Settings
from training.train import TrainConfig, train_from_files
d = Path(sys.argv[1])
t0 = time.perf_counter()
r = train_from_files(d / "customers.csv", d / "equipment.csv", d / "bundle",
    TrainConfig(seed=1, log_to_mlflow=False, make_plots=False), Settings(home=d / "home"),
    oracle=d / "oracle.csv")
print(time.perf_counter() - t0, r.seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def synth(n: int, seed: int, out: Path) -> float:
    from training.synth.history import SynthConfig, generate_history, write_history

    t0 = time.perf_counter()
    write_history(generate_history(SynthConfig(n=n, seed=seed)), out)
    return time.perf_counter() - t0


def train_in_child(data_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    wall, inner, rss_kb = float(out[-3]), float(out[-2]), float(out[-1])
    return {"wall_s": wall, "pipeline_s": inner, "peak_rss_mb": rss_kb / 1024.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 200k-customer runs")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        # 25k synthetic: 20k train + 5k holdout (the target setting).
        d25 = base / "h25"
        figures["synth_25k_s"] = synth(25000, 1, d25)
        t = train_in_child(d25)
        figures["train_20k"] = t
        metrics = json.loads((d25 / "bundle-reports" / "metrics.json").read_text())
        figures["holdout_metrics"] = metrics
        per_industry = (d25 / "bundle-reports" / "per_industry.csv").read_text()
        if not args.quick:
            d200 = base / "h200"
            figures["synth_200k_s"] = synth(200000, 2, d200)
            figures["train_200k"] = train_in_child(d200)
        # Batch scoring of 100k customers through the recommender core.
        from features.engineering import engineering_estimate_frame
        from features.validation import load_history
        from serving.core import Recommender
        from serving.model.bundle import load_bundle

        d100 = base / "h100"
        synth(100000, 3, d100)
        validated = load_history(d100 / "customers.csv", d100 / "equipment.csv")
        model, meta, _ = load_bundle(d25 / "bundle")
        rec = Recommender(model, str(meta["model_version"]))
        t0 = time.perf_counter()
        eng = engineering_estimate_frame(validated.equipment, validated.customers, rec.engineering)
        eng_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        scored = rec.score_frames(validated.customers, validated.equipment)
        score_s = time.perf_counter() - t0
        figures["batch_100k"] = {
            "customers": len(scored),
            "recommend_s": score_s,
            "engineering_only_s": eng_s,
            "ratio_to_engineering": score_s / eng_s if eng_s > 0 else None,
            "rows_engineering": len(eng),
        }
    figures["peak_rss_this_process_mb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    )
    (RESULTS / "model.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")

    m = figures["holdout_metrics"]
    assert isinstance(m, dict)
    print("\n== Model benchmark ==")
    print(f"train 20k customers: {figures['train_20k']}")
    if "train_200k" in figures:
        print(f"train 200k customers: {figures['train_200k']}")
    print(f"batch recommend 100k: {figures['batch_100k']}")
    print("\nholdout (5,000 customers)      accuracy  undersized  oversized")
    for method in ("model", "model_unclamped", "oracle", "engineering", "status_quo"):
        if f"{method}_accuracy" in m:
            print(
                f"  {method:<28}{m[f'{method}_accuracy']:>8.3f}{m[f'{method}_undersized']:>12.3f}"
                f"{m[f'{method}_oversized']:>11.3f}"
            )
    print(
        f"  model / oracle accuracy: {m.get('model_vs_oracle', float('nan')):.3f}; MdAPE "
        f"{m['mdape']:.3f}; within ±20 % {m['within_20pct']:.3f}; coverage 80 % "
        f"{m['coverage80']:.3f}, 90 % {m['coverage90']:.3f}"
    )
    print("\nper industry (weakest first):")
    print(per_industry)


if __name__ == "__main__":
    main()
