"""The promotion gate's statistics: a paired comparison on customers neither model saw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.contract import SIZING_ACCURACY_TARGET

GATE_MIN_ACCURACY = SIZING_ACCURACY_TARGET
"""The contract's target: a candidate below it on its own holdout is refused."""
CONFIDENCE = 0.95
N_BOOTSTRAP = 4000


@dataclass(frozen=True)
class PairedComparison:
    """Candidate minus champion sizing accuracy on the same customers, with its interval."""

    n: int
    candidate_accuracy: float
    champion_accuracy: float
    difference: float
    low: float
    high: float
    discordant_candidate: int  # customers only the candidate sized appropriately
    discordant_champion: int  # customers only the champion sized appropriately

    @property
    def significantly_worse(self) -> bool:
        """The whole interval lies below zero."""
        return self.high < 0.0

    def describe(self) -> str:
        """One line for the CLI and the registry tags."""
        return (
            f"candidate {self.candidate_accuracy:.4f} vs champion {self.champion_accuracy:.4f} on "
            f"{self.n} customers neither trained on: difference {self.difference * 100:+.2f} "
            f"points, {CONFIDENCE:.0%} interval [{self.low * 100:+.2f}, {self.high * 100:+.2f}] "
            f"(paired bootstrap; {self.discordant_candidate} only the candidate got right, "
            f"{self.discordant_champion} only the champion)"
        )


def paired_comparison(
    candidate_ok: np.ndarray, champion_ok: np.ndarray, seed: int = 0, n_boot: int = N_BOOTSTRAP
) -> PairedComparison:
    """Paired bootstrap of the accuracy difference (resampling customers, both models at once).

    Parameters
    ----------
    candidate_ok, champion_ok
        Per customer: whether each model's served answer was appropriately sized.
    seed
        Seed of the resampling (the decision is reproducible).
    n_boot
        Bootstrap resamples.
    """
    a = np.asarray(candidate_ok, dtype=bool)
    b = np.asarray(champion_ok, dtype=bool)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"need the same non-empty set of customers; received {a.shape} and {b.shape}"
        )
    d = a.astype(float) - b.astype(float)
    rng = np.random.default_rng(seed)
    # Only discordant customers move the difference: resample counts, not rows (same law).
    n = len(d)
    idx = rng.integers(0, n, size=(n_boot, n)) if n <= 20000 else None
    if idx is not None:
        boots = d[idx].mean(axis=1)
    else:  # pragma: no cover - very large holdouts: multinomial on the three values
        p = [np.mean(d == -1), np.mean(d == 0), np.mean(d == 1)]
        counts = rng.multinomial(n, p, size=n_boot)
        boots = (counts[:, 2] - counts[:, 0]) / n
    alpha = 1.0 - CONFIDENCE
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return PairedComparison(
        n=n,
        candidate_accuracy=float(a.mean()),
        champion_accuracy=float(b.mean()),
        difference=float(d.mean()),
        low=float(lo),
        high=float(hi),
        discordant_candidate=int(np.sum(a & ~b)),
        discordant_champion=int(np.sum(~a & b)),
    )
