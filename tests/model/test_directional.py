"""Directional tests: more installed equipment must never lower the answer.

With ``ModelConfig(monotone=True)`` the prediction ``log peak = log(base) + f(x)`` is
non-decreasing in every installed-kW feature: the base (the demand-coefficient P30) grows
with installed kW, and LightGBM's monotone constraints keep ``f`` from falling. Unit
counts are deliberately NOT constrained (many small units run less at once than few big
ones), so "adding a line" is only guaranteed in the parts that are constrained: see
:func:`test_adding_a_line_moves_only_constrained_features_and_unit_counts`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import EXCLUDED_CATEGORIES, HistoryFrames
from serving.core import Recommender
from training.data import LabelledHistory
from training.model import CapacityModel, monotone_vector

N_CUSTOMERS = 200
TOL = 1e-9  # log space


@pytest.fixture(scope="module")
def sample(labelled_history: LabelledHistory) -> HistoryFrames:
    """200 seeded customers that have at least one running equipment line."""
    customers = labelled_history.frames.customers
    equipment = labelled_history.frames.equipment
    running = equipment[~equipment["standby"] & ~equipment["category"].isin(EXCLUDED_CATEGORIES)]
    eligible = customers[customers["customer_id"].isin(set(running["customer_id"]))]
    rng = np.random.default_rng(21)
    cust = eligible.iloc[np.sort(rng.choice(len(eligible), N_CUSTOMERS, replace=False))]
    cust = cust.reset_index(drop=True)
    eq = equipment[equipment["customer_id"].isin(set(cust["customer_id"]))].reset_index(drop=True)
    return HistoryFrames(cust, eq)


def _variants(sample: HistoryFrames, factor: float) -> tuple[HistoryFrames, np.ndarray]:
    """One variant per (customer, running category): that category's running lines × factor.

    Returns the variant frames and, per variant, the row of its original customer.
    """
    cust, eq = sample.customers, sample.equipment
    row_of = pd.Series(np.arange(len(cust)), index=cust["customer_id"].astype(str))
    running = ~eq["standby"] & ~eq["category"].isin(EXCLUDED_CATEGORIES)
    pairs = eq.loc[running, ["customer_id", "category"]].drop_duplicates()
    new_cust, new_eq, origin = [], [], []
    for category, group in pairs.groupby("category"):
        ids = set(group["customer_id"])
        c = cust[cust["customer_id"].isin(ids)].copy()
        e = eq[eq["customer_id"].isin(ids)].copy()
        scale = running.loc[e.index] & (e["category"] == category)
        e.loc[scale, "rated_kw"] = e.loc[scale, "rated_kw"] * factor
        origin.append(row_of[c["customer_id"].astype(str)].to_numpy())
        c["customer_id"] = c["customer_id"].astype(str) + f"|{category}"
        e["customer_id"] = e["customer_id"].astype(str) + f"|{category}"
        new_cust.append(c)
        new_eq.append(e)
    frames = HistoryFrames(
        pd.concat(new_cust, ignore_index=True), pd.concat(new_eq, ignore_index=True)
    )
    return frames, np.concatenate(origin)


def test_fixture_model_is_monotone(trained_model: CapacityModel) -> None:
    assert trained_model.config.monotone
    names = trained_model.builder.feature_names_
    vector = monotone_vector(names)
    constrained = {n for n, v in zip(names, vector, strict=True) if v == 1}
    assert {"total_kw", "eng_p30_kw", "largest_unit_kw", "kw__pump", "largest__pump"} <= constrained
    # Unit counts, standby kW and scale fields are free (documented design).
    assert not constrained & {"units__pump", "total_units", "standby_kw", "floor_area_m2"}


@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_scaling_a_categorys_ratings_never_lowers_the_peak(
    trained_model: CapacityModel, sample: HistoryFrames, factor: float
) -> None:
    base = trained_model.predict(sample)
    frames, origin = _variants(sample, factor)
    assert len(frames) > 2 * N_CUSTOMERS  # several categories per customer
    scaled = trained_model.predict(frames)
    diff = scaled.mu - base.mu[origin]
    worst = int(np.argmin(diff))
    assert diff.min() >= -TOL, (
        f"peak fell by {diff[worst]:.3g} (log) for {frames.customers['customer_id'].iloc[worst]}"
    )
    # The base moves strictly: the test would notice a model that ignored the change.
    assert (diff > 1e-6).mean() > 0.95


def _scale_all(sample: HistoryFrames, factor: float) -> HistoryFrames:
    eq = sample.equipment.copy()
    running = ~eq["standby"] & ~eq["category"].isin(EXCLUDED_CATEGORIES)
    eq.loc[running, "rated_kw"] = eq.loc[running, "rated_kw"] * factor
    return HistoryFrames(sample.customers, eq)


def test_tripling_installed_kw_never_lowers_the_recommended_capacity(
    trained_model: CapacityModel, sample: HistoryFrames
) -> None:
    base = trained_model.predict(sample)
    big = trained_model.predict(_scale_all(sample, 3.0))
    assert np.all(big.mu - base.mu >= -TOL)
    assert np.all(big.recommended_kva >= base.recommended_kva)
    assert (big.recommended_kva > base.recommended_kva).mean() > 0.9


def test_tripling_installed_kw_never_lowers_the_served_capacity(
    trained_model: CapacityModel, sample: HistoryFrames
) -> None:
    """The same through the service's batch path (policy, then sanity bounds)."""
    rec = Recommender(trained_model, "test")
    before = rec.score_frames(sample.customers, sample.equipment)
    big = _scale_all(sample, 3.0)
    after = rec.score_frames(big.customers, big.equipment)
    assert np.all(after["recommended_kva"].to_numpy() >= before["recommended_kva"].to_numpy())


