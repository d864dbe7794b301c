"""基本电费 by capacity against by maximum demand, checked against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from serving.tariff import Survival, compare_bases, expected_billed_demand_kw


def _uniform(a: float, b: float) -> Survival:
    """Survival of a peak uniform on [a, b] kW."""

    def s(x: np.ndarray) -> np.ndarray:
        return np.clip((b - np.asarray(x, dtype=float)) / (b - a), 0.0, 1.0)

    return s


def test_demand_basis_cheaper_by_hand() -> None:
    # 400 kVA; peak uniform on [100, 300] kW; the floor is 40 % × 400 = 160 kW.
    # E[max(P, 160)] = 160 + ∫_160^300 (300 - x)/200 dx = 160 + 140² / 400 = 209 kW.
    # By demand: 209 × 33 = 6,897 yuan a month; by capacity: 400 × 22 = 8,800 yuan.
    # Demand is cheaper by (8,800 - 6,897) × 12 = 22,836 yuan a year.
    c = compare_bases(
        400.0,
        _uniform(100.0, 300.0),
        capacity_price_yuan_per_kva_month=22.0,
        demand_price_yuan_per_kw_month=33.0,
        min_demand_share=0.40,
        upper_kw=300.0,
    )
    assert c.min_demand_kw == pytest.approx(160.0)
    assert c.expected_billed_demand_kw == pytest.approx(209.0, abs=0.01)
    assert c.monthly_by_capacity_yuan == pytest.approx(8800.0)
    assert c.monthly_by_demand_yuan == pytest.approx(6897.0, abs=0.5)
    assert c.cheaper == "demand"
    assert c.yearly_saving_yuan == pytest.approx(22836.0, abs=5.0)


def test_capacity_basis_cheaper_by_hand() -> None:
    # 630 kVA; peak uniform on [400, 600] kW, all above the 252 kW floor:
    # E[P] = 500 kW, 500 × 33 = 16,500 > 630 × 22 = 13,860 a month;
    # capacity is cheaper by 2,640 × 12 = 31,680 yuan a year.
    c = compare_bases(
        630.0,
        _uniform(400.0, 600.0),
        capacity_price_yuan_per_kva_month=22.0,
        demand_price_yuan_per_kw_month=33.0,
        min_demand_share=0.40,
        upper_kw=100.0,  # too low on purpose: widened until the survival is negligible
    )
    assert c.expected_billed_demand_kw == pytest.approx(500.0, abs=0.01)
    assert c.cheaper == "capacity"
    assert c.yearly_saving_yuan == pytest.approx(31680.0, abs=5.0)


def test_the_floor_is_billed_when_the_peak_is_below_it() -> None:
    # A peak always below the floor bills the floor: 40 % × 1000 = 400 kW.
    assert expected_billed_demand_kw(_uniform(50.0, 100.0), 400.0, 100.0) == pytest.approx(400.0)


def test_negative_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="floor_kw"):
        expected_billed_demand_kw(_uniform(1.0, 2.0), -1.0, 2.0)
