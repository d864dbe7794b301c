"""Risk appetite on real buildings: is the stated P(undersized) true, and what does a cap cost?

The BDG1 reference (measured buildings, floor area only; see :mod:`benchmarks.bench_bdg1`
for how it becomes a contract history and which records validation leaves out) goes
through the product's own functions: ``fit_model`` on the training folds of ``--repeats``
× ``--folds`` cross-validation and the served answer of
:func:`serving.model.decision.decide` on the test folds, once per risk appetite:

* ``policy``: no cap (today's default: maximise P(appropriate), undersizing weighed 0.3);
* ``cap 10 %`` / ``cap 5 %``: ``max_undersized_risk`` 0.10 / 0.05.

The model is fitted once per fold: the appetite is a serving choice, so the three answers
differ only by the cap. Printed:

1. per appetite: appropriately sized, undersized, oversized (observed), the mean stated
   P(undersized) at the served answer, and the gap observed − stated, each with a 95 %
   bootstrap interval over buildings (a building's outcomes averaged over the repeats);
2. the reliability table: served answers binned by their stated P(undersized) (all
   appetites pooled, so the bins span 0–60 %), the mean stated against the observed
   undersized share per bin;
3. the in-band loss of each cap against the policy, paired per building.

Writes ``benchmarks/results/risk_bdg1.json``. No figure from this file enters a default.
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

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_bdg1 import bdg1_history, reference_path  # noqa: E402
from features.contract import DEFAULT_SIZING, sizing_outcome  # noqa: E402
from serving.model.config import ModelConfig  # noqa: E402
from serving.model.decision import decide  # noqa: E402
from training.model import fit_model  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
APPETITES: dict[str, float | None] = {"policy": None, "cap 10 %": 0.10, "cap 5 %": 0.05}
BINS = np.array([0.0, 0.02, 0.05, 0.10, 0.15, 0.20, 0.30, 0.45, 1.0])


def run(folds: int, repeats: int, seed: int) -> pd.DataFrame:
    """One row per (repeat, test building, appetite): stated P(undersized) and the outcome."""
    frames, peak, flags, raw = bdg1_history(reference_path())
    ids = frames.customers["customer_id"]
    flagged = set(flags.loc[flags["flag"] == "peak_below_plausible_density", "customer_id"])
    usable = np.flatnonzero(~ids.isin(flagged).to_numpy())
    industry = frames.customers["industry"].astype(str).to_numpy()
    print(f"BDG1: {len(raw)} records, {len(usable)} used ({len(flagged)} flagged)", flush=True)
    parts = []
    for rep in range(repeats):
        order = np.random.default_rng(seed + rep).permutation(usable)
        fold_of = np.arange(len(order)) % folds
        for k in range(folds):
            test, train = np.sort(order[fold_of == k]), np.sort(order[fold_of != k])
            model = fit_model(frames.take(train), peak[train], ModelConfig(), seed=42 + rep)
            held = frames.take(test)
            pred = model.predict(held)
            eng = model.engineering_columns(held, pred)
            for name, cap in APPETITES.items():
                d = decide(model, pred, eng, max_undersized_risk=cap)
                parts.append(
                    pd.DataFrame(
                        {
                            "repeat": rep,
                            "row": test,
                            "industry": industry[test],
                            "appetite": name,
                            "kva": d.final_kva,
                            "p_undersized": d.p_undersized,
                            "p_appropriate": d.p_appropriate,
                            "outcome": sizing_outcome(peak[test], d.final_kva, DEFAULT_SIZING),
                        }
                    )
                )
        print(f"repeat {rep + 1}/{repeats} done", flush=True)
    return pd.concat(parts, ignore_index=True)


def _boot(per_building: np.ndarray, rng: np.random.Generator, n_boot: int = 2000) -> list[float]:
    idx = rng.integers(0, len(per_building), (n_boot, len(per_building)))
    means = per_building[idx].mean(axis=1)
    return [float(per_building.mean()), *np.quantile(means, [0.025, 0.975]).tolist()]


def summarise(rows: pd.DataFrame, seed: int) -> dict[str, Any]:
    """Figures with 95 % bootstrap intervals over buildings."""
    rng = np.random.default_rng(seed)
    r = rows.assign(
        ok=rows["outcome"] == "appropriate",
        under=rows["outcome"] == "undersized",
        over=rows["outcome"] == "oversized",
    )
    r["gap"] = r["under"].astype(float) - r["p_undersized"]
    out: dict[str, Any] = {"overall": {}, "per_type": {}, "loss": {}, "reliability": []}
    cols = ["ok", "under", "over", "p_undersized", "gap", "kva"]
    for name in APPETITES:
        per = r[r["appetite"] == name].groupby("row")[cols].mean()
        out["overall"][name] = {c: _boot(per[c].to_numpy(dtype=float), rng) for c in cols}
        out["per_type"][name] = {
            str(t): {
                "n": int(len(g.groupby("row"))),
                "ok": float(g["ok"].mean()),
                "under": float(g["under"].mean()),
                "stated": float(g["p_undersized"].mean()),
            }
            for t, g in r[r["appetite"] == name].groupby("industry")
        }
    base = r[r["appetite"] == "policy"].groupby("row")[["ok", "under", "kva"]].mean()
    for name in list(APPETITES)[1:]:
        cap = r[r["appetite"] == name].groupby("row")[["ok", "under", "kva"]].mean()
        out["loss"][name] = {
            "in_band_loss": _boot((base["ok"] - cap["ok"]).to_numpy(dtype=float), rng),
            "undersized_drop": _boot((base["under"] - cap["under"]).to_numpy(dtype=float), rng),
            "kva_ratio": float((cap["kva"] / base["kva"]).mean()),
        }
    b = np.digitize(r["p_undersized"].to_numpy(), BINS[1:-1])
    for k in range(len(BINS) - 1):
        g = r[b == k]
        if len(g) == 0:
            continue
        under = g["under"].to_numpy(dtype=float)
        idx = rng.integers(0, len(under), (1000, len(under)))
        lo, hi = np.quantile(under[idx].mean(axis=1), [0.025, 0.975])
        out["reliability"].append(
            {
                "bin": f"{BINS[k]:.0%}–{BINS[k + 1]:.0%}",
                "n": int(len(g)),
                "stated": float(g["p_undersized"].mean()),
                "observed": float(under.mean()),
                "observed_low": float(lo),
                "observed_high": float(hi),
            }
        )
    return out


def _ci(v: list[float]) -> str:
    """'54.2 (50.1–58.1)': a share and its interval, in %."""
    return f"{100 * v[0]:.1f} ({100 * v[1]:.1f}–{100 * v[2]:.1f})"


def print_tables(s: dict[str, Any], folds: int, repeats: int) -> None:
    """Markdown tables of :func:`summarise`."""
    print(f"\n{repeats}× {folds}-fold CV; 95 % bootstrap intervals over buildings; shares in %\n")
    print(
        "| appetite | appropriately sized | undersized (observed) | stated P(undersized) | "
        "observed − stated | oversized |"
    )
    print("|---|---|---|---|---|---|")
    for name, o in s["overall"].items():
        print(
            f"| {name} | {_ci(o['ok'])} | {_ci(o['under'])} | {_ci(o['p_undersized'])} | "
            f"{_ci(o['gap'])} | {_ci(o['over'])} |"
        )
    print("\n| appetite | type | buildings | appropriately sized | undersized | stated |")
    print("|---|---|---|---|---|---|")
    for name, per in s["per_type"].items():
        for t, o in per.items():
            print(
                f"| {name} | {t} | {o['n']} | {100 * o['ok']:.1f} | {100 * o['under']:.1f} | "
                f"{100 * o['stated']:.1f} |"
            )
    print("\nReliability (all appetites' answers pooled, binned by stated P(undersized)):\n")
    print("| stated P(undersized) bin | answers | mean stated | observed undersized (95 %) |")
    print("|---|---|---|---|")
    for b in s["reliability"]:
        print(
            f"| {b['bin']} | {b['n']} | {100 * b['stated']:.1f} | {100 * b['observed']:.1f} "
            f"({100 * b['observed_low']:.1f}–{100 * b['observed_high']:.1f}) |"
        )
    print("\n| cap | in-band loss vs policy (points) | undersized drop (points) | kVA × |")
    print("|---|---|---|---|")
    for name, o in s["loss"].items():
        print(
            f"| {name} | {_ci(o['in_band_loss'])} | {_ci(o['undersized_drop'])} | "
            f"{o['kva_ratio']:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "risk_bdg1.json"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = run(args.folds, args.repeats, args.seed)
    summary = summarise(rows, args.seed)
    summary["seconds"] = time.perf_counter() - t0
    summary["folds"], summary["repeats"] = args.folds, args.repeats
    print_tables(summary, args.folds, args.repeats)
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True, parents=True)
    out.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
