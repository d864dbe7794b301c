"""Where the points to the oracle go: model error, calibration, bounds and the tier policy.

On the independent worlds of :mod:`training.synth.worlds` (never our generator), per world and
seed: ``fit_model`` on ``--train`` customers, then on ``--score`` OTHER customers the
accuracy (the contract's fixed band) of a chain of answers, each changing one thing:

* ``oracle``: the world's own expected peak, a calibration fitted on its true residuals
  (cross-fitted on two halves of the scored customers), the default tier policy
  (:func:`training.evaluate.oracle_capacities`, what ``capacity evaluate`` reports);
* ``ideal_cal``: the MODEL's prediction with that same ideal calibration (fitted on the
  model's own residuals of the scored customers, cross-fitted on two halves): oracle −
  ideal_cal is the **model (point) error**;
* ``policy_only``: the model's prediction with its own served calibration and the
  default policy, no sanity bounds: ideal_cal − policy_only is the **calibration** loss;
* ``served``: what users get (:func:`serving.model.decision.decide`): policy_only −
  served is what the **bounds** change.

The **tier policy** term is ideal_cal with the undersize weight at 0 (pure "maximise
P(appropriate)") minus ideal_cal with the default weight: what the default's preference
for fewer undersized answers costs in band given the model's prediction.

Prints the decomposition per world (mean and 95 % t-interval over seeds) and per industry
(pooled over seeds, industries with at least ``--min-industry`` scored customers in
all), and
writes ``benchmarks/results/decompose.json``. ``--compare JSON`` instead runs a changed
configuration and the base one paired on the same worlds, seeds and customers and prints
the per-world differences (served accuracy, model error, undersized) with t-intervals.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from features.build import HistoryFrames  # noqa: E402
from features.contract import sizing_outcome  # noqa: E402
from features.validation import validate_frames  # noqa: E402
from serving.model.config import ModelConfig  # noqa: E402
from serving.model.decision import decide  # noqa: E402
from serving.model.policy import PolicyConfig  # noqa: E402
from training.evaluate import oracle_capacities  # noqa: E402
from training.model import fit_model  # noqa: E402
from training.synth.history import SynthConfig, generate_history  # noqa: E402
from training.synth.worlds import WORLDS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CHAIN = ("oracle", "ideal_cal", "ideal_cal_w0", "policy_only", "served")


def world_frames(
    name: str, n: int, seed: int, noise: float | None
) -> tuple[HistoryFrames, np.ndarray, np.ndarray]:
    """A world's validated frames, peaks and oracle peaks (``noise`` None: its default).

    ``ours`` is the demo generator (:mod:`training.synth.history`): a change must not
    hurt it either, though nothing is tuned to it. Its dirty rows are rejected by
    validation, so it is drawn 10 % larger.
    """
    if name == "ours":
        if noise is not None:
            raise ValueError("--noise applies to the independent worlds only")
        hist = generate_history(SynthConfig(n=int(n * 1.1), seed=seed))
        customers, equipment, oracle_rows = hist.customers, hist.equipment, hist.oracle
    else:
        kwargs = {} if noise is None else {"noise": noise}
        world = WORLDS[name](n, seed, **kwargs)
        customers, equipment, oracle_rows = world.customers, world.equipment, world.oracle
    validated = validate_frames(customers, equipment, require_label=True)
    clean = validated.customers.reset_index(drop=True)
    frames = HistoryFrames(clean, validated.equipment.reset_index(drop=True))
    oracle = oracle_rows.set_index("customer_id")["oracle_peak_kw"]
    ids = clean["customer_id"].astype(str)
    return (
        frames,
        clean["peak_demand_kw"].to_numpy(dtype=float),
        oracle.reindex(ids).to_numpy(dtype=float),
    )


def one_run(
    name: str,
    n_train: int,
    n_score: int,
    seed: int,
    noise: float | None,
    config: ModelConfig | None = None,
) -> pd.DataFrame:
    """Outcomes of every answer of the chain, one row per scored customer."""
    frames, peak, oracle = world_frames(name, n_train + n_score, seed, noise)
    n = len(peak)
    train, score = np.arange(min(n_train, n - n_score)), np.arange(n - n_score, n)
    config = config or ModelConfig()
    model = fit_model(frames.take(train), peak[train], config, seed=42 + seed)
    held = frames.take(score)
    y = peak[score]
    pred = model.predict(held)
    eng = model.engineering_columns(held, pred)
    served = decide(model, pred, eng)
    unbounded = decide(model, pred, eng, apply_sanity_bounds=False)
    mgs = model.calibrator.min_group_size
    policy, pure = config.policy, PolicyConfig(undersize_weight=0.0)
    kva = {
        "oracle": oracle_capacities(oracle[score], y, pred.groups, policy, seed, mgs),
        "ideal_cal": oracle_capacities(pred.peak_kw, y, pred.groups, policy, seed, mgs),
        "ideal_cal_w0": oracle_capacities(pred.peak_kw, y, pred.groups, pure, seed, mgs),
        "policy_only": unbounded.final_kva,
        "served": served.final_kva,
    }
    out = pd.DataFrame(
        {
            "world": name,
            "seed": seed,
            "industry": held.customers["industry"].astype(str).to_numpy(),
            "basis": served.basis,
        }
    )
    for k, v in kva.items():
        o = sizing_outcome(y, v, config.policy.sizing)
        out[f"{k}_ok"] = o == "appropriate"
        out[f"{k}_under"] = o == "undersized"
    return out


def terms(frame: pd.DataFrame) -> dict[str, float]:
    """Accuracies of the chain and the decomposition of oracle − served (points)."""
    acc = {k: float(frame[f"{k}_ok"].mean()) for k in CHAIN}
    under = {k: float(frame[f"{k}_under"].mean()) for k in CHAIN}
    return {
        **{f"acc_{k}": v for k, v in acc.items()},
        **{f"under_{k}": v for k, v in under.items()},
        "gap": acc["oracle"] - acc["served"],
        "model_error": acc["oracle"] - acc["ideal_cal"],
        "calibration": acc["ideal_cal"] - acc["policy_only"],
        "bounds": acc["policy_only"] - acc["served"],
        "policy_weight": acc["ideal_cal_w0"] - acc["ideal_cal"],
        "share_of_oracle": acc["served"] / acc["oracle"],
        "n": float(len(frame)),
    }


def _t(values: list[float]) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return float(v.mean()), half


def paired(
    worlds: list[str],
    seeds: list[int],
    n_train: int,
    n_score: int,
    noise: float | None,
    change: ModelConfig,
    base: ModelConfig | None = None,
) -> dict[str, dict[str, Any]]:
    """``change`` against ``base`` (the defaults) on the same worlds, seeds and customers.

    Per world: the per-seed differences (change − base, points) of the served accuracy,
    the model error and the undersized share, with their mean and 95 % t-interval.
    """
    out: dict[str, dict[str, Any]] = {}
    print(
        f"\n{n_train:,} training customers, {n_score:,} scored, seeds {seeds}: change − base "
        "(points, 95 % t-interval over seeds)\n"
    )
    print("| world | base served | changed served | served | model error | undersized |")
    print("|---|---|---|---|---|---|")
    for name in worlds:
        diffs: dict[str, list[float]] = {"served": [], "model_error": [], "undersized": []}
        acc: dict[str, list[float]] = {"base": [], "change": []}
        for seed in seeds:
            b = terms(one_run(name, n_train, n_score, seed, noise, base))
            c = terms(one_run(name, n_train, n_score, seed, noise, change))
            diffs["served"].append(c["acc_served"] - b["acc_served"])
            diffs["model_error"].append(c["model_error"] - b["model_error"])
            diffs["undersized"].append(c["under_served"] - b["under_served"])
            acc["base"].append(b["acc_served"])
            acc["change"].append(c["acc_served"])
            print(
                f"{name} seed {seed}: served {b['acc_served']:.4f} -> {c['acc_served']:.4f}",
                flush=True,
            )
        summ = {k: _t(v) for k, v in diffs.items()}
        out[name] = {"per_seed": diffs, "accuracy": acc, "mean_half": summ}

        def pts(k: str, s: dict[str, tuple[float, float]] = summ) -> str:
            return f"{100 * s[k][0]:+.2f} (±{100 * s[k][1]:.2f})"

        print(
            f"| {name} | {np.mean(acc['base']):.4f} | {np.mean(acc['change']):.4f} | "
            f"{pts('served')} | {pts('model_error')} | {pts('undersized')} |",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--worlds", default=",".join(WORLDS), help="comma-separated; 'ours' is the demo generator"
    )
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--score", type=int, default=5000)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--noise", type=float, default=None, help="override each world's")
    parser.add_argument("--min-industry", type=int, default=200)
    parser.add_argument(
        "--config", default=None, help="ModelConfig fields as JSON (an experiment, not a default)"
    )
    parser.add_argument(
        "--compare",
        default=None,
        help="ModelConfig fields as JSON: run it and --config (or the defaults) paired on "
        "the same worlds, seeds and customers and print the differences instead",
    )
    parser.add_argument("--out", default=str(RESULTS / "decompose.json"))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.compare:
        base = ModelConfig.model_validate_json(args.config) if args.config else ModelConfig()
        update = json.loads(args.compare)
        unknown = sorted(set(update) - set(ModelConfig.model_fields))
        if unknown:  # ModelConfig ignores extra keys: a typo would compare a config to itself
            parser.error(f"--compare: not ModelConfig fields: {', '.join(unknown)}")
        change = ModelConfig.model_validate({**base.model_dump(), **update})
        compared = paired(
            args.worlds.split(","), seeds, args.train, args.score, args.noise, change, base
        )
        out = Path(args.out)
        out.parent.mkdir(exist_ok=True, parents=True)
        out.write_text(
            json.dumps({"args": vars(args), "paired": compared}, indent=1, default=float)
        )
        return
    t0 = time.perf_counter()
    frames = []
    for name in args.worlds.split(","):
        for seed in seeds:
            config = ModelConfig.model_validate_json(args.config) if args.config else None
            frames.append(one_run(name, args.train, args.score, seed, args.noise, config))
            print(f"{name} seed {seed} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    rows = pd.concat(frames, ignore_index=True)
    keys = ["gap", "model_error", "calibration", "bounds", "policy_weight"]
    result: dict[str, Any] = {"args": vars(args), "worlds": {}, "industries": {}}
    print(
        f"\n{args.train:,} training customers, {args.score:,} scored, seeds {args.seeds}, "
        f"noise {args.noise or 'world default'}; points (95 % t-interval over seeds)\n"
    )
    print(
        "| world | oracle | served | of the oracle | gap | model error | calibration | "
        "bounds | policy weight (w0 − w) | undersized served / oracle |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, g in rows.groupby("world"):
        per_seed = [terms(s) for _, s in g.groupby("seed")]
        summ = {k: _t([p[k] for p in per_seed]) for k in per_seed[0]}
        result["worlds"][str(name)] = {"per_seed": per_seed, "mean_half": summ}

        def pts(k: str, s: dict[str, tuple[float, float]] = summ) -> str:
            m, h = s[k]
            return f"{100 * m:+.2f} (±{100 * h:.2f})"

        print(
            f"| {name} | {summ['acc_oracle'][0]:.3f} | {summ['acc_served'][0]:.3f} | "
            f"{100 * summ['share_of_oracle'][0]:.1f} % (±{100 * summ['share_of_oracle'][1]:.1f}) | "
            + " | ".join(pts(k) for k in keys)
            + f" | {100 * summ['under_served'][0]:.1f} / {100 * summ['under_oracle'][0]:.1f} % |"
        )
    # The same gap by what the answer was sized from: at 500 customers the 5 % of
    # applications with a floor area and no list carried a third of it (their industry's
    # peak per m² is learnt from ~1 area-only customer, the oracle knows it).
    print(
        "\nBy basis of the answer (pooled over seeds): the share of scored customers, their "
        "accuracy, and the points of the world's gap they carry (share × their gap):\n"
    )
    print(
        "| world | basis | share | oracle | served | undersized served / oracle "
        "| points of the world's gap |"
    )
    print("|---|---|---|---|---|---|---|")
    result["bases"] = {}
    for name, g in rows.groupby("world"):
        result["bases"][str(name)] = {}
        for basis, gb in g.groupby("basis"):
            share = len(gb) / len(g)
            t = terms(gb)
            result["bases"][str(name)][str(basis)] = {**t, "share": share}
            print(
                f"| {name} | {basis} | {100 * share:.1f} % | {t['acc_oracle']:.3f} | "
                f"{t['acc_served']:.3f} | {100 * t['under_served']:.1f} / "
                f"{100 * t['under_oracle']:.1f} % | {100 * share * t['gap']:+.2f} |"
            )
    print(
        f"\nPer industry (pooled over seeds; ≥ {args.min_industry} scored customers in all); "
        "points below the world's served figure, the oracle's own points below the world's "
        "oracle (what no model can close: the industry's peaks are harder to size), and the "
        "decomposition:\n"
    )
    print(
        "| world | industry | n | served | below overall | oracle | oracle below its overall | "
        "model error | calibration | bounds | policy weight |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, g in rows.groupby("world"):
        overall = float(g["served_ok"].mean())
        overall_oracle = float(g["oracle_ok"].mean())
        per = []
        for ind, gi in g.groupby("industry"):
            if len(gi) < args.min_industry:
                continue
            t = terms(gi)
            t["below_overall"] = overall - t["acc_served"]
            t["oracle_below_overall"] = overall_oracle - t["acc_oracle"]
            per.append((str(ind), t))
        per.sort(key=lambda x: -x[1]["below_overall"])
        result["industries"][str(name)] = dict(per)
        for ind, t in per:
            print(
                f"| {name} | {ind} | {t['n']:.0f} | {t['acc_served']:.3f} | "
                f"{100 * t['below_overall']:+.1f} | {t['acc_oracle']:.3f} | "
                f"{100 * t['oracle_below_overall']:+.1f} | "
                + " | ".join(f"{100 * t[k]:+.1f}" for k in keys[1:])
                + " |"
            )
        # Issue 23's goal (no industry more than 3 points below the overall figure), and
        # the part of each miss the oracle shares: an industry the oracle itself sizes 10
        # points worse than the rest misses it whatever the model.
        misses = [(ind, t) for ind, t in per if t["below_overall"] > 0.03]
        for ind, t in misses:
            print(
                f"  {name}: {ind} is {100 * t['below_overall']:.1f} points below overall; "
                f"the oracle is {100 * t['oracle_below_overall']:+.1f} below its own, the "
                f"served answer {100 * (t['acc_oracle'] - t['acc_served']):+.1f} below the "
                "oracle's in this industry"
            )
    result["seconds"] = time.perf_counter() - t0
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True, parents=True)
    out.write_text(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
