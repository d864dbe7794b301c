"""The coincidence world: a contract history with a well-defined oracle and its stresses kept.

What is protected: :func:`training.synth.worlds.coincidence_world` emits only the
contract's columns and passes its validation whole (no customer or line rejected); its
oracle is one finite positive expected peak per customer, the metered peak is that oracle
times the world's noise (median 1, the stated log-σ; no noise gives the oracle itself), and
the same seed gives the same world. And the world still stresses what it was made for
(issue 23): coincidence that falls with the number of units, large single units, a summer
peak that grows with the climate zone's cooling, and small industry groups. If a change
to the world drops one of them, the benchmarks on it stop measuring it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.contract import CUSTOMER_COLUMN_NAMES, EQUIPMENT_COLUMN_NAMES
from features.validation import validate_frames
from training.synth.worlds import WORLDS, World, coincidence_world

N = 3000
SEED = 5


@pytest.fixture(scope="module")
def world() -> World:
    return coincidence_world(N, SEED)


def _installed(world: World) -> pd.Series:
    eq = world.equipment[~world.equipment["standby"]]
    return (eq["rated_kw"] * eq["quantity"]).groupby(eq["customer_id"]).sum()


def test_registered_for_the_benchmarks() -> None:
    assert WORLDS["coincidence"] is coincidence_world


def test_passes_the_contract_validation_whole(world: World) -> None:
    assert set(world.customers.columns) <= set(CUSTOMER_COLUMN_NAMES)
    assert set(world.equipment.columns) <= set(EQUIPMENT_COLUMN_NAMES)
    validated = validate_frames(world.customers, world.equipment, require_label=True)
    assert validated.rejects.empty, validated.rejects.head()
    assert len(validated.customers) == N
    assert len(validated.equipment) == len(world.equipment)
    # The optional climate zone is sometimes unknown, and known zones are contract codes.
    zone = world.customers["climate_zone"]
    assert 0.05 < (zone == "").mean() < 0.3


def test_oracle_is_one_finite_positive_peak_per_customer(world: World) -> None:
    oracle = world.oracle
    assert list(oracle["customer_id"]) == list(world.customers["customer_id"])
    values = oracle["oracle_peak_kw"].to_numpy(dtype=float)
    assert np.isfinite(values).all() and (values > 0).all()


_COOLING = ("chiller", "split_ac", "refrigeration_compressor")


def _fully_shown(world: World) -> np.ndarray:
    """Customers whose application shows everything the world drew for them.

    A known zone and a list without cooling lines: not a cooling industry (those always
    list a cooling plant), so nothing was left off the list and nothing averaged.
    """
    eq = world.equipment
    cooled = set(eq.loc[eq["category"].isin(_COOLING), "customer_id"])
    listed = set(eq["customer_id"])
    c = world.customers
    return np.asarray(
        (c["climate_zone"] != "") & c["customer_id"].isin(listed) & ~c["customer_id"].isin(cooled)
    )


def test_metered_peak_is_the_oracle_times_the_stated_noise(world: World) -> None:
    shown = _fully_shown(world)
    assert shown.mean() > 0.3
    log_ratio = np.log(
        world.customers["peak_demand_kw"].to_numpy(dtype=float)
        / world.oracle["oracle_peak_kw"].to_numpy(dtype=float)
    )[shown]
    assert abs(float(np.median(log_ratio))) < 0.02
    assert 0.18 < float(np.std(log_ratio)) < 0.22  # the default noise, 0.2
    quiet = coincidence_world(300, SEED, noise=0.0)
    exact = _fully_shown(quiet)
    np.testing.assert_allclose(
        quiet.customers["peak_demand_kw"][exact], quiet.oracle["oracle_peak_kw"][exact], atol=0.006
    )


def test_oracle_is_the_expectation_over_what_the_application_hides() -> None:
    # Without noise the metered peak is the world's draw; where the application hides
    # draws (unlisted air-conditioners, an empty zone) the oracle is their mean: the
    # same on average, not customer by customer.
    quiet = coincidence_world(6000, SEED, noise=0.0)
    hidden = ~_fully_shown(quiet)
    peak = quiet.customers["peak_demand_kw"].to_numpy(dtype=float)[hidden]
    oracle = quiet.oracle["oracle_peak_kw"].to_numpy(dtype=float)[hidden]
    assert abs(peak.sum() / oracle.sum() - 1.0) < 0.03
    assert float(np.mean(np.abs(peak - oracle) > 0.01 * oracle)) > 0.1


def test_same_seed_same_world() -> None:
    a, b = coincidence_world(200, 9), coincidence_world(200, 9)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.equipment, b.equipment)
    pd.testing.assert_frame_equal(a.oracle, b.oracle)
    assert not coincidence_world(200, 10).customers.equals(a.customers)


def test_coincidence_falls_with_the_number_of_units() -> None:
    # One line per customer, no large units, no hidden cooling: the demand factor
    # (oracle / installed) of many units is below that of one unit (μ + z·σ, σ like √n).
    w = coincidence_world(
        4000, SEED, large_unit_share=0.0, unlisted_cooling_share=0.0, area_only_share=0.0
    )
    eq = w.equipment[~w.equipment["standby"]]
    single = eq.groupby("customer_id").filter(lambda g: len(g) == 1).set_index("customer_id")
    factor = w.oracle.set_index("customer_id")["oracle_peak_kw"].reindex(single.index) / (
        single["rated_kw"] * single["quantity"]
    )
    one = factor[single["quantity"] == 1].median()
    many = factor[single["quantity"] >= 10].median()
    assert many < one - 0.07, (one, many)


def test_large_units_set_their_customers_peak(world: World) -> None:
    eq = world.equipment[~world.equipment["standby"]]
    largest = eq.groupby("customer_id")["rated_kw"].max()
    big = largest[largest >= 150.0].index
    assert 0.03 < len(big) / N < 0.3
    # Such a customer's expected peak is mostly its largest unit's.
    oracle = world.oracle.set_index("customer_id")["oracle_peak_kw"]
    assert float((oracle[big] > 0.4 * largest[big]).mean()) > 0.8


def test_cooling_peaks_grow_with_the_climate_zone(world: World) -> None:
    # Customers whose installed kW is mostly cooling: their demand factor follows the zone.
    eq = world.equipment[~world.equipment["standby"]]
    kw = eq["rated_kw"] * eq["quantity"]
    cooling = kw.where(eq["category"].isin(_COOLING), 0)
    share = cooling.groupby(eq["customer_id"]).sum() / kw.groupby(eq["customer_id"]).sum()
    cooled = share[share > 0.6].index
    assert len(cooled) > 0.1 * N
    c = world.customers.set_index("customer_id").loc[cooled]
    factor = (world.oracle.set_index("customer_id")["oracle_peak_kw"] / _installed(world))[cooled]
    hot = factor[c["climate_zone"] == "hot_summer_warm_winter"].median()
    cold = factor[c["climate_zone"] == "severe_cold"].median()
    assert hot > cold + 0.15, (hot, cold)


def test_some_industries_are_small_groups(world: World) -> None:
    counts = world.customers["industry"].value_counts()
    assert counts.min() < 0.4 * counts.mean()
    assert counts.max() > 2.5 * counts.mean()
