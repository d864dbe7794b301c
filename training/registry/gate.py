"""The promotion gate's statistics: exact paired tests on customers neither model saw.

Two models answering the same customers differ only where they disagree: the customers
only the candidate sized appropriately (``b``) and those only the champion did (``c``).
Given ``m = b + c`` disagreements, ``b`` is binomial(m, ½) when neither model is better:
McNemar's exact test. The same conditional law gives an exact (Clopper–Pearson) interval of
the share of disagreements the candidate wins, hence of the accuracy difference
``(b - c) / n``. A paired bootstrap is not used: with few disagreements it is
anti-conservative (issue 24: a seed-only retrain with 8 against 19 disagreements, exact
p = 0.052, was refused because the bootstrap's interval excluded zero).

A candidate is refused as worse only when the difference is both statistically
significant (two-sided exact p below :data:`ALPHA`) and larger than a practical margin
(:data:`PRACTICAL_MARGIN`): on 50,000 customers a 0.1-point drop is significant and
harmless; on 300 customers a 3-point drop may be noise. Both figures are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.contract import SIZING_ACCURACY_TARGET

GATE_MIN_ACCURACY = SIZING_ACCURACY_TARGET
"""The contract's target: a candidate below it on its own holdout is refused."""
CONFIDENCE = 0.95
ALPHA = 1.0 - CONFIDENCE
"""Significance level of every paired test of the gate (two-sided)."""
PRACTICAL_MARGIN = 0.005
"""Half a point of accuracy (or of undersized share): a difference smaller than this is
not a reason to refuse a candidate, however many customers make it significant."""

# Plausibility of the candidate's own training history (issue 26: 20,000 identical rows,
# peak 10× installed, every row flagged, scored 1.0 on its own holdout and was promoted).
MAX_FLAGGED_SHARE = 0.20
"""At most this share of the history's customers may carry a plausibility flag. The
synthetic demo history flags about 1 %; a real one with a few percent of mis-keyed rows is
fine; a history where one customer in five looks wrong is not one to learn from."""
MAX_DUPLICATE_SHARE = 0.10
"""At most this share of customers may repeat another customer's row exactly (every
column but ``customer_id``): independent customers almost never coincide on area, scale,
peak and equipment; copies inflate a holdout's accuracy with the training set's answers."""
MIN_COVERAGE90 = 0.80
"""The 90 % peak interval must cover at least this share of the holdout (nominal 0.90;
conformal calibration on a fresh holdout lands within a few points of it)."""


def _exact_two_sided(k: int, m: int) -> float:
    """Two-sided exact binomial(m, ½) p-value of ``k`` (1.0 when ``m == 0``)."""
    if m == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(k, m, 0.5, alternative="two-sided").pvalue)


def _clopper_pearson(k: int, m: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact interval of a binomial proportion ``k / m``."""
    from scipy.stats import beta

    a = 1.0 - confidence
    lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, m - k + 1))
    hi = 1.0 if k == m else float(beta.ppf(1 - a / 2, k + 1, m - k))
    return lo, hi


@dataclass(frozen=True)
class PairedComparison:
    """Candidate minus champion rate of one binary figure on the same customers.

    For the accuracy, the "rate" is the share appropriately sized and a negative
    difference is bad; :func:`paired_comparison` serves any binary figure (the undersized
    share, where a positive difference is bad).
    """

    n: int
    candidate_accuracy: float
    champion_accuracy: float
    difference: float
    low: float
    high: float
    discordant_candidate: int  # customers only the candidate has (e.g. sized appropriately)
    discordant_champion: int  # customers only the champion has
    p_value: float = 1.0  # McNemar's exact two-sided test
    margin: float = PRACTICAL_MARGIN
    figure: str = "accuracy"

    @property
    def significant(self) -> bool:
        """The exact test rejects "no difference" at :data:`ALPHA`."""
        return self.p_value < ALPHA

    @property
    def significantly_worse(self) -> bool:
        """Lower for the candidate, significantly, and by more than the margin."""
        return self.significant and self.difference < -self.margin

    @property
    def significantly_higher(self) -> bool:
        """Higher for the candidate, significantly, and by more than the margin."""
        return self.significant and self.difference > self.margin

    def describe(self) -> str:
        """One line for the CLI and the registry."""
        return (
            f"{self.figure}: candidate {self.candidate_accuracy:.4f} vs champion "
            f"{self.champion_accuracy:.4f} on {self.n} customers neither trained on: "
            f"difference {self.difference * 100:+.2f} points, {CONFIDENCE:.0%} exact interval "
            f"[{self.low * 100:+.2f}, {self.high * 100:+.2f}]; McNemar exact p = "
            f"{self.p_value:.3g} ({self.discordant_candidate} only the candidate, "
            f"{self.discordant_champion} only the champion); practical margin "
            f"{self.margin * 100:.1f} points"
        )

    def as_dict(self) -> dict[str, float | int | str]:
        """The figures, for the registry's decision entry."""
        return {
            "figure": self.figure,
            "n": self.n,
            "candidate": round(self.candidate_accuracy, 6),
            "champion": round(self.champion_accuracy, 6),
            "difference": round(self.difference, 6),
            "low": round(self.low, 6),
            "high": round(self.high, 6),
            "only_candidate": self.discordant_candidate,
            "only_champion": self.discordant_champion,
            "p_value": float(f"{self.p_value:.4g}"),
            "margin": self.margin,
        }


def paired_comparison(
    candidate_ok: np.ndarray,
    champion_ok: np.ndarray,
    *,
    figure: str = "accuracy",
    margin: float = PRACTICAL_MARGIN,
) -> PairedComparison:
    """McNemar's exact test and the exact conditional interval of a paired difference.

    Parameters
    ----------
    candidate_ok, champion_ok
        Per customer: whether each model's served answer has the property (appropriately
        sized, or undersized for ``figure="undersized"``).
    figure
        The name of the figure (reported).
    margin
        The practical margin (see :data:`PRACTICAL_MARGIN`).

    Raises
    ------
    ValueError
        When the two arrays are not the same non-empty set of customers.
    """
    a = np.asarray(candidate_ok, dtype=bool)
    b = np.asarray(champion_ok, dtype=bool)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"need the same non-empty set of customers; received {a.shape} and {b.shape}"
        )
    n = int(a.size)
    only_a = int(np.sum(a & ~b))
    only_b = int(np.sum(~a & b))
    m = only_a + only_b
    if m == 0:
        lo = hi = 0.0
    else:
        # difference = (only_a - only_b) / n = (m / n) * (2 * pi - 1), pi = share won
        plo, phi = _clopper_pearson(only_a, m)
        lo, hi = (m / n) * (2 * plo - 1), (m / n) * (2 * phi - 1)
    return PairedComparison(
        n=n,
        candidate_accuracy=float(a.mean()),
        champion_accuracy=float(b.mean()),
        difference=(only_a - only_b) / n,
        low=float(lo),
        high=float(hi),
        discordant_candidate=only_a,
        discordant_champion=only_b,
        p_value=_exact_two_sided(only_a, m),
        margin=margin,
        figure=figure,
    )


