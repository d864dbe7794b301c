"""Latency of an existing customer's answer against a new application's, same model.

One model trained on the demo history with existing customers; ``Recommender.recommend``
(the service's per-answer path, explanations included) timed for a 30-line new
application and for an existing customer with 12 monthly readings and 3 changed lines,
alternating, after a warm-up. Prints p50 / p99 of each and their ratio (the goal: an
existing customer within 2× a new one).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from features.schemas import Application
from serving.core import Recommender
from serving.model.config import ModelConfig
from training.data import load_labelled
from training.model import fit_model
from training.synth.history import SynthConfig, generate_history, write_history


def _apps() -> tuple[Application, Application]:
    cats = ["machine_tool", "pump", "lighting", "air_compressor", "arc_welder", "split_ac"]
    new = Application.model_validate(
        {
            "industry": "machinery",
            "floor_area_m2": 6000.0,
            "equipment": [
                {"category": cats[k % len(cats)], "rated_kw": 5.0 + k, "quantity": 1 + k % 3}
                for k in range(30)
            ],
        }
    )
    existing = Application.model_validate(
        {
            "industry": "machinery",
            "application_type": "increase",
            "existing_capacity_kva": 800.0,
            "meter_readings": [
                {
                    "period": f"2025-{m:02d}",
                    "energy_kwh": 120_000.0 + 5_000 * m,
                    "max_demand_kw": 380.0,
                }
                for m in range(1, 13)
            ],
            "equipment": [
                {"category": "machine_tool", "rated_kw": 30.0, "quantity": 2},
                {"category": "air_compressor", "rated_kw": 55.0, "quantity": 1},
                {"category": "pump", "rated_kw": 15.0, "quantity": 1, "change": "remove"},
            ],
        }
    )
    return new, existing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_history(generate_history(SynthConfig(n=args.n, seed=3, existing_share=0.3)), out)
        data, _ = load_labelled(
            out / "customers.csv", out / "equipment.csv", meter_readings=out / "meter_readings.csv"
        )
    model = fit_model(data.frames, data.peak_kw, ModelConfig(num_threads=1, max_rounds=300), seed=0)
    rec = Recommender(model, "bench")
    new, existing = _apps()
    times: dict[str, list[float]] = {"new": [], "existing": []}
    for _ in range(20):
        rec.recommend(new)
        rec.recommend(existing)
    for _ in range(args.repeats):
        for name, app in (("new", new), ("existing", existing)):
            t0 = time.perf_counter()
            rec.recommend(app)
            times[name].append(time.perf_counter() - t0)
    p = {k: (np.percentile(v, 50) * 1e3, np.percentile(v, 99) * 1e3) for k, v in times.items()}
    for k, (p50, p99) in p.items():
        print(f"{k}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(
        f"existing / new: p50 {p['existing'][0] / p['new'][0]:.2f}×, p99 {p['existing'][1] / p['new'][1]:.2f}×"
    )


if __name__ == "__main__":
    main()
