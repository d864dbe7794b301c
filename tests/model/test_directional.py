"""Directional tests: more installed equipment (or floor area) must never lower the answer.

With ``ModelConfig(monotone=True)`` the prediction ``log peak = log(base) + f(x)`` is
non-decreasing in everything that grows when a running line is added or a rating is
raised: the base (the demand-coefficient P30, with K∑ applied to every equipment list,
feature spec 2) grows, and LightGBM's monotone constraints keep ``f`` from falling in
every installed-kW feature, every unit count, the number of groups and the floor area.
The recommended capacity comes from monotone decision tables, so it follows the predicted
peak (for predicted peaks inside ``MU_RANGE``).

Not covered (not guaranteed): the FIRST running line of an application that had none
(the base switches from the area-density to the equipment method and the conformal
group changes), and a larger floor area for an application WITH equipment (the kW/m²
densities fall).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from features.build import EXCLUDED_CATEGORIES, FEATURE_SPEC_VERSION, HistoryFrames
from serving.core import Recommender
from serving.model.policy import MU_RANGE, recommend_tiers
from serving.model.predictor import CapacityModel, Prediction
from training.data import LabelledHistory
from training.model import monotone_vector

N_CUSTOMERS = 200
TOL = 1e-9  # log space
FREE_FEATURES = {"employees", "shifts", "has_equipment", "industry", "climate_zone"}
"""The only features left unconstrained (none of them moves when equipment is added)."""


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


def _running(eq: pd.DataFrame) -> pd.Series:
    return ~eq["standby"] & ~eq["category"].isin(EXCLUDED_CATEGORIES)


def _in_range(*preds: Prediction) -> np.ndarray:
    """Rows whose predicted peak lies inside the decision tables in every prediction."""
    ok = np.ones(len(preds[0].mu), dtype=bool)
    for p in preds:
        ok &= (p.mu >= MU_RANGE[0]) & (p.mu <= MU_RANGE[1])
    return ok


def _variants(sample: HistoryFrames, factor: float) -> tuple[HistoryFrames, np.ndarray]:
    """One variant per (customer, running category): that category's running lines × factor.

    Returns the variant frames and, per variant, the row of its original customer.
    """
    cust, eq = sample.customers, sample.equipment
    row_of = pd.Series(np.arange(len(cust)), index=cust["customer_id"].astype(str))
    running = _running(eq)
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


def _with_extra_lines(
    sample: HistoryFrames, extra: pd.DataFrame
) -> tuple[HistoryFrames, np.ndarray]:
    """One variant per row of ``extra``: its customer with all lines plus that one line.

    ``extra`` has the equipment columns, ``customer_id`` naming the original customer.
    Returns the variant frames and, per variant, the row of its original customer.
    """
    cust, eq = sample.customers, sample.equipment
    row_of = pd.Series(np.arange(len(cust)), index=cust["customer_id"].astype(str))
    extra = extra.reset_index(drop=True)
    ids = pd.DataFrame(
        {
            "customer_id": extra["customer_id"].astype(str),
            "variant": [f"{c}|+{k}" for k, c in enumerate(extra["customer_id"].astype(str))],
        }
    )
    c = ids.merge(cust.assign(customer_id=cust["customer_id"].astype(str)), on="customer_id")
    e = ids.merge(eq.assign(customer_id=eq["customer_id"].astype(str)), on="customer_id")
    c = c.drop(columns="customer_id").rename(columns={"variant": "customer_id"})
    e = e.drop(columns="customer_id").rename(columns={"variant": "customer_id"})
    added = extra.assign(customer_id=ids["variant"])
    frames = HistoryFrames(
        c[cust.columns].reset_index(drop=True),
        pd.concat([e[eq.columns], added[eq.columns]], ignore_index=True),
    )
    origin = row_of[extra["customer_id"].astype(str)].to_numpy()
    assert list(frames.customers["customer_id"]) == list(ids["variant"])
    return frames, origin


def _line(customer_id: str, category: str, rated_kw: float, quantity: int = 1) -> dict:
    return {
        "customer_id": customer_id,
        "category": category,
        "rated_kw": float(rated_kw),
        "quantity": int(quantity),
        "standby": False,
        "name": "added",
        "change": "add",
    }


def _assert_never_lower(
    model: CapacityModel, sample: HistoryFrames, frames: HistoryFrames, origin: np.ndarray
) -> np.ndarray:
    """Predicted peak and recommended capacity of every variant >= its original's."""
    base = model.predict(sample)
    pred = model.predict(frames)
    diff = pred.mu - base.mu[origin]
    worst = int(np.argmin(diff))
    ids = frames.customers["customer_id"]
    assert diff.min() >= -TOL, (
        f"peak fell for {(diff < -TOL).sum()} of {len(diff)} variants, worst by "
        f"{diff[worst]:.3g} (log) for {ids.iloc[worst]}: "
        f"{np.exp(base.mu[origin][worst]):.6g} -> {np.exp(pred.mu[worst]):.6g} kW"
    )
    # Same conformal group (industry, has equipment) and a peak at least as high: the
    # monotone decision tables cannot give a smaller capacity.
    np.testing.assert_array_equal(pred.groups, base.groups[origin])
    ok = _in_range(pred) & _in_range(base)[origin]
    assert ok.mean() > 0.99
    lower = ok & (pred.recommended_kva < base.recommended_kva[origin])
    assert not lower.any(), ids[lower].tolist()[:5]
    return diff