@dataclass(frozen=True)
class HistoryCheck:
    """Plausibility of a candidate's training history, seen through its holdout."""

    n: int
    flagged_share: float
    duplicate_share: float
    coverage90: float

    def problems(self) -> list[str]:
        """Why the history is not one to promote a model from (empty when it is)."""
        out = []
        if self.flagged_share > MAX_FLAGGED_SHARE:
            out.append(
                f"{self.flagged_share:.1%} of the {self.n} holdout customers carry a "
                f"plausibility flag (at most {MAX_FLAGGED_SHARE:.0%} expected): the training "
                "history looks corrupt (see the run's rejects/flags report)"
            )
        if self.duplicate_share > MAX_DUPLICATE_SHARE:
            out.append(
                f"{self.duplicate_share:.1%} of the {self.n} holdout customers repeat another "
                f"customer's row exactly (at most {MAX_DUPLICATE_SHARE:.0%} expected): "
                "duplicated records make the holdout score the training set"
            )
        if not np.isfinite(self.coverage90) or self.coverage90 < MIN_COVERAGE90:
            out.append(
                f"the 90 % peak interval covers {self.coverage90:.1%} of its holdout (at "
                f"least {MIN_COVERAGE90:.0%} expected): the model's uncertainty is not "
                "calibrated on its own history"
            )
        return out

    def as_dict(self) -> dict[str, float | int]:
        """The figures, for the registry's decision entry."""
        return {
            "n": self.n,
            "flagged_share": round(self.flagged_share, 6),
            "duplicate_share": round(self.duplicate_share, 6),
            "coverage90": round(self.coverage90, 6),
        }


def duplicate_share(customers: object, equipment: object) -> float:
    """Share of customers whose whole record is exactly another customer's.

    The record is the customer row and its equipment lines, the ids aside.
    """
    import pandas as pd

    cust = pd.DataFrame(customers)
    eq = pd.DataFrame(equipment)
    if cust.empty:
        return 0.0
    ids = cust["customer_id"].astype(str).to_numpy()
    # Row hashes (NaN-safe, dtype-aware), not text: a missing cell is the same in every row.
    row_key = pd.util.hash_pandas_object(cust.drop(columns=["customer_id"]), index=False)
    keys = pd.Series(row_key.to_numpy().astype(str), index=ids)
    if not eq.empty:
        line_hash = pd.util.hash_pandas_object(eq.drop(columns=["customer_id"]), index=False)
        per = (
            pd.DataFrame({"customer_id": eq["customer_id"].astype(str).to_numpy(),
                          "line": line_hash.to_numpy().astype(str)})
            .sort_values(["customer_id", "line"])
            .groupby("customer_id")["line"]
            .agg("#".join)
        )  # fmt: skip
        keys = keys + "§" + per.reindex(ids).fillna("").to_numpy()
    return float(keys.duplicated(keep=False).mean())
