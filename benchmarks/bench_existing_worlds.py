"""Existing customers on three worlds: served accuracy per application type, and what the
meter adds.

Each world (the project's demo generator and the two independent worlds of
:mod:`training.synth.worlds`, each with its own law between the metered year and the peak) is
drawn with ``--existing-share`` existing customers; the first 75 % train one model
(:func:`training.model.fit_model`, the CLI's fitting), the rest are scored through the one
decision path (:func:`training.evaluate.evaluate_model`, as ``capacity evaluate`` does)
with the contract's band. Per application type it prints the served figures beside the
world's oracle through the same policy, and for existing customers the same answer
**without the meter** (their readings dropped: what the change lines, floor area and
industry alone give) — the gain the readings bring over the equipment list as submitted.

Prints markdown and writes ``benchmarks/results/existing_worlds.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.build import HistoryFrames
from features.contract import sizing_outcome
from features.metering import METER_SUMMARY_COLUMNS
from features.validation import validate_frames
from serving.model.config import ModelConfig
from training.evaluate import evaluate_model
from training.model import fit_model
from training.synth.history import SynthConfig, generate_history
from training.synth.worlds import small_groups_world, utilisation_world

RESULTS = Path(__file__).resolve().parent / "results"


def _world(name: str, n: int, seed: int, share: float) -> dict[str, pd.DataFrame]:
    if name == "demo":
        h = generate_history(SynthConfig(n=n, seed=seed, existing_share=share, dirty_row_rate=0.0))
        assert h.meter_readings is not None
        return {"c": h.customers, "e": h.equipment, "m": h.meter_readings, "o": h.oracle}
    make = small_groups_world if name == "small_groups" else utilisation_world
    w = make(n, seed, existing_share=share)
    assert w.meter_readings is not None
    return {"c": w.customers, "e": w.equipment, "m": w.meter_readings, "o": w.oracle}


def _shares(peak: np.ndarray, kva: np.ndarray) -> dict[str, float]:
    o = sizing_outcome(peak, kva)
    return {
        "n": float(len(peak)),
        "appropriate": float(np.mean(o == "appropriate")),
        "undersized": float(np.mean(o == "undersized")),
    }


def run_world(name: str, n: int, seed: int, share: float) -> dict[str, Any]:
    raw = _world(name, n, seed, share)
    v = validate_frames(
        raw["c"].astype(str), raw["e"].astype(str), meter_readings_df=raw["m"].astype(str),
        require_label=True,
    )  # fmt: skip
    customers = v.customers.reset_index(drop=True)
    oracle = raw["o"].set_index("customer_id")["oracle_peak_kw"]
    peak = customers["peak_demand_kw"].to_numpy(dtype=float)
    frames = HistoryFrames(customers, v.equipment)
    cut = int(0.75 * len(customers))
    order = np.random.default_rng(seed).permutation(len(customers))
    train, test = np.sort(order[:cut]), np.sort(order[cut:])
    model = fit_model(frames.take(train), peak[train], ModelConfig(num_threads=1), seed=seed)
    test_frames = frames.take(test)
    ids = test_frames.customers["customer_id"].astype(str)
    result = evaluate_model(
        model, test_frames, peak[test], oracle_kw=oracle.loc[ids].to_numpy(dtype=float),
        exclude_fitted=False,
    )  # fmt: skip
    rows = result.rows
    # The same customers without their meter: the change lines, area and industry only.
    blind_customers = test_frames.customers.drop(
        columns=[c for c in METER_SUMMARY_COLUMNS if c in test_frames.customers]
    )
    blind = evaluate_model(
        model, HistoryFrames(blind_customers, test_frames.equipment), peak[test],
        exclude_fitted=False,
    )  # fmt: skip
    out: dict[str, Any] = {"rejected_customers": int(v.rejected_rows("customers"))}
    for kind, g in rows.groupby("application_type"):
        p = g["peak_demand_kw"].to_numpy()
        entry = {
            "served": _shares(p, g["model_kva"].to_numpy()),
            "oracle": _shares(p, g["oracle_kva"].to_numpy()),
        }
        if kind != "new":
            entry["without_meter"] = _shares(p, blind.rows.loc[g.index, "model_kva"].to_numpy())
        out[str(kind)] = entry
    all_p = rows["peak_demand_kw"].to_numpy()
    out["all"] = {
        "served": _shares(all_p, rows["model_kva"].to_numpy()),
        "oracle": _shares(all_p, rows["oracle_kva"].to_numpy()),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8000)
    parser.add_argument("--seeds", type=str, default="1,2")
    parser.add_argument("--existing-share", type=float, default=0.35)
    parser.add_argument("--worlds", type=str, default="demo,small_groups,utilisation")
    args = parser.parse_args()
    summary: dict[str, Any] = {}
    for name in args.worlds.split(","):
        for seed in map(int, args.seeds.split(",")):
            summary[f"{name}/{seed}"] = run_world(name, args.n, seed, args.existing_share)
            print(f"{name} seed {seed} done", flush=True)
    print(
        "\n| world | type | n | served | oracle | served/oracle | undersized | without meter |"
        "\n|---|---|---|---|---|---|---|---|"
    )
    for key, res in summary.items():
        for kind in ("new", "increase", "reduce", "suspend", "all"):
            if kind not in res:
                continue
            e = res[kind]
            s, o = e["served"], e["oracle"]
            wm = e.get("without_meter")
            print(
                f"| {key} | {kind} | {int(s['n'])} | {s['appropriate']:.3f} | {o['appropriate']:.3f} "
                f"| {s['appropriate'] / o['appropriate']:.1%} | {s['undersized']:.1%} | "
                + (f"{wm['appropriate']:.3f} ({wm['undersized']:.1%} under)" if wm else "–")
                + " |"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "existing_worlds.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
