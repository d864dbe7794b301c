"""Sanity bounds learned from the history, and the physical rule that holds for anyone.

Two ratios say how a customer's metered peak relates to what its application states:

* ``s30``: peak kW ÷ the demand-coefficient S30 (kVA, compensated) of the application;
* ``installed``: peak kW ÷ its non-standby installed kW (equipment lists only).

At fit time (:func:`training.bounds.fit_bounds`) their distribution is read off the
training customers per industry (equipment lists and area-only applications apart, since
the S30 of an area-only application comes from a design density), and each industry's
quantiles are shrunk in log space towards the all-industry figure with weight
``n / (n + shrink_rows)``: an industry of 30 customers mostly borrows the pooled tail, one
of 3,000 keeps its own. The bounds travel in the bundle.

A ratio bound ``[r_lo, r_hi]`` becomes capacity bounds through the contract's band:

* upper: the smallest standard tier that carries ``r_hi × X`` (the highest peak the
  history makes plausible) at a load rate ≤ 1. Any larger tier is oversized for every
  plausible peak and costs more;
* lower: the smallest standard tier that carries ``r_lo × X``. Any smaller tier is
  overloaded by even the lowest plausible peak.

Why learned and not fixed: the first build capped the answer at 1.5 × S30. On a history
whose small groups run at 1.3–1.6 × the catalog's Kx that cap clamped 62 % of answers
and made 14 % of the clamped ones undersized; on our own synthetic history it clamped
2.4 %. A fixed multiple encodes one generator's demand factors, not the customers'.

The physical rule stays: the largest running unit plus a base load
(``base_load_share`` × the rest) must not overload the capacity. When a lower bound
exceeds an upper bound, the lower wins (an overloaded transformer is worse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from features.contract import SizingDefinition, tier_at_or_above

POOLED = "__all__"
"""Group key of the all-industry figures."""
RATIOS = ("s30", "installed")
BASES = ("equipment", "area")


class BoundsConfig(BaseModel):
    """How the sanity bounds are learned (part of :class:`~serving.model.config.ModelConfig`)."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = Field(True, description="Learn and apply the ratio bounds at all.")
    tail: float = Field(
        0.0025,
        gt=0,
        lt=0.2,
        description="Quantiles of each ratio at tail and 1 - tail set the bounds; widened at "
        "fit time until at most max_clamp_share of the calibration customers are clamped.",
    )
    max_clamp_share: float = Field(
        0.01, gt=0, lt=1, description="Share of calibration customers the bounds may clamp."
    )
    shrink_rows: float = Field(
        200.0, ge=0, description="Pseudo-customers of the all-industry quantile in each industry."
    )
    min_rows: int = Field(
        10, ge=1, description="Fewer customers than this: the industry uses the pooled figure."
    )
    base_load_share: float = Field(
        0.10, ge=0, le=1, description="Base load beside the largest unit, share of the rest."
    )