# -- the constraint set -----------------------------------------------------------------


def test_fixture_model_is_monotone(trained_model: CapacityModel) -> None:
    assert trained_model.config.monotone
    names = trained_model.builder.feature_names_
    vector = monotone_vector(names)
    constrained = {n for n, v in zip(names, vector, strict=True) if v == 1}
    free = {n for n, v in zip(names, vector, strict=True) if v == 0}
    categories = trained_model.builder.categories_
    per_category = {f"{p}__{c}" for c in categories for p in ("kw", "units", "largest")}
    assert per_category <= constrained
    assert {
        "total_kw",
        "total_units",
        "n_groups",
        "largest_unit_kw",
        "base_kw",
        "eng_p30_kw",
        "eng_s30_kva",
        "floor_area_m2",
        "kw_per_m2",
        "kw_per_employee",
        "eng_kw_per_m2",
        "kw__pump",
        "units__pump",
        "largest__pump",
    } <= constrained
    # Only fields that adding equipment or floor area cannot move stay free.
    assert free == FREE_FEATURES
    # Spares and the floor area per employee are no features at all (spec 2).
    assert "standby_kw" not in names and "m2_per_employee" not in names
    assert trained_model.builder.feature_spec_version_ == FEATURE_SPEC_VERSION
    # And the booster was really trained with exactly this constraint vector.
    text = trained_model.booster.model_to_string()
    found = re.search(r"^\[monotone_constraints: ([^\]]*)\]", text, re.MULTILINE)
    assert found is not None
    assert [int(v) for v in found.group(1).split(",")] == vector


# -- raising ratings --------------------------------------------------------------------


@pytest.mark.parametrize("factor", [1.01, 1.5, 3.0])
def test_scaling_a_categorys_ratings_never_lowers_the_peak(
    trained_model: CapacityModel, sample: HistoryFrames, factor: float
) -> None:
    frames, origin = _variants(sample, factor)
    assert len(frames) > 2 * N_CUSTOMERS  # several categories per customer
    diff = _assert_never_lower(trained_model, sample, frames, origin)
    # The base moves strictly: the test would notice a model that ignored the change.
    assert (diff > 1e-6).mean() > 0.95


def _scale_all(sample: HistoryFrames, factor: float) -> HistoryFrames:
    eq = sample.equipment.copy()
    running = _running(eq)
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


# -- adding lines -----------------------------------------------------------------------


