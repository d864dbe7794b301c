"""Served accuracy on our history and on independent ones: what users get vs before the bounds.

For each history: train on ``--train`` customers (the CLI's own pipeline, 20 % of them held
out inside training), then score ``--score`` OTHER customers of the same world twice:

* through ``capacity evaluate``'s function (:func:`training.evaluate.evaluate_model`), which
  reports the served answer and the answer before the bounds;
* through the batch path users get (:meth:`serving.core.Recommender.score_frames`, what
  ``capacity recommend`` and ``/recommend_batch`` run), to show the two agree.

Prints a table and writes ``benchmarks/results/served_accuracy.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from features.contract import DEFAULT_SIZING, sizing_outcome
from serving.core import Recommender
from serving.model.bundle import load_bundle
from serving.model.config import ModelConfig
from serving.settings import Settings
from training.data import load_labelled
from training.evaluate import evaluate_model
from training.synth.history import SynthConfig, generate_history, write_history
from training.synth.worlds import WORLDS
from training.train import TrainConfig, train_from_files

RESULTS = Path(__file__).resolve().parent / "results"


def _ours(n: int, seed: int, out: Path) -> None:
    write_history(generate_history(SynthConfig(n=n, seed=seed)), out)


def run(name: str, n_train: int, n_score: int, seed: int, root: Path) -> dict[str, float]:
    train_dir, score_dir = root / name / "train", root / name / "score"
    if name == "ours":
        _ours(n_train, seed, train_dir)
        _ours(n_score, seed + 1000, score_dir)
    else:
        world = WORLDS[name](n_train + n_score, seed)
        first, rest = world.split(n_train)
        first.write(train_dir)
        rest.write(score_dir)
    t0 = time.perf_counter()
    result = train_from_files(
        train_dir / "customers.csv",
        train_dir / "equipment.csv",
        root / name / "bundle",
        TrainConfig(seed=42, log_to_mlflow=False, make_plots=False, model=ModelConfig()),
        Settings(home=root / "home"),
        oracle=train_dir / "oracle.csv",
    )
    train_s = time.perf_counter() - t0
    model, meta, _ = load_bundle(result.bundle_dir)
    data, _ = load_labelled(
        score_dir / "customers.csv", score_dir / "equipment.csv", oracle=score_dir / "oracle.csv"
    )
    ev = evaluate_model(model, data.frames, data.peak_kw, data.status_quo_kva, data.oracle_kw)
    m = ev.metrics()
    served = Recommender(model, str(meta["model_version"])).score_frames(
        data.frames.customers, data.frames.equipment
    )
    out = sizing_outcome(
        data.peak_kw, served["recommended_kva"].to_numpy(dtype=float), DEFAULT_SIZING
    )
    batch_acc = float(np.mean(out == "appropriate"))
    row = {
        "n_train": float(n_train),
        "n_scored": m["model_n"],
        "served_accuracy": m["model_accuracy"],
        "batch_path_accuracy": batch_acc,
        "unclamped_accuracy": m["model_unclamped_accuracy"],
        "undersized": m["model_undersized"],
        "oversized": m["model_oversized"],
        "clamp_share": m["clamp_share"],
        "clamped_undersized": m.get("clamped_undersized", float("nan")),
        "calibration_clamp_share": float(model.bounds.calibration_clamp_share or 0.0)
        if model.bounds
        else 0.0,
        "engineering_accuracy": m.get("engineering_accuracy", float("nan")),
        "oracle_accuracy": m.get("oracle_accuracy", float("nan")),
        "coverage90": m["coverage90"],
        "train_seconds": train_s,
    }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=20000)
    parser.add_argument("--score", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--worlds", default="ours,small_groups,utilisation")
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.worlds.split(","):
            rows[name] = run(name, args.train, args.score, args.seed, Path(tmp))
            r = rows[name]
            print(
                f"{name:13s} served {r['served_accuracy']:.3f} (batch path {r['batch_path_accuracy']:.3f}) "
                f"unclamped {r['unclamped_accuracy']:.3f} undersized {r['undersized']:.3f} "
                f"clamp {r['clamp_share']:.4f} (calibration {r['calibration_clamp_share']:.4f}) "
                f"engineering {r['engineering_accuracy']:.3f} oracle {r['oracle_accuracy']:.3f} "
                f"cov90 {r['coverage90']:.3f} train {r['train_seconds']:.1f} s",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "served_accuracy.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
