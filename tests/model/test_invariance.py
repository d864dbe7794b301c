"""Invariance tests: things that must NOT change the prediction.

Order of customers and equipment rows, customer ids, how identical units are split over
lines, free-text names, batch size, and standby units and fire pumps: since feature spec 2
they are no model feature at all, so adding or removing them leaves every feature, the
base and the whole prediction bit-identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import FEATURE_SPEC_VERSION, HistoryFrames
from features.engineering import engineering_estimate_frame
from serving.model.predictor import CapacityModel, Prediction
from training.data import LabelledHistory

N_SAMPLE = 300
# Reordering or splitting equipment rows changes the order of floating-point sums (the
# per-category installed kW), which may move the last bit of the engineering base; any
# real dependence would show up many orders of magnitude above this.
LOG_ATOL = 1e-12


@pytest.fixture(scope="module")
def sample(labelled_history: LabelledHistory) -> HistoryFrames:
    """300 seeded random customers with all their equipment lines."""
    customers = labelled_history.frames.customers
    equipment = labelled_history.frames.equipment
    rng = np.random.default_rng(11)
    rows = np.sort(rng.choice(len(customers), N_SAMPLE, replace=False))
    cust = customers.iloc[rows].reset_index(drop=True)
    eq = equipment[equipment["customer_id"].isin(set(cust["customer_id"]))].reset_index(drop=True)
    return HistoryFrames(cust, eq)


def _table(pred: Prediction, ids: pd.Series | np.ndarray) -> pd.DataFrame:
    """Everything a consumer sees of a prediction, one row per customer id."""
    rows = np.arange(len(pred.mu))
    return pd.DataFrame(
        {
            "mu": pred.mu,
            "peak_kw": pred.peak_kw,
            "low90": pred.low90,
            "high90": pred.high90,
            "low80": pred.low80,
            "high80": pred.high80,
            "recommended_kva": pred.recommended_kva,
            "p_appropriate": pred.probs.p_appropriate[rows, pred.chosen],
            "p_undersized": pred.probs.p_undersized[rows, pred.chosen],
        },
        index=pd.Index(np.asarray(ids).astype(str), name="customer_id"),
    )


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, atol: float = 0.0) -> None:
    b = b.loc[a.index]
    np.testing.assert_array_equal(a["recommended_kva"], b["recommended_kva"])
    for col in ("mu", "low90", "high90", "low80", "high80"):
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=atol, err_msg=col)
    np.testing.assert_allclose(a["peak_kw"], b["peak_kw"], rtol=max(atol, 1e-15), atol=0)
    np.testing.assert_allclose(a["p_appropriate"], b["p_appropriate"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(a["p_undersized"], b["p_undersized"], rtol=0, atol=1e-12)


def _predict(model: CapacityModel, cust: pd.DataFrame, eq: pd.DataFrame) -> pd.DataFrame:
    frames = HistoryFrames(cust.reset_index(drop=True), eq.reset_index(drop=True))
    return _table(model.predict(frames), frames.customers["customer_id"])


@pytest.fixture(scope="module")
def reference(trained_model: CapacityModel, sample: HistoryFrames) -> pd.DataFrame:
    return _predict(trained_model, sample.customers, sample.equipment)


def test_sample_covers_the_interesting_cases(sample: HistoryFrames) -> None:
    eq = sample.equipment
    with_lines = set(eq.loc[~eq["standby"], "customer_id"])
    assert (~sample.customers["customer_id"].isin(with_lines)).sum() >= 5  # area-only etc.
    assert eq["standby"].sum() >= 20
    assert (eq["quantity"] == 2).sum() >= 20


# -- (a) order --------------------------------------------------------------------------


def test_order_of_customers_and_equipment_rows(
    trained_model: CapacityModel, sample: HistoryFrames, reference: pd.DataFrame
) -> None:
    rng = np.random.default_rng(1)
    cust = sample.customers.iloc[rng.permutation(len(sample.customers))]
    eq = sample.equipment.iloc[rng.permutation(len(sample.equipment))]
    shuffled = _predict(trained_model, cust, eq)
    assert list(shuffled.index) == list(cust["customer_id"])  # answers follow the input order
    _assert_same(reference, shuffled, atol=LOG_ATOL)


def test_order_of_customers_alone_is_bit_identical(
    trained_model: CapacityModel, sample: HistoryFrames, reference: pd.DataFrame
) -> None:
    cust = sample.customers.iloc[::-1]
    _assert_same(reference, _predict(trained_model, cust, sample.equipment))


# -- (b) ids ----------------------------------------------------------------------------


def test_renaming_customer_ids(
    trained_model: CapacityModel, sample: HistoryFrames, reference: pd.DataFrame
) -> None:
    rng = np.random.default_rng(2)
    old = sample.customers["customer_id"].astype(str)
    # New ids in a different sort order, some numeric-looking, some non-ASCII.
    styles = ["{:07d}", "客户-{}", "zz{}", "A{}-x"]
    new = [styles[k % 4].format(int(v)) for k, v in enumerate(rng.permutation(len(old)) + 1)]
    mapping = dict(zip(old, new, strict=True))
    cust = sample.customers.assign(customer_id=old.map(mapping))
    eq = sample.equipment.assign(customer_id=sample.equipment["customer_id"].map(mapping))
    renamed = _predict(trained_model, cust, eq)
    renamed.index = renamed.index.map({v: k for k, v in mapping.items()})
    _assert_same(reference, renamed)


# -- (c) splitting lines ----------------------------------------------------------------


def test_splitting_a_quantity_two_line_into_two_single_lines(
    trained_model: CapacityModel, sample: HistoryFrames, reference: pd.DataFrame
) -> None:
    eq = sample.equipment
    twos = eq["quantity"] == 2
    single = eq[twos].assign(quantity=1)
    split = pd.concat([eq[~twos], single, single], ignore_index=True)
    assert len(split) == len(eq) + twos.sum()
    _assert_same(reference, _predict(trained_model, sample.customers, split), atol=LOG_ATOL)


def test_splitting_any_line_into_unit_lines(
    trained_model: CapacityModel, sample: HistoryFrames, reference: pd.DataFrame
) -> None:
    eq = sample.equipment
    small = eq["quantity"].between(2, 12)
    units = eq[small].loc[eq[small].index.repeat(eq.loc[small, "quantity"])].assign(quantity=1)
    split = pd.concat([eq[~small], units], ignore_index=True)
    _assert_same(reference, _predict(trained_model, sample.customers, split), atol=LOG_ATOL)


# -- (d) free-text names ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["empty", "junk", "misleading"])
def test_name_column_is_ignored(
    trained_model: CapacityModel, sample: HistoryFrames, reference: pd.DataFrame, kind: str
) -> None:
    n = len(sample.equipment)
    names = {
        "empty": [""] * n,
        "junk": [f"xyz{k} 备注 !!" for k in range(n)],
        # Names of other categories: the category code, not the name, must count.
        "misleading": ["感应电炉 2000kW"] * n,
    }[kind]
    eq = sample.equipment.assign(name=names)
    _assert_same(reference, _predict(trained_model, sample.customers, eq))


def test_name_is_not_a_feature(trained_model: CapacityModel) -> None:
    assert not any(
        f == "name" or f.startswith("name") for f in trained_model.builder.feature_names_
    )


# -- (e) standby units ------------------------------------------------------------------


def _engineering(model: CapacityModel, cust: pd.DataFrame, eq: pd.DataFrame) -> pd.DataFrame:
    return engineering_estimate_frame(eq, cust, model.builder.engineering_)


def _spare_lines(cust: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    categories = ["pump", "air_compressor", "chiller", "refrigeration_compressor", "fan"]
    return pd.DataFrame(
        {
            "customer_id": cust["customer_id"].to_numpy(),
            "category": rng.choice(categories, len(cust)),
            "rated_kw": rng.choice([7.5, 37.0, 110.0, 400.0], len(cust)),
            "quantity": rng.integers(1, 4, len(cust)),
            "standby": True,
            "name": "备用",
        }
    )


def test_standby_and_fire_pumps_are_no_model_features(trained_model: CapacityModel) -> None:
    """Feature spec 2+: neither spares nor the floor area per employee are features."""
    assert FEATURE_SPEC_VERSION >= 2
    assert trained_model.builder.feature_spec_version_ == FEATURE_SPEC_VERSION
    names = trained_model.builder.feature_names_
    assert "standby_kw" not in names and "m2_per_employee" not in names
    assert not [n for n in names if "standby" in n or "fire_pump" in n or "spare" in n]


CHANGES = [
    "add_spares",
    "remove_spares",
    "add_fire_pumps",
    "add_standby_fire_pumps",
    "running_lines_as_spares",
]


def _standby_change(sample: HistoryFrames, change: str) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    cust, eq = sample.customers, sample.equipment
    if change == "add_spares":
        return pd.concat([eq, _spare_lines(cust, rng)], ignore_index=True)
    if change == "remove_spares":
        return eq[~eq["standby"]].reset_index(drop=True)
    if change == "add_fire_pumps":
        fire = _spare_lines(cust, rng).assign(category="fire_pump", standby=False, name="消防泵")
        return pd.concat([eq, fire], ignore_index=True)
    if change == "add_standby_fire_pumps":
        fire = _spare_lines(cust, rng).assign(category="fire_pump", name="备用消防泵")
        return pd.concat([eq, fire], ignore_index=True)
    # A spare copy of every running line (same category and rating, marked standby).
    assert change == "running_lines_as_spares"
    spares = eq[~eq["standby"]].assign(standby=True, name="备用")
    return pd.concat([spares, eq], ignore_index=True)


@pytest.mark.parametrize("change", CHANGES)
def test_standby_units_and_fire_pumps_change_no_feature(
    trained_model: CapacityModel, sample: HistoryFrames, change: str
) -> None:
    cust, eq = sample.customers, sample.equipment
    changed = _standby_change(sample, change)
    assert len(changed) != len(eq)
    before = trained_model.features(HistoryFrames(cust, eq))
    after = trained_model.features(HistoryFrames(cust, changed))
    # Every feature, bit for bit (total_kw, kw__*, units__*, largest__*, the engineering
    # estimate, densities...).
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    # The engineering method leaves spares and fire pumps out entirely.
    pd.testing.assert_frame_equal(
        _engineering(trained_model, cust, eq),
        _engineering(trained_model, cust, changed),
        check_exact=True,
    )
    # And so does the base of the target.
    np.testing.assert_array_equal(
        trained_model.builder.base_kw(before), trained_model.builder.base_kw(after)
    )


@pytest.mark.parametrize("change", CHANGES)
def test_standby_units_and_fire_pumps_do_not_change_the_prediction(
    trained_model: CapacityModel, sample: HistoryFrames, reference: pd.DataFrame, change: str
) -> None:
    """Bit-identical predicted peak, interval, probabilities and recommended capacity."""
    changed = _standby_change(sample, change)
    frames = HistoryFrames(sample.customers, changed)
    pred = trained_model.predict(frames)
    base = trained_model.predict(sample)
    np.testing.assert_array_equal(pred.mu, base.mu)
    np.testing.assert_array_equal(pred.peak_kw, base.peak_kw)
    np.testing.assert_array_equal(pred.recommended_kva, base.recommended_kva)
    np.testing.assert_array_equal(pred.groups, base.groups)
    _assert_same(reference, _table(pred, sample.customers["customer_id"]))


def test_spares_and_fire_pumps_alone_do_not_make_an_equipment_application(
    trained_model: CapacityModel, sample: HistoryFrames
) -> None:
    """Area-only customers given only spares and fire pumps keep their area-only answer."""
    eq = sample.equipment
    with_lines = set(eq.loc[~eq["standby"] & (eq["category"] != "fire_pump"), "customer_id"])
    cust = sample.customers[~sample.customers["customer_id"].isin(with_lines)]
    cust = cust.reset_index(drop=True)
    assert len(cust) >= 5
    rng = np.random.default_rng(8)
    own = eq[eq["customer_id"].isin(set(cust["customer_id"]))]
    fire = _spare_lines(cust, rng).assign(category="fire_pump", standby=False)
    added = pd.concat([own, _spare_lines(cust, rng), fire], ignore_index=True)
    base = trained_model.predict(HistoryFrames(cust, own.reset_index(drop=True)))
    pred = trained_model.predict(HistoryFrames(cust, added))
    assert (pred.features["has_equipment"] == 0).all()
    np.testing.assert_array_equal(pred.mu, base.mu)
    np.testing.assert_array_equal(pred.recommended_kva, base.recommended_kva)


# -- (f) batch vs one by one ------------------------------------------------------------


def test_batch_and_one_by_one_predictions_are_identical(
    trained_model: CapacityModel, sample: HistoryFrames, reference: pd.DataFrame
) -> None:
    cust, eq = sample.customers, sample.equipment
    singles = []
    for k in range(0, len(cust), 8):  # every 8th customer: 38 single predictions
        one = cust.iloc[[k]]
        singles.append(
            _predict(trained_model, one, eq[eq["customer_id"] == one["customer_id"].iloc[0]])
        )
    _assert_same(pd.concat(singles), reference)


def test_batch_composition_does_not_matter(
    trained_model: CapacityModel, labelled_history: LabelledHistory, reference: pd.DataFrame
) -> None:
    """The sample scored inside the whole history gives the same answers as alone."""
    frames = labelled_history.frames
    whole = _table(trained_model.predict(frames), frames.customers["customer_id"])
    _assert_same(reference, whole)
