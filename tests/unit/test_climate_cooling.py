"""Issue 23: the cooling categories' base multiplied by a factor per climate zone.

Protects that :func:`features.build.fit_zone_multipliers` recovers a known zone effect
on cooling when the history has one, stays at 1 where it has none (an unknown zone, a
zone without cooling customers, a history without the effect), is never negative (the
base stays monotone in every line), and that a builder fitted with it scales only the
cooling categories of the zone's rows and survives its own serialisation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import (
    COOLING_CATEGORIES,
    FeatureBuilder,
    HistoryFrames,
    fit_zone_multipliers,
)
from features.catalog import load_catalog
from features.contract import CLIMATE_ZONES


def _zone_world(
    rng: np.random.Generator, n: int, effect: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Peak = other + effect[zone] · cooling (5 % noise); 10 % of zones unknown (-1)."""
    cooling = np.exp(rng.normal(3.0, 0.8, n))
    other = np.exp(rng.normal(3.0, 0.8, n))
    zone = rng.integers(0, len(effect), n)
    zone[rng.random(n) < 0.1] = -1
    truth = np.where(zone >= 0, effect[np.maximum(zone, 0)], 1.0)
    peak = (other + truth * cooling) * np.exp(rng.normal(0.0, 0.05, n))
    return cooling, other, peak, zone


def test_a_known_zone_effect_on_cooling_is_recovered() -> None:
    effect = np.array([0.4, 0.7, 1.2, 1.3, 0.6])
    cooling, other, peak, zone = _zone_world(np.random.default_rng(0), 4000, effect)
    g = fit_zone_multipliers(cooling, other, peak, zone, len(effect), prior_rows=1.0)
    np.testing.assert_allclose(g[:-1], effect, atol=0.06)
    assert g[-1] == 1.0  # the unknown zone keeps the pooled factors


def test_no_effect_leaves_every_zone_near_one_and_empty_zones_at_one() -> None:
    cooling, other, peak, zone = _zone_world(np.random.default_rng(1), 3000, np.ones(3))
    g = fit_zone_multipliers(cooling, other, peak, zone, 5)
    np.testing.assert_allclose(g[:3], 1.0, atol=0.03)
    np.testing.assert_array_equal(g[3:], 1.0)  # zones nobody is in, and the unknown one


def test_the_multiplier_is_never_negative() -> None:
    rng = np.random.default_rng(2)
    cooling, other, _, zone = _zone_world(rng, 2000, np.ones(2))
    # Peaks BELOW the rest of the base: the unconstrained fit would go negative.
    peak = 0.5 * other
    g = fit_zone_multipliers(cooling, other, peak, zone, 2, prior_rows=0.0)
    assert (g >= 0).all()


def _history(rng: np.random.Generator, n: int) -> tuple[HistoryFrames, np.ndarray]:
    """Every customer a chiller and pumps; the chiller runs twice as hard in zone 2."""
    industry = load_catalog().industry_codes[0]
    zones = np.array(CLIMATE_ZONES, dtype=object)[rng.integers(0, len(CLIMATE_ZONES), n)]
    ids = [f"Z{i:05d}" for i in range(n)]
    chiller = np.round(np.exp(rng.normal(4.0, 0.5, n)), 1)
    pump = np.round(np.exp(rng.normal(3.5, 0.5, n)), 1)
    hot = zones == CLIMATE_ZONES[2]
    peak = (0.7 * pump + np.where(hot, 0.8, 0.4) * chiller) * np.exp(rng.normal(0, 0.05, n))
    customers = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="str"),
            "industry": pd.array([industry] * n, dtype="str"),
            "climate_zone": pd.array(list(zones), dtype="str"),
            "floor_area_m2": np.full(n, 2000.0),
            "employees": np.full(n, 50.0),
            "shifts": np.full(n, 1.0),
        }
    )
    equipment = pd.DataFrame(
        {
            "customer_id": pd.array(ids + ids, dtype="str"),
            "category": pd.array(["chiller"] * n + ["pump"] * n, dtype="str"),
            "rated_kw": np.concatenate([chiller, pump]),
            "quantity": np.ones(2 * n, dtype=np.int64),
            "standby": np.zeros(2 * n, dtype=bool),
        }
    )
    return HistoryFrames(customers, equipment), peak


def test_a_fitted_builder_scales_the_hot_zones_chillers_only() -> None:
    frames, peak = _history(np.random.default_rng(3), 1500)
    builder = FeatureBuilder(climate_cooling=True).fit(frames, peak)
    g = builder.zone_cooling_multipliers_
    hot = CLIMATE_ZONES.index(CLIMATE_ZONES[2])
    others = [z for z in range(len(CLIMATE_ZONES)) if z != hot]
    # Twice as hard in the hot zone: its multiplier about twice the others'.
    assert g[hot] / np.mean(g[others]) == pytest.approx(2.0, rel=0.15)
    assert g[-1] == 1.0
    kw = np.zeros((1, len(builder.categories_)))
    kw[0, builder.categories_.index("chiller")] = 100.0
    kw[0, builder.categories_.index("pump")] = 100.0
    industry = [builder.industries_[0]]
    cold = builder.row_base_parts(industry, kw, None, np.array([others[0]]))[0]
    warm = builder.row_base_parts(industry, kw, None, np.array([hot]))[0]
    unknown = builder.row_base_parts(industry, kw, None, np.array([-1]))[0]
    cooling = np.isin(builder.categories_, COOLING_CATEGORIES)
    np.testing.assert_array_equal(cold[~cooling], warm[~cooling])  # pumps untouched
    assert warm[cooling].sum() > cold[cooling].sum() > 0
    np.testing.assert_allclose(unknown, builder.row_base_parts(industry, kw, None)[0])
    # Its own serialisation keeps the multipliers and so the features.
    again = FeatureBuilder.from_state(builder.to_state())
    np.testing.assert_array_equal(again.zone_cooling_multipliers_, g)
    pd.testing.assert_frame_equal(again.transform(frames), builder.transform(frames))


def test_off_by_default_the_base_has_no_zone() -> None:
    frames, peak = _history(np.random.default_rng(4), 600)
    builder = FeatureBuilder().fit(frames, peak)
    np.testing.assert_array_equal(builder.zone_cooling_multipliers_, 1.0)
