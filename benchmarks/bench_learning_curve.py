"""Learning curve: served accuracy, undersized share and interval coverage by history size.

For each history (ours and the independently made worlds of :mod:`training.synth.worlds`) one
large world is generated; the model is fitted (:func:`training.model.fit_model`, the CLI's
fitting) on its first 100, 250, 500, 1,000, 2,000, 5,000 and 20,000 customers and every
fit is scored on the same ``--score`` OTHER customers through the one decision path
(:func:`training.evaluate.evaluate_model` → :func:`serving.model.decision.decide`),
beside the demand-coefficient method and the oracle (the world's own expected peak
pushed through the same policy). Coverage is that of the served 90 % interval.

Goal (issue 10): at 500 customers at least 95 % of the 20,000-customer accuracy, and the
90 % interval's coverage within 3 points of nominal at every size. Goal (issue 23): the
served accuracy as a share of the oracle's at 20,000 / 2,000 / 500 customers ≥ 99 / 98 /
97 %, and ≥ 97 % on a noisy world.

``--noise`` repeats the curve at other customer-level noise levels of the independent
worlds (``default`` keeps each world's own), ``--seeds`` over several worlds of each kind;
the summary table gives the mean over seeds and the 95 % t-interval of the share of the
oracle.

``print_industries`` gives, per history, noise and size, the worst industry (pooled over
seeds, at least 200 scored customers per seed) against the overall figure (goal: none
more than 3 points below).

Prints markdown tables and writes ``benchmarks/results/learning_curve.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from features.build import HistoryFrames
from features.validation import validate_frames
from serving.model.config import ModelConfig
from training.evaluate import evaluate_model
from training.model import fit_model
from training.synth.history import SynthConfig, generate_history
from training.synth.worlds import WORLDS

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (100, 250, 500, 1000, 2000, 5000, 20000)


def _world(
    name: str, n: int, seed: int, noise: float | None = None
) -> tuple[HistoryFrames, np.ndarray, np.ndarray]:
    """Frames, peaks and oracle peaks of ``n`` customers of one history."""
    if name == "ours":
        if noise is not None:
            raise ValueError("--noise applies to the independent worlds only")
        hist = generate_history(SynthConfig(n=n, seed=seed))
        customers, equipment = hist.customers, hist.equipment
        oracle = hist.oracle.set_index("customer_id")["oracle_peak_kw"]
    else:
        world = WORLDS[name](n, seed, **({} if noise is None else {"noise": noise}))
        customers, equipment = world.customers, world.equipment
        oracle = world.oracle.set_index("customer_id")["oracle_peak_kw"]
    # Through the contract's validation, as a utility's file would go (dirty rows out).
    validated = validate_frames(customers, equipment, require_label=True)
    clean = validated.customers.reset_index(drop=True)
    frames = HistoryFrames(clean, validated.equipment.reset_index(drop=True))
    ids = clean["customer_id"].astype(str)
    peak = clean["peak_demand_kw"].to_numpy(dtype=float)
    return frames, peak, oracle.reindex(ids).to_numpy(dtype=float)


def run(
    name: str, sizes: tuple[int, ...], n_score: int, seed: int, noise: float | None = None
) -> list[dict[str, Any]]:
    """Fit at every size on the first customers and score the same held-out ones."""
    # 10 % more than needed: our generator's dirty rows are rejected by validation.
    frames, peak, oracle = _world(name, int((max(sizes) + n_score) * 1.1), seed, noise)
    n = len(peak)
    score = np.arange(n - n_score, n)
    score_frames = frames.take(score)
    rows: list[dict[str, Any]] = []
    for size in sizes:
        t0 = time.perf_counter()
        train = np.arange(min(size, n - n_score))
        model = fit_model(frames.take(train), peak[train], ModelConfig(), seed=42)
        fit_s = time.perf_counter() - t0
        ev = evaluate_model(
            model, score_frames, peak[score], oracle_kw=oracle[score], exclude_fitted=False
        )
        m = ev.metrics()
        area = ev.rows["base_source"] == "area"
        p = ev.rows["peak_demand_kw"]
        cover = (p >= ev.rows["peak_low90_kw"]) & (p <= ev.rows["peak_high90_kw"])
        rows.append(
            {
                "history": name,
                "noise": "default" if noise is None else noise,
                "seed": seed,
                "n_train": int(len(train)),
                "served_accuracy": m["model_accuracy"],
                "undersized": m["model_undersized"],
                "coverage90": m["coverage90"],
                "coverage80": m["coverage80"],
                "area_only_coverage90": float(cover[area].mean()) if area.any() else float("nan"),
                "engineering_accuracy": m.get("engineering_accuracy", float("nan")),
                "oracle_accuracy": m.get("oracle_accuracy", float("nan")),
                "oracle_undersized": m.get("oracle_undersized", float("nan")),
                # Per industry (scored customers, served and oracle accuracy): the goal
                # "no industry with >= 200 test customers more than 3 points below".
                "industries": {
                    str(ind): [
                        int(g["n"]),
                        float(g["model_accuracy"]),
                        float(g.get("oracle_accuracy", float("nan"))),
                    ]
                    for ind, g in ev.per_industry.iterrows()
                },
                "manual_review": float(ev.rows["manual_review"].mean()),
                "fit_seconds": fit_s,
                # The machine and the moment: a shared machine's load moves fit_seconds.
                "measured_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg()[0],
            }
        )
        r = rows[-1]
        r["share_of_oracle"] = r["served_accuracy"] / r["oracle_accuracy"]
        print(
            f"{name:13s} noise {r['noise']} seed {seed} n={r['n_train']:6d} served "
            f"{r['served_accuracy']:.3f} under "
            f"{r['undersized']:.3f} cov90 {r['coverage90']:.3f} eng "
            f"{r['engineering_accuracy']:.3f} oracle {r['oracle_accuracy']:.3f} "
            f"({fit_s:.1f} s)",
            flush=True,
        )
    top = rows[-1]["served_accuracy"]
    for r in rows:
        r["share_of_largest"] = r["served_accuracy"] / top if top > 0 else float("nan")
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """The learning curve as a markdown table."""
    print(
        "\n| history | noise | seed | training customers | served accuracy | share of largest | undersized | "
        "90 % coverage | area-only 90 % cov. | engineering | oracle | manual review |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['history']} | {r['noise']} | {r['seed']} | {r['n_train']:,} | {r['served_accuracy']:.3f} | "
            f"{r['share_of_largest']:.3f} | {r['undersized']:.1%} | {r['coverage90']:.3f} | "
            f"{r['area_only_coverage90']:.3f} | {r['engineering_accuracy']:.3f} | "
            f"{r['oracle_accuracy']:.3f} | {r['manual_review']:.1%} |"
        )


def print_summary(rows: list[dict[str, Any]]) -> None:
    """Mean over seeds per history, noise and size, with the oracle beside each point."""
    from scipy import stats

    keys: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        keys.setdefault((r["history"], str(r["noise"]), r["n_train"]), []).append(r)
    print(
        "\n| history | noise | training customers | seeds | served accuracy | oracle | "
        "of the oracle (95 % t-interval) | undersized (oracle's) | 90 % coverage |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (hist, noise, n), group in keys.items():
        share = np.array([g["share_of_oracle"] for g in group])
        half = (
            float(stats.t.ppf(0.975, len(share) - 1) * share.std(ddof=1) / np.sqrt(len(share)))
            if len(share) > 1
            else float("nan")
        )

        def mean(k: str, g: list[dict[str, Any]] = group) -> float:
            return float(np.mean([x[k] for x in g]))

        print(
            f"| {hist} | {noise} | {n:,} | {len(group)} | {mean('served_accuracy'):.3f} | "
            f"{mean('oracle_accuracy'):.3f} | {100 * share.mean():.1f} % (±{100 * half:.1f}) | "
            f"{mean('undersized'):.1%} ({mean('oracle_undersized'):.1%}) | "
            f"{mean('coverage90'):.3f} |"
        )


def print_industries(rows: list[dict[str, Any]], min_n: int = 200) -> None:
    """Worst industries per history, noise and size, pooled over seeds.

    An industry counts when it has on average at least ``min_n`` scored customers per
    seed; its served accuracy pooled over seeds is compared with the pooled overall one.
    """
    keys: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        if "industries" in r:
            keys.setdefault((r["history"], str(r["noise"]), r["n_train"]), []).append(r)
    print(
        f"\n| history | noise | training customers | industries (≥ {min_n} scored per seed) | "
        "worst industry: served (oracle) | points below overall | more than 3 points below |"
    )
    print("|---|---|---|---|---|---|---|")
    for (hist, noise, n), group in keys.items():
        total: dict[str, list[float]] = {}
        for g in group:
            for ind, (k, acc, orc) in g["industries"].items():
                t = total.setdefault(ind, [0.0, 0.0, 0.0])
                t[0] += k
                t[1] += k * acc
                t[2] += k * orc
        n_all = sum(t[0] for t in total.values())
        overall = sum(t[1] for t in total.values()) / n_all
        big = {i: t for i, t in total.items() if t[0] >= min_n * len(group)}
        if not big:
            continue
        below = {i: overall - t[1] / t[0] for i, t in big.items()}
        worst = max(below, key=lambda i: below[i])
        t = big[worst]
        over3 = sorted(i for i, b in below.items() if b > 0.03)
        print(
            f"| {hist} | {noise} | {n:,} | {len(big)} | {worst} {t[1] / t[0]:.3f} "
            f"({t[2] / t[0]:.3f}) | {100 * below[worst]:+.1f} | "
            f"{', '.join(over3) if over3 else 'none'} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--score", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--worlds", default="ours,small_groups,utilisation")
    parser.add_argument("--seeds", default=None, help="comma list (default: --seed)")
    parser.add_argument(
        "--noise", default="default", help="comma list of noise levels, 'default' = the world's"
    )
    parser.add_argument("--out", default=str(RESULTS / "learning_curve.json"))
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(","))
    rows: list[dict[str, Any]] = []
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    for noise_text in args.noise.split(","):
        noise = None if noise_text == "default" else float(noise_text)
        for name in args.worlds.split(","):
            if name == "ours" and noise is not None:
                continue
            for seed in seeds:
                rows += run(name, sizes, args.score, seed, noise)
    print_table(rows)
    print_summary(rows)
    print_industries(rows)
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True, parents=True)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
