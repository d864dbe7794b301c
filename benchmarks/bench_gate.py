"""The promotion gate's decisions on the candidates of issues 24 and 26, with their figures.

On one synthetic history (``--n`` customers), a champion is trained and promoted, then
each candidate is registered and put through :func:`training.registry.store.promote`:

* ``seed``: the champion's configuration with another seed (must pass: a seed is noise);
* ``widened``: the policy's "appropriate" band widened to 0.25–1.6 (judged on the
  contract's 0.40–1.00 it undersizes: must be refused);
* ``untrained``: 8 rounds, 4 leaves, sanity bounds off (must be refused);
* ``junk``: a model trained on one customer's record copied ``--junk`` times with its
  peak ten times its installed kW (must be refused for its history).

Prints one block per candidate (decision, reasons, exact paired tests) and writes
``benchmarks/results/gate.json``. CPU-heavy: run with ``nice``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from features.contract import SizingDefinition
from serving.model.bounds import BoundsConfig
from serving.model.config import ModelConfig
from serving.model.policy import PolicyConfig
from serving.settings import Settings
from training.data import load_labelled
from training.registry.store import promote
from training.synth.history import SynthConfig, generate_history, write_history
from training.synth.worlds import junk_world
from training.train import TrainConfig, train_from_files


def main() -> None:
    """Run the scenarios and print the decisions."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--junk", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/gate.json"))
    args = ap.parse_args()
    base = ModelConfig(max_rounds=args.rounds, num_threads=1)
    candidates = {
        "seed": (base, 2, None),
        "widened": (
            base.model_copy(
                update={"policy": PolicyConfig(sizing=SizingDefinition(low=0.25, high=1.6))}
            ),
            1,
            None,
        ),
        "untrained": (
            ModelConfig(max_rounds=8, num_leaves=4, num_threads=1, bounds=BoundsConfig(enabled=False)),
            1,
            None,
        ),
        "junk": (base, 1, "junk"),
    }  # fmt: skip
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        hist = root / "history"
        write_history(generate_history(SynthConfig(n=args.n, seed=3)), hist)
        settings = Settings(home=root / "home")

        def train(name: str, cust: Path, eq: Path, model: ModelConfig, seed: int) -> str:
            r = train_from_files(
                cust, eq, root / "b" / name,
                TrainConfig(seed=seed, model=model, make_plots=False), settings,
            )  # fmt: skip
            assert r.run is not None
            return r.run.version

        champ = train("champion", hist / "customers.csv", hist / "equipment.csv", base, 1)
        first = promote(settings, champ, reason="benchmark champion", min_accuracy=0.5)
        print(
            f"champion v{champ}: {first.outcome}, holdout accuracy {first.candidate_accuracy:.4f}"
        )
        data, _ = load_labelled(hist / "customers.csv", hist / "equipment.csv")
        for name, (model, seed, kind) in candidates.items():
            cust, eq = hist / "customers.csv", hist / "equipment.csv"
            if kind == "junk":
                cust, eq = junk_world(
                    data.frames.customers, data.frames.equipment, root / "junk", n=args.junk
                )
            version = train(name, cust, eq, model, seed)
            d = promote(settings, version, reason=f"benchmark {name}", min_accuracy=0.5)
            print(f"\n== {name} (v{version}): {d.outcome}")
            for r in d.refusals:
                print(f"  refused: {r}")
            for part in ("comparison", "undersized", "reverse", "reverse_undersized"):
                c = getattr(d, part)
                if c is not None:
                    print(f"  {part}: {c.describe()}")
            if d.history is not None:
                print(f"  history: {d.history.as_dict()}")
            results[name] = {
                "outcome": d.outcome,
                "refusals": list(d.refusals),
                **{
                    p: getattr(d, p).as_dict()
                    for p in ("comparison", "undersized", "reverse", "reverse_undersized", "history")
                    if getattr(d, p) is not None
                },
            }  # fmt: skip
            if d.promoted:  # keep the first champion for the next candidates
                promote(settings, champ, reason="benchmark: back", force=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
