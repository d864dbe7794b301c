"""The installed-base review on real buildings: are its 减容 candidates and overload risks right?

The BDG1 reference as existing customers (``bench_bdg1_metered.metered_history``: twelve
months of energy from each building's real mean load, a capacity in service from handbook
design densities, never fitted on BDG1). For each of ``--repeats`` random 340/rest splits
the project's own commands run as a utility would: ``capacity train --meter-readings`` on
the 340, ``capacity review`` on the rest (their peaks withheld). The review's verdicts are
then checked against each building's measured peak with the contract's band (0.40 ≤ ρ ≤
1.00 at pf 0.9):

* candidates for 减容: the share whose capacity today really is oversized, and the share
  the recommended smaller capacity would undersize (the risk the utility takes);
* overload risks: the share really undersized today;
* P(undersized today): claimed on average against observed.

Prints markdown and writes ``benchmarks/results/review_bdg1.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.contract import sizing_outcome

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bdg1 import reference_path  # noqa: E402
from bench_bdg1_metered import N_TRAIN, _run, metered_history  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def run(repeats: int, seed: int) -> dict[str, Any]:
    """Train and review ``repeats`` times; the pooled verdicts checked against the peaks."""
    customers, equipment, readings = metered_history(reference_path())
    density = customers["peak_demand_kw"] * 1000.0 / customers["floor_area_m2"]
    customers = customers[density >= 1.0].reset_index(drop=True)  # the contract's flag
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        env["CAPACITY_HOME"] = str(Path(tmp) / "home")
        for k in range(repeats):
            order = np.random.default_rng(seed + k).permutation(len(customers))
            d = Path(tmp) / f"r{k}"
            d.mkdir()
            paths = {}
            for part, rows in (("train", order[:N_TRAIN]), ("review", order[N_TRAIN:])):
                c = customers.iloc[rows]
                if part == "review":
                    c = c.drop(columns=["peak_demand_kw"])
                c.to_csv(d / f"{part}-customers.csv", index=False)
                readings[readings["customer_id"].isin(c["customer_id"])].to_csv(
                    d / f"{part}-meter.csv", index=False
                )
                paths[part] = (d / f"{part}-customers.csv", d / f"{part}-meter.csv")
            equipment.to_csv(d / "equipment.csv", index=False)
            _run("train", "-c", paths["train"][0], "-e", d / "equipment.csv", "--meter-readings",
                 paths["train"][1], "--out", d / "bundle", "--no-mlflow", "--seed", str(seed + k),
                 env=env)  # fmt: skip
            _run("review", "-c", paths["review"][0], "-r", paths["review"][1], "-m", d / "bundle",
                 "-o", d / "review", env=env)  # fmt: skip
            table = pd.read_csv(d / "review" / "review.csv")
            table["repeat"] = k
            frames.append(table)
    pooled = pd.concat(frames, ignore_index=True)
    peak = customers.set_index("customer_id").loc[pooled["customer_id"], "peak_demand_kw"]
    pooled["peak_kw"] = peak.to_numpy()
    today = sizing_outcome(pooled["peak_kw"].to_numpy(), pooled["existing_capacity_kva"].to_numpy())
    after = sizing_outcome(pooled["peak_kw"].to_numpy(), pooled["recommended_kva"].to_numpy())
    cand = (pooled["verdict"] == "reduce_candidate").to_numpy()
    risk = (pooled["verdict"] == "overload_risk").to_numpy()
    over, under = today == "oversized", today == "undersized"

    def share(mask: np.ndarray, hit: np.ndarray) -> float | None:
        return float(np.mean(hit[mask])) if mask.any() else None

    out: dict[str, Any] = {
        "buildings_reviewed": int(len(pooled)),
        "repeats": repeats,
        "share_oversized_today": float(np.mean(over)),
        "share_undersized_today": float(np.mean(under)),
        "reduce_candidates": int(cand.sum()),
        "candidates_really_oversized_today": share(cand, over),
        "candidates_undersized_after": share(cand, after == "undersized"),
        "candidates_appropriate_after": share(cand, after == "appropriate"),
        "oversized_today_found": share(over, cand),
        "overload_risks": int(risk.sum()),
        "risks_really_undersized_today": share(risk, under),
        "undersized_today_found": share(under, risk),
        "p_undersized_today_claimed": float(pooled["p_undersized_today"].mean()),
        "undersized_today_observed": float(np.mean(under)),
        "yearly_saving_yuan_per_review": float(
            pooled.loc[cand, "yearly_saving_yuan"].sum() / max(repeats, 1)
        ),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    s = run(args.repeats, args.seed)
    pct = lambda v: "—" if v is None else f"{v:.1%}"  # noqa: E731
    print(
        f"BDG1 installed-base review: {s['buildings_reviewed']} building reviews over {s['repeats']} splits"
    )
    print(
        f"today: {pct(s['share_oversized_today'])} oversized, {pct(s['share_undersized_today'])} undersized (measured peaks)\n"
    )
    print("| figure | value |\n|---|---|")
    rows = [
        ("candidates for 减容", str(s["reduce_candidates"])),
        ("  of them really oversized today", pct(s["candidates_really_oversized_today"])),
        (
            "  of them appropriate at the recommended capacity",
            pct(s["candidates_appropriate_after"]),
        ),
        ("  of them undersized at the recommended capacity", pct(s["candidates_undersized_after"])),
        ("oversized-today buildings found as candidates", pct(s["oversized_today_found"])),
        ("overload risks", str(s["overload_risks"])),
        ("  of them really undersized today", pct(s["risks_really_undersized_today"])),
        ("undersized-today buildings found as risks", pct(s["undersized_today_found"])),
        (
            "P(undersized today) claimed / observed",
            f"{pct(s['p_undersized_today_claimed'])} / {pct(s['undersized_today_observed'])}",
        ),
        (
            "yearly saving of the candidates, per review",
            f"{s['yearly_saving_yuan_per_review']:,.0f} yuan",
        ),
    ]
    for name, value in rows:
        print(f"| {name} | {value} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "review_bdg1.json").write_text(json.dumps(s, indent=2))


if __name__ == "__main__":
    main()
