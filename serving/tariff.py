"""Which basis of the capacity charge (基本电费) is cheaper: by capacity or by maximum demand.

Two-part tariff customers (≥ 315 kVA) choose how 基本电费 is billed:

* by capacity (按容量): ``capacity_kva × capacity price`` every month;
* by maximum demand (按需量): each month's maximum demand (kW, the highest 15-minute
  average) × the demand price, the demand billed being at least ``min_demand_share``
  (40 %) of the capacity — the rule that the declared demand may not be below 40 % of
  the transformer capacity.

The expected monthly demand charge is ``price × E[max(D, floor)]`` with ``D`` the month's
maximum demand. The model predicts the 12-month peak ``P``; every month's maximum is at
most ``P``, so taking ``D`` distributed like ``P`` can only overstate the demand basis
(the comparison never favours it wrongly). With ``S(x) = P(peak > x)`` from the predicted
distribution::

    E[max(P, f)] = f + ∫_f^∞ S(x) dx

integrated by the trapezoidal rule on a fine grid up to where ``S`` is negligible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from serving.schemas import TariffComparison

Survival = Callable[[np.ndarray], np.ndarray]
"""``S(x)``: the probability that the peak exceeds ``x`` kW, vectorised over ``x``."""

_TAIL = 1e-4
_POINTS = 400


def expected_billed_demand_kw(survival: Survival, floor_kw: float, upper_kw: float) -> float:
    """``E[max(P, floor_kw)]`` for a peak ``P`` with survival function ``survival``.

    Parameters
    ----------
    survival
        ``S(x) = P(P > x)``, non-increasing, vectorised.
    floor_kw
        The least demand billed (≥ 0).
    upper_kw
        A peak beyond which ``S`` is negligible; doubled until ``S(upper) < 1e-4``.

    Returns
    -------
    float
        The expected billed demand, kW.

    Raises
    ------
    ValueError
        If ``floor_kw`` is negative or not finite.
    """
    if not (np.isfinite(floor_kw) and floor_kw >= 0):
        raise ValueError(f"floor_kw must be a finite number >= 0; received {floor_kw!r}")
    upper = max(float(upper_kw), floor_kw * 1.01, 1e-6)
    for _ in range(30):
        if float(survival(np.array([upper]))[0]) < _TAIL:
            break
        upper *= 2.0
    if upper <= floor_kw:
        return float(floor_kw)
    x = np.linspace(floor_kw, upper, _POINTS + 1)
    s = np.clip(np.asarray(survival(x), dtype=float), 0.0, 1.0)
    return float(floor_kw + np.trapezoid(s, x))


def compare_bases(
    capacity_kva: float,
    survival: Survival,
    *,
    capacity_price_yuan_per_kva_month: float,
    demand_price_yuan_per_kw_month: float,
    min_demand_share: float,
    upper_kw: float,
) -> TariffComparison:
    """基本电费 by capacity against by maximum demand for ``capacity_kva``.

    Parameters
    ----------
    capacity_kva
        The capacity (the recommended one).
    survival
        The predicted peak's survival function (see :data:`Survival`).
    capacity_price_yuan_per_kva_month, demand_price_yuan_per_kw_month
        The two prices.
    min_demand_share
        The least demand billed as a share of the capacity (0.40).
    upper_kw
        A peak beyond which the survival is negligible (e.g. the upper 90 % limit × 3).

    Returns
    -------
    TariffComparison
        Both monthly charges, which is cheaper and by how much a year.
    """
    floor = min_demand_share * capacity_kva
    demand = expected_billed_demand_kw(survival, floor, upper_kw)
    by_capacity = capacity_kva * capacity_price_yuan_per_kva_month
    by_demand = demand * demand_price_yuan_per_kw_month
    cheaper = "demand" if by_demand < by_capacity else "capacity"
    return TariffComparison(
        capacity_kva=capacity_kva,
        capacity_price_yuan_per_kva_month=capacity_price_yuan_per_kva_month,
        demand_price_yuan_per_kw_month=demand_price_yuan_per_kw_month,
        min_demand_share=min_demand_share,
        min_demand_kw=floor,
        expected_billed_demand_kw=demand,
        monthly_by_capacity_yuan=by_capacity,
        monthly_by_demand_yuan=by_demand,
        cheaper=cheaper,
        yearly_saving_yuan=12.0 * abs(by_capacity - by_demand),
    )