def test_adding_a_line_moves_only_constrained_features_and_unit_counts(
    trained_model: CapacityModel, sample: HistoryFrames
) -> None:
    """Adding a running line of a category already present.

    The predicted peak is NOT guaranteed to stay or grow (unit counts are unconstrained
    by design and can pull it down slightly), so this test pins what IS guaranteed: every
    feature that changes is either monotone-constrained and grows, or a unit count.
    """
    cust, eq = sample.customers, sample.equipment
    running = eq[~eq["standby"] & ~eq["category"].isin(EXCLUDED_CATEGORIES)]
    extra = running.groupby("customer_id", sort=False).head(1).assign(quantity=3)
    before = trained_model.features(HistoryFrames(cust, eq))
    after = trained_model.features(HistoryFrames(cust, pd.concat([eq, extra], ignore_index=True)))
    names = trained_model.builder.feature_names_
    vector = dict(zip(names, monotone_vector(names), strict=True))
    numeric = [n for n in names if n not in trained_model.builder.categorical_features_]
    changed = [n for n in numeric if not np.array_equal(before[n], after[n], equal_nan=True)]
    free = {n for n in changed if vector[n] == 0}
    assert free <= {"total_units"} | {n for n in names if n.startswith("units__")}, free
    for n in changed:
        if vector[n] == 1:
            b, a = before[n].to_numpy(), after[n].to_numpy()
            ok = np.isnan(b) & np.isnan(a) | (a >= b)
            assert ok.all(), n
    base_before = trained_model.builder.base_kw(before)
    base_after = trained_model.builder.base_kw(after)
    assert np.all(base_after > base_before)


def _area_only(labelled_history: LabelledHistory) -> pd.DataFrame:
    cust = labelled_history.frames.customers
    eq = labelled_history.frames.equipment
    with_lines = set(eq.loc[~eq["standby"], "customer_id"])
    keep = ~cust["customer_id"].isin(with_lines) & cust["floor_area_m2"].notna()
    return cust[keep].reset_index(drop=True)


@pytest.mark.parametrize("factor", [1.01, 1.05, 1.2, 1.5, 2.0, 3.0, 10.0])
def test_more_floor_area_never_lowers_an_area_only_peak_without_headcount(
    trained_model: CapacityModel, labelled_history: LabelledHistory, factor: float
) -> None:
    """Area-only applications without a staff count.

    Not guaranteed by construction: ``floor_area_m2`` is an unconstrained feature, so the
    trees may pull against the area-density base, which grows in proportion to the area.
    With a staff count, ``m2_per_employee`` (also unconstrained) moves as well, and on the
    fixture history a +1 % / +5 % larger floor area DOES lower one customer's predicted
    peak by about 1 % (reported as a design issue), which is why this test drops the
    headcount instead of asserting the general property.
    """
    area_only = _area_only(labelled_history).assign(employees=np.nan)
    assert len(area_only) >= 50
    no_eq = labelled_history.frames.equipment.iloc[:0]
    base = trained_model.predict(HistoryFrames(area_only, no_eq))
    bigger = area_only.assign(floor_area_m2=area_only["floor_area_m2"] * factor)
    pred = trained_model.predict(HistoryFrames(bigger, no_eq))
    assert (pred.features["has_equipment"] == 0).all()
    diff = pred.mu - base.mu
    assert diff.min() >= -TOL, area_only["customer_id"].iloc[int(np.argmin(diff))]


@pytest.mark.parametrize("factor", [1.5, 2.0, 3.0, 10.0])
def test_much_more_floor_area_never_lowers_an_area_only_answer(
    trained_model: CapacityModel, labelled_history: LabelledHistory, factor: float
) -> None:
    """With the staff count as submitted: large area increases must win over the trees."""
    area_only = _area_only(labelled_history)
    no_eq = labelled_history.frames.equipment.iloc[:0]
    base = trained_model.predict(HistoryFrames(area_only, no_eq))
    bigger = area_only.assign(floor_area_m2=area_only["floor_area_m2"] * factor)
    pred = trained_model.predict(HistoryFrames(bigger, no_eq))
    assert np.all(pred.mu - base.mu >= -TOL)
    assert np.all(pred.recommended_kva >= base.recommended_kva)


@pytest.mark.parametrize("industry", ["office", "machinery", "logistics", "data_center"])
def test_floor_area_sweep_gives_a_non_decreasing_peak(
    trained_model: CapacityModel, labelled_history: LabelledHistory, industry: str
) -> None:
    areas = np.geomspace(50.0, 300_000.0, 300)
    cust = pd.DataFrame(
        {
            "customer_id": [f"a{k}" for k in range(len(areas))],
            "industry": industry,
            "climate_zone": "cold",
            "floor_area_m2": areas,
            "employees": np.nan,
            "shifts": 1.0,
        }
    )
    pred = trained_model.predict(HistoryFrames(cust, labelled_history.frames.equipment.iloc[:0]))
    assert np.all(np.diff(pred.mu) >= -TOL)
    # The recommended tier is only coarsely monotone (see tests/unit/test_policy.py): it
    # never falls below the answer for an area at least 10 % smaller.
    rec = pred.recommended_kva
    k = int(np.ceil(np.log(1.1) / np.log(areas[1] / areas[0])))
    assert np.all(rec[k:] >= np.maximum.accumulate(rec)[:-k])