def test_adding_a_line_moves_only_constrained_features_upwards(
    trained_model: CapacityModel, sample: HistoryFrames
) -> None:
    """Adding a running line of a category already present: every feature that changes
    is monotone-constrained and grows, and the base of the target grows strictly."""
    cust, eq = sample.customers, sample.equipment
    running = eq[_running(eq)]
    extra = running.groupby("customer_id", sort=False).head(1).assign(quantity=3)
    before = trained_model.features(HistoryFrames(cust, eq))
    after = trained_model.features(HistoryFrames(cust, pd.concat([eq, extra], ignore_index=True)))
    names = trained_model.builder.feature_names_
    vector = dict(zip(names, monotone_vector(names), strict=True))
    numeric = [n for n in names if n not in trained_model.builder.categorical_features_]
    changed = [n for n in numeric if not np.array_equal(before[n], after[n], equal_nan=True)]
    assert {"total_kw", "total_units", "eng_p30_kw"} <= set(changed)
    free = {n for n in changed if vector[n] == 0}
    assert not free, free
    for n in changed:
        b, a = before[n].to_numpy(), after[n].to_numpy()
        ok = np.isnan(b) & np.isnan(a) | (a >= b)
        assert ok.all(), n
    base_before = trained_model.builder.base_kw(before)
    base_after = trained_model.builder.base_kw(after)
    assert np.all(base_after > base_before)


def test_adding_a_line_of_a_present_category_never_lowers_the_peak(
    trained_model: CapacityModel, sample: HistoryFrames
) -> None:
    """Per (customer, running category): one more line, tiny, like the others, or big."""
    eq = sample.equipment
    running = eq[_running(eq)]
    lines = []
    for (cid, category), group in running.groupby(["customer_id", "category"], sort=False):
        for rated, qty in ((0.05, 1), (float(group["rated_kw"].median()), 1), (250.0, 4)):
            lines.append(_line(str(cid), str(category), rated, qty))
    frames, origin = _with_extra_lines(sample, pd.DataFrame(lines))
    assert len(set(origin)) == N_CUSTOMERS
    assert len(frames) > 6 * N_CUSTOMERS
    diff = _assert_never_lower(trained_model, sample, frames, origin)
    assert (diff > 1e-6).mean() > 0.9  # the added line is seen


def test_adding_a_line_of_a_new_category_never_lowers_the_peak(
    trained_model: CapacityModel, sample: HistoryFrames
) -> None:
    """Per customer and every category it does not run yet: one small or one big line."""
    eq = sample.equipment
    categories = trained_model.builder.categories_
    present = eq[_running(eq)].groupby("customer_id")["category"].agg(set)
    lines = []
    for cid in sample.customers["customer_id"].astype(str):
        for category in categories:
            if category in present[cid]:
                continue
            lines.append(_line(cid, category, 0.2))
            lines.append(_line(cid, category, 75.0, 2))
    frames, origin = _with_extra_lines(sample, pd.DataFrame(lines))
    assert len(set(origin)) == N_CUSTOMERS
    assert len(frames) > 20 * N_CUSTOMERS
    diff = _assert_never_lower(trained_model, sample, frames, origin)
    assert (diff > 1e-6).mean() > 0.9


def test_a_small_second_category_never_lowers_a_single_category_application(
    trained_model: CapacityModel, labelled_history: LabelledHistory
) -> None:
    """The reported case: K∑ used to apply from two groups on, so a small second group
    lowered the engineering base (and the peak) by about 10 %. Every single-category
    customer of the history, plus one tiny line of each other category."""
    frames = labelled_history.frames
    eq = frames.equipment
    n_cat = eq[_running(eq)].groupby("customer_id")["category"].agg(set)
    single = n_cat[n_cat.map(len) == 1]
    assert len(single) >= 30
    cust = frames.customers[frames.customers["customer_id"].isin(set(single.index))]
    sample = HistoryFrames(
        cust.reset_index(drop=True),
        eq[eq["customer_id"].isin(set(single.index))].reset_index(drop=True),
    )
    lines = [
        _line(cid, other, 0.1)
        for cid, cats in single.items()
        for other in trained_model.builder.categories_
        if other not in cats
    ]
    variants, origin = _with_extra_lines(sample, pd.DataFrame(lines))
    before = trained_model.features(sample)
    after = trained_model.features(variants)
    base_before = trained_model.builder.base_kw(before)[origin]
    base_after = trained_model.builder.base_kw(after)
    assert np.all(base_after > base_before)
    np.testing.assert_array_equal(after["n_groups"].to_numpy(), 2.0)
    _assert_never_lower(trained_model, sample, variants, origin)