@dataclass(frozen=True)
class RatioBound:
    """Quantiles of one ratio in one group, and the customers behind them."""

    low: float
    high: float
    n: int  # customers of this group in the history
    n_pooled: int  # customers of the pooled group (what the figure was shrunk towards)
    group: str  # industry code, or POOLED

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form."""
        return {"low": self.low, "high": self.high, "n": self.n, "n_pooled": self.n_pooled}


@dataclass(frozen=True)
class BoundRule:
    """Why a bound sits where it does: a message code and its parameters."""

    code: str
    params: dict[str, Any]


@dataclass
class CapacityBounds:
    """Bounds per row (NaN where no rule applies) and the binding rule of each side."""

    lower: np.ndarray
    upper: np.ndarray
    lower_rule: list[BoundRule | None]
    upper_rule: list[BoundRule | None]


class LearnedBounds:
    """Ratio quantiles per (ratio, basis, industry) and the rules that turn them into kVA.

    Parameters
    ----------
    quantiles
        ``(low, high)`` probability levels the ratios were read at.
    table
        ``{"s30|equipment": {industry or POOLED: RatioBound}, ...}``.
    base_load_share
        Base load beside the largest unit in the physical rule.
    calibration_clamp_share
        Share of the calibration customers the learned ratio bounds (without the unit
        rule) clamped at fit time.
    """

    def __init__(
        self,
        quantiles: tuple[float, float],
        table: dict[str, dict[str, RatioBound]],
        base_load_share: float,
        calibration_clamp_share: float | None = None,
    ) -> None:
        self.quantiles = quantiles
        self.table = table
        self.base_load_share = base_load_share
        self.calibration_clamp_share = calibration_clamp_share

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Serialisable form for the bundle."""
        return {
            "quantiles": list(self.quantiles),
            "base_load_share": self.base_load_share,
            "calibration_clamp_share": self.calibration_clamp_share,
            "table": {
                key: {g: b.to_dict() for g, b in groups.items()}
                for key, groups in self.table.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnedBounds:
        """Inverse of :meth:`to_dict` (raises ``ValueError`` on a malformed document)."""
        try:
            lo, hi = (float(q) for q in data["quantiles"])
            table = {
                str(key): {
                    str(g): RatioBound(
                        float(b["low"]), float(b["high"]), int(b["n"]), int(b["n_pooled"]), str(g)
                    )
                    for g, b in groups.items()
                }
                for key, groups in data["table"].items()
            }
            share = data.get("calibration_clamp_share")
            return cls(
                (lo, hi),
                table,
                float(data["base_load_share"]),
                None if share is None else float(share),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bounds document is malformed: {exc!r}") from exc

    # -- lookups -------------------------------------------------------------------------
    def ratio(self, name: str, basis: np.ndarray, industry: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, list[RatioBound | None]
    ]:  # fmt: skip
        """Per row: low and high quantile of ratio ``name`` (NaN if none) and its entry."""
        n = len(industry)
        lo, hi = np.full(n, np.nan), np.full(n, np.nan)
        entries: list[RatioBound | None] = [None] * n
        for b in BASES:
            groups = self.table.get(f"{name}|{b}")
            if not groups:
                continue
            # The distinct codes (rows of each are disjoint, so their order does not
            # matter): without np.unique's sort, five of them per single answer.
            for ind in dict.fromkeys(industry[basis == b].tolist()):
                entry = groups.get(str(ind)) or groups.get(POOLED)
                if entry is None:
                    continue
                rows = np.where((basis == b) & (industry == ind))[0]
                lo[rows], hi[rows] = entry.low, entry.high
                for r in rows:
                    entries[r] = entry
        return lo, hi, entries

    def capacity_bounds(
        self,
        industry: np.ndarray,
        basis: np.ndarray,
        total_kw: np.ndarray,
        largest_kw: np.ndarray,
        s30_kva: np.ndarray,
        sizing: SizingDefinition,
        with_rules: bool = False,
        unit_rule: bool = True,
    ) -> CapacityBounds:
        """Capacity bounds per row from the learned ratios and the physical rule.

        Parameters
        ----------
        industry, basis
            Industry code and basis (``equipment``/``area``/``industry``) per row.
        total_kw, largest_kw
            Non-standby installed kW and the largest running unit (0 without a list).
        s30_kva
            Demand-coefficient S30 (compensated), NaN where there is none.
        sizing
            The contract's band and power factor.
        with_rules
            Also return the binding rule of each side (codes with parameters).
        unit_rule
            Apply the physical unit rule (False to measure the learned bounds alone).
        """
        industry = np.asarray(industry).astype(str)
        basis = np.asarray(basis).astype(str)
        total = np.asarray(total_kw, dtype=float)
        largest = np.asarray(largest_kw, dtype=float)
        s30 = np.asarray(s30_kva, dtype=float)
        carry = sizing.power_factor * sizing.high  # kW one kVA carries at load rate 1
        has_eq = total > 0
        base_load = self.base_load_share * np.maximum(total - largest, 0.0)
        nan = np.full(total.shape, np.nan)
        unit_kw = np.where(has_eq & unit_rule, largest + base_load, nan)
        s30_lo, s30_hi, s30_entry = self.ratio("s30", basis, industry)
        kw_lo, kw_hi, kw_entry = self.ratio("installed", basis, industry)
        with np.errstate(invalid="ignore"):
            ok_s30 = np.isfinite(s30) & (s30 > 0)
            peak_lo = {
                "unit": unit_kw,
                "s30": np.where(ok_s30, s30_lo * s30, nan),
                "installed": np.where(has_eq, kw_lo * total, nan),
            }
            peak_hi = {
                "s30": np.where(ok_s30, s30_hi * s30, nan),
                "installed": np.where(has_eq, kw_hi * total, nan),
            }
        lo_names, hi_names = list(peak_lo), list(peak_hi)
        # Every side's candidates to tiers in one call (one row per rule; the same values
        # as one call per rule, at a fifth of the calls on a single answer).
        tiers = _tiers(np.vstack([*peak_lo.values(), *peak_hi.values()]) / carry)
        lo_tiers, hi_tiers = tiers[: len(lo_names)], tiers[len(lo_names) :]
        lower = np.fmax.reduce(lo_tiers, axis=0)
        upper = np.fmin.reduce(hi_tiers, axis=0)
        if not with_rules:
            return CapacityBounds(lower, upper, [], [])
        # A tier is finite or NaN (never infinite): NaN as -inf / +inf takes no side.
        lo_which = np.argmax(np.where(np.isnan(lo_tiers), -np.inf, lo_tiers), axis=0)
        hi_which = np.argmin(np.where(np.isnan(hi_tiers), np.inf, hi_tiers), axis=0)
        q_lo, q_hi = self.quantiles
        lower_rule: list[BoundRule | None] = []
        upper_rule: list[BoundRule | None] = []
        for i in range(len(total)):
            if not np.isfinite(lower[i]):
                lower_rule.append(None)
            else:
                which = lo_names[int(lo_which[i])]
                if which == "unit":
                    lower_rule.append(
                        BoundRule(
                            "bound_unit",
                            {"largest_kw": float(largest[i]), "base_kw": float(base_load[i])},
                        )
                    )
                else:
                    entry = (s30_entry if which == "s30" else kw_entry)[i]
                    lower_rule.append(
                        _ratio_rule(which, "low", entry, q_lo, industry[i], s30[i], total[i])
                    )
            if not np.isfinite(upper[i]):
                upper_rule.append(None)
            else:
                which = hi_names[int(hi_which[i])]
                entry = (s30_entry if which == "s30" else kw_entry)[i]
                upper_rule.append(
                    _ratio_rule(which, "high", entry, q_hi, industry[i], s30[i], total[i])
                )
        return CapacityBounds(lower, upper, lower_rule, upper_rule)


def _ratio_rule(
    ratio: str,
    side: str,
    entry: RatioBound | None,
    q: float,
    industry: str,
    s30: float,
    total: float,
) -> BoundRule:
    assert entry is not None  # a finite bound came from an entry
    return BoundRule(
        f"bound_{ratio}_{side}",
        {
            "share": q if side == "high" else 1.0 - q,
            "n": entry.n,
            "n_pooled": entry.n_pooled,
            "industry": industry if entry.group != POOLED else "",
            "ratio": entry.high if side == "high" else entry.low,
            "s30_kva": float(s30),
            "installed_kw": float(total),
        },
    )


def apply_bounds(
    kva: np.ndarray, bounds: CapacityBounds
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Clamp capacities into their bounds; returns (final, side) with side -1/0/+1.

    ``side`` is +1 where the upper bound cut the answer, -1 where the lower bound raised
    it, 0 where the answer stood. The lower bound is applied last, so it wins a conflict.
    """
    kva = np.asarray(kva, dtype=float)
    over = np.isfinite(bounds.upper) & (kva > bounds.upper)
    final = np.where(over, bounds.upper, kva)
    under = np.isfinite(bounds.lower) & (final < bounds.lower)
    final = np.where(under, bounds.lower, final)
    side = np.where(final == kva, 0, np.where(under, -1, 1))
    return final, side


def _tiers(kva: np.ndarray) -> np.ndarray:
    """Standard tier at or above each value (NaN stays NaN)."""
    kva = np.asarray(kva, dtype=float)
    out = np.full(kva.shape, np.nan)
    ok = np.isfinite(kva) & (kva > 0)
    if ok.any():
        out[ok] = tier_at_or_above(kva[ok])
    return out