# -- floor area of area-only applications -----------------------------------------------


def _area_only(labelled_history: LabelledHistory) -> pd.DataFrame:
    cust = labelled_history.frames.customers
    eq = labelled_history.frames.equipment
    with_lines = set(eq.loc[_running(eq), "customer_id"])
    keep = ~cust["customer_id"].isin(with_lines) & cust["floor_area_m2"].notna()
    return cust[keep].reset_index(drop=True)


@pytest.mark.parametrize("headcount", ["as_submitted", "none", "one", "many"])
@pytest.mark.parametrize("factor", [1.001, 1.01, 1.05, 1.2, 1.5, 2.0, 3.0, 10.0])
def test_more_floor_area_never_lowers_an_area_only_answer(
    trained_model: CapacityModel,
    labelled_history: LabelledHistory,
    factor: float,
    headcount: str,
) -> None:
    """Area-only applications, with the staff count as submitted, without, or fixed."""
    area_only = _area_only(labelled_history)
    assert len(area_only) >= 50
    if headcount == "as_submitted":
        assert area_only["employees"].notna().sum() >= 20
    else:
        employees = {"none": np.nan, "one": 1.0, "many": 5000.0}[headcount]
        area_only = area_only.assign(employees=employees)
    no_eq = labelled_history.frames.equipment.iloc[:0]
    base = trained_model.predict(HistoryFrames(area_only, no_eq))
    bigger = area_only.assign(floor_area_m2=area_only["floor_area_m2"] * factor)
    pred = trained_model.predict(HistoryFrames(bigger, no_eq))
    assert (pred.features["has_equipment"] == 0).all()
    diff = pred.mu - base.mu
    worst = int(np.argmin(diff))
    assert diff.min() >= -TOL, (
        f"peak fell by {diff[worst]:.3g} (log) for {area_only['customer_id'].iloc[worst]}"
    )
    ok = _in_range(base, pred)
    assert ok.mean() > 0.95
    np.testing.assert_array_equal(pred.groups, base.groups)
    assert np.all(pred.recommended_kva[ok] >= base.recommended_kva[ok])


@pytest.mark.parametrize("employees", [np.nan, 40.0])
@pytest.mark.parametrize("industry", ["office", "machinery", "logistics", "data_center"])
def test_floor_area_sweep_gives_a_non_decreasing_answer(
    trained_model: CapacityModel,
    labelled_history: LabelledHistory,
    industry: str,
    employees: float,
) -> None:
    areas = np.geomspace(50.0, 300_000.0, 3000)
    cust = pd.DataFrame(
        {
            "customer_id": [f"a{k}" for k in range(len(areas))],
            "industry": industry,
            "climate_zone": "cold",
            "floor_area_m2": areas,
            "employees": employees,
            "shifts": 1.0,
        }
    )
    pred = trained_model.predict(HistoryFrames(cust, labelled_history.frames.equipment.iloc[:0]))
    assert np.all(np.diff(pred.mu) >= -TOL)
    # The recommended capacity too, wherever the predicted peak is inside the tables
    # (0.5 kW to 50 MW; a data centre of 300,000 m² is beyond).
    ok = _in_range(pred)
    assert ok.sum() > 1000
    rec = pred.recommended_kva[ok]
    assert np.all(np.diff(rec) >= 0), areas[ok][1:][np.diff(rec) < 0][:5]
    assert rec[-1] > rec[0]


# -- the recommended capacity follows the predicted peak --------------------------------


def test_rating_sweep_through_predict_gives_a_non_decreasing_answer(
    trained_model: CapacityModel, labelled_history: LabelledHistory
) -> None:
    """One machinery application whose pump rating sweeps finely from 1 kW to 40 MW."""
    ratings = np.geomspace(1.0, 4.0e4, 4000)
    n = len(ratings)
    ids = [f"r{k}" for k in range(n)]
    cust = pd.DataFrame(
        {
            "customer_id": ids,
            "industry": "machinery",
            "climate_zone": "cold",
            "floor_area_m2": 2000.0,
            "employees": 50.0,
            "shifts": 2.0,
        }
    )
    machine_tools = pd.DataFrame([_line(c, "machine_tool", 7.5, 6) for c in ids])
    pumps = pd.DataFrame([_line(c, "pump", r) for c, r in zip(ids, ratings, strict=True)])
    eq = pd.concat([machine_tools, pumps], ignore_index=True)
    eq = eq.astype(labelled_history.frames.equipment.dtypes.to_dict())
    pred = trained_model.predict(HistoryFrames(cust, eq))
    assert np.all(np.diff(pred.mu) >= -TOL)
    ok = _in_range(pred)
    assert ok.sum() > 0.9 * n
    rec = pred.recommended_kva[ok]
    assert np.all(np.diff(rec) >= 0), ratings[ok][1:][np.diff(rec) < 0][:5]
    assert len(np.unique(rec)) > 20  # the sweep crosses many tiers
    rows = np.arange(n)
    np.testing.assert_array_equal(pred.probs.tiers[pred.chosen], pred.recommended_kva)
    assert np.all(pred.probs.p_appropriate[rows, pred.chosen] >= 0)


@pytest.mark.slow
def test_recommended_capacity_is_monotone_in_the_models_predicted_peak(
    trained_model: CapacityModel,
) -> None:
    """A fine sweep of mu over the whole table range, per calibration group of the model
    (and an unknown group, which resolves to the pooled residuals)."""
    cal, policy = trained_model.calibrator, trained_model.config.policy
    tables = trained_model.decision_tables
    sweep = np.linspace(MU_RANGE[0], MU_RANGE[1], 120_001)
    # Points right on and right next to the table's grid points.
    grid = tables.grid[tables.grid <= MU_RANGE[1]]
    mu = np.unique(np.concatenate([sweep, grid, grid - 1e-12, grid + 1e-12]))
    mu = mu[(mu >= MU_RANGE[0]) & (mu <= MU_RANGE[1])]
    for group in [*cal.residuals_, "never-seen-group"]:
        rec = np.concatenate(
            [
                recommend_tiers(chunk, np.full(len(chunk), group), cal, policy, tables)[0]
                for chunk in np.array_split(mu, 40)
            ]
        )
        falls = np.flatnonzero(np.diff(rec) < 0)
        assert falls.size == 0, (
            f"group {group}: {rec[falls[0]]} -> {rec[falls[0] + 1]} kVA at "
            f"peak {np.exp(mu[falls[0]]):.6g} -> {np.exp(mu[falls[0] + 1]):.6g} kW"
        )
        assert rec[0] == 30.0 and rec[-1] > 50_000.0


def test_fitted_demand_factors_are_non_negative_and_recover_a_known_world() -> None:
    """The base's demand factors: >= 0 (monotone base) and close to a known truth."""
    from features.build import fit_demand_factors

    rng = np.random.default_rng(0)
    n, n_cat = 4000, 5
    demand = rng.exponential(10.0, (n, n_cat)) * (rng.random((n, n_cat)) < 0.6)
    demand[demand.sum(axis=1) == 0, 0] = 5.0
    truth = np.array([0.4, 1.2, 0.8, 0.0, 2.0])
    peak = (demand @ truth + 1e-3) * np.exp(rng.normal(0, 0.1, n))
    m = fit_demand_factors(demand, peak, prior_rows=1.0)
    assert (m >= 0).all()
    assert np.allclose(m, truth, atol=0.15), m
    # A category never seen keeps the common multiplier instead of a free guess.
    demand[:, 3] = 0.0
    m2 = fit_demand_factors(demand, peak, prior_rows=10.0)
    with np.errstate(divide="ignore"):
        ratio = peak / demand.sum(axis=1)
    assert m2[3] == pytest.approx(float(np.median(ratio[np.isfinite(ratio)])), rel=1e-6)
