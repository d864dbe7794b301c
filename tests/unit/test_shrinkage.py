"""Shrinkage: small groups borrow from the pool, large ones keep their own figures.

Protects the empirical-Bayes estimates of the base (area densities, typical peaks), the
shrunk calibration groups, and the few-customer flag of the decision path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.build import FeatureBuilder, HistoryFrames
from features.shrinkage import shrink_log_location
from serving.model.calibration import (
    AREA_ONLY_GROUP,
    AREA_PREFIX,
    EQUIPMENT_GROUP,
    POOLED_GROUP,
    ResidualCalibrator,
)


def _groups(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A big group at log 0, a second big one at log 1, a tiny one at log 2 (noise 0.5)."""
    g = np.array(["big"] * 2000 + ["other"] * 2000 + ["tiny"] * 4)
    centre = np.select([g == "big", g == "other"], [0.0, 1.0], 2.0)
    return centre + rng.normal(0.0, 0.5, len(g)), g


def test_a_tiny_group_borrows_from_the_pool_and_a_big_one_keeps_its_own() -> None:
    x, g = _groups(np.random.default_rng(1))
    s = shrink_log_location(x, g)
    assert s.weight["big"] > 0.95 and s.weight["tiny"] < s.weight["big"]
    assert abs(s.estimate["big"] - 0.0) < 0.05  # its own figure
    own_tiny = float(np.median(x[g == "tiny"]))
    # The tiny group's estimate lies strictly between its own median and the pool's.
    lo, hi = sorted((own_tiny, s.pooled))
    assert lo < s.estimate["tiny"] < hi
    assert s.estimate["tiny"] == s.weight["tiny"] * own_tiny + (1 - s.weight["tiny"]) * s.pooled


def test_groups_that_differ_only_by_noise_are_pooled() -> None:
    rng = np.random.default_rng(2)
    g = np.repeat(["a", "b", "c", "d"], 25)
    s = shrink_log_location(rng.normal(0.0, 1.0, len(g)), g)
    assert all(w < 0.5 for w in s.weight.values())


def test_area_density_of_a_small_industry_is_shrunk_towards_all_industries() -> None:
    """Area-only offices peak at 0.3 × the design density (many), hotels at 3 × (three)."""
    rng = np.random.default_rng(4)
    n_office, n_hotel, n_school = 400, 3, 400
    industry = ["office"] * n_office + ["hotel"] * n_hotel + ["school"] * n_school
    area = rng.uniform(2000, 20000, len(industry))
    design = {"office": 60.0, "hotel": 70.0, "school": 30.0}  # features/data/industries.csv
    factor = {"office": 0.3, "hotel": 3.0, "school": 1.0}
    peak = np.array(
        [design[i] * factor[i] * a / 1000.0 for i, a in zip(industry, area, strict=True)]
    ) * np.exp(rng.normal(0, 0.3, len(industry)))
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(industry))],
            "industry": industry,
            "climate_zone": None,
            "floor_area_m2": area,
            "employees": np.nan,
            "shifts": np.nan,
        }
    )
    equipment = pd.DataFrame(
        {"customer_id": [], "category": [], "rated_kw": [], "quantity": [], "standby": []}
    )
    builder = FeatureBuilder().fit(HistoryFrames(customers, equipment), peak)
    m = builder.area_multipliers_
    assert abs(np.log(m["office"] / 0.3)) < 0.1  # a big industry keeps its own density
    assert abs(np.log(m["school"] / 1.0)) < 0.1
    # Three hotels: shrunk, strictly between the pooled multiplier and their own 3 ×.
    assert builder.area_multiplier_ < m["hotel"] < 3.0 * 0.9


def _calibrator(n_small: int) -> ResidualCalibrator:
    rng = np.random.default_rng(5)
    big = rng.normal(0.0, 0.1, 3000)  # equipment lists of machinery: narrow, centred
    small = rng.normal(0.8, 0.1, n_small)  # a few hotels, all far above their prediction
    area = rng.normal(0.0, 0.6, 400)  # area-only answers: wide
    res = np.concatenate([big, small, area])
    groups = np.array(
        ["machinery"] * len(big) + ["hotel"] * n_small + [f"{AREA_PREFIX}office"] * len(area),
        dtype=object,
    )
    return ResidualCalibrator(min_group_size=150).fit(res, groups)


def test_a_small_calibration_group_is_shrunk_towards_its_parent() -> None:
    cal = _calibrator(n_small=30)
    mu = np.zeros(1)
    median = {
        g: float(cal.quantile(mu, np.array([g]), 0.5)[0])
        for g in ("hotel", "machinery", EQUIPMENT_GROUP)
    }
    # 30 of 150: weight 0.2 on its own (+0.8) residuals, the rest from all equipment lists.
    assert cal.weights_["hotel"] == 30 / 150
    assert median[EQUIPMENT_GROUP] < median["hotel"] < 0.8
    # Its upper tail still reaches its own residuals (they are 20 % of its mass).
    assert float(cal.quantile(mu, np.array(["hotel"]), 0.95)[0]) > 0.6
    # The big group keeps its own figures.
    assert cal.weights_["machinery"] == 1.0
    assert abs(median["machinery"]) < 0.02
    assert cal.n_residuals(np.array(["hotel", "machinery"])).tolist() == [30, 3000]


def test_a_big_calibration_group_keeps_its_own() -> None:
    cal = _calibrator(n_small=600)
    assert cal.weights_["hotel"] == 1.0
    assert abs(float(cal.quantile(np.zeros(1), np.array(["hotel"]), 0.5)[0]) - 0.8) < 0.02


def test_area_only_answers_are_not_calibrated_on_equipment_lists() -> None:
    cal = _calibrator(n_small=30)
    lo, hi = cal.interval(np.zeros(2), np.array([f"{AREA_PREFIX}hotel", "machinery"]), 0.9)
    # An area-only hotel (no own residuals) resolves to the area-only pool, not the pooled
    # (mostly equipment-list) residuals: its interval is the wide one.
    assert cal._resolve(np.array([f"{AREA_PREFIX}hotel"]))[0] == f"{AREA_PREFIX}office" or (
        cal._resolve(np.array([f"{AREA_PREFIX}hotel"]))[0] == AREA_ONLY_GROUP
    )
    assert hi[0] - lo[0] > 4 * (hi[1] - lo[1])
    assert POOLED_GROUP in cal.residuals_


def test_shrunk_calibration_survives_the_bundle_round_trip() -> None:
    cal = _calibrator(n_small=30)
    cal.equipment_gain_ = {"n": 100.0, "accuracy_with_list": 0.9}
    again = ResidualCalibrator.from_dict(cal.to_dict())
    assert again.weights_ == cal.weights_
    assert again.n_own_ == cal.n_own_
    assert again.industry_n_ == cal.industry_n_
    assert again.equipment_gain_ == cal.equipment_gain_
    groups = np.array(["hotel", "machinery", f"{AREA_PREFIX}hotel", "never-seen"])
    np.testing.assert_array_equal(
        again.quantile(np.zeros(4), groups, 0.9), cal.quantile(np.zeros(4), groups, 0.9)
    )


# -- the few-customer flag on the decision path ------------------------------------------


def test_industries_without_their_own_calibration_are_flagged_and_still_answered() -> None:
    from features.schemas import Application, EquipmentItem
    from features.validation import validate_frames
    from serving.core import Recommender
    from serving.model.config import ModelConfig
    from serving.model.decision import decide
    from training.model import fit_model
    from training.synth.history import SynthConfig, generate_history

    hist = generate_history(SynthConfig(n=400, seed=9))
    valid = validate_frames(hist.customers, hist.equipment, require_label=True)
    frames = HistoryFrames(
        valid.customers.reset_index(drop=True), valid.equipment.reset_index(drop=True)
    )
    peak = frames.customers["peak_demand_kw"].to_numpy(dtype=float)
    config = ModelConfig(max_rounds=40, min_group_size=36)
    model = fit_model(frames, peak, config, seed=0)
    pred = model.predict(frames)
    d = decide(model, pred, model.engineering_columns(frames, pred))
    n_ind = model.calibrator.industry_residuals(pred.industry)
    # ~17 customers per industry: some reach half of 36 calibration customers, some not.
    assert d.few_customers.any() and (~d.few_customers).any()
    np.testing.assert_array_equal(d.few_customers, n_ind < 18)
    assert d.manual_review[d.few_customers].all()
    # The answer names the count behind it, and its figures are shrunk (weight < 1).
    assert (d.calibration_weight[d.few_customers] < 1).all()
    small = str(pred.industry[np.flatnonzero(d.few_customers)[0]])
    rec = Recommender(model, "t").recommend(
        Application(
            industry=small,
            floor_area_m2=3000.0,
            equipment=[EquipmentItem(category="air_compressor", rated_kw=37.0, quantity=2)],
        )
    )
    codes = [w.code for w in rec.warnings]
    assert "few_customers" in codes and rec.manual_review
    text = next(w for w in rec.warnings if w.code == "few_customers")
    n_small = int(model.calibrator.industry_n_[small])
    assert f"{n_small:,}" in text.message_en and f"{n_small:,}" in text.message_zh
    assert rec.calibration_customers is not None and rec.recommended_kva > 0
    # An area-only answer says that a list would sharpen it.
    bare = Recommender(model, "t").recommend(Application(industry=small, floor_area_m2=3000.0))
    assert any(w.code.startswith("equipment_list_gain") for w in bare.warnings)


def _area_history(n_area_hotels: int, with_lists: bool) -> tuple[HistoryFrames, np.ndarray]:
    """Area-only offices (0.3 × the design density) and schools (1 ×), many of each; hotels
    at 3 × the design density, ``n_area_hotels`` of them area-only and (``with_lists``) 300
    more with an equipment list and a floor area (and 200 of the others each)."""
    rng = np.random.default_rng(6)
    design = {"office": 60.0, "hotel": 70.0, "school": 30.0}  # features/data/industries.csv
    factor = {"office": 0.3, "hotel": 3.0, "school": 1.0}
    area_only = ["office"] * 300 + ["school"] * 300 + ["hotel"] * n_area_hotels
    listed = (["hotel"] * 300 + ["office"] * 200 + ["school"] * 200) if with_lists else []
    industry = area_only + listed
    area = rng.uniform(2000, 20000, len(industry))
    peak = np.array(
        [design[i] * factor[i] * a / 1000.0 for i, a in zip(industry, area, strict=True)]
    ) * np.exp(rng.normal(0, 0.2, len(industry)))
    ids = [f"c{i}" for i in range(len(industry))]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "industry": industry,
            "climate_zone": None,
            "floor_area_m2": area,
            "employees": np.nan,
            "shifts": np.nan,
        }
    )
    lines = ids[len(area_only) :]
    equipment = pd.DataFrame(
        {
            "customer_id": lines,
            "category": "fan",
            "rated_kw": peak[len(area_only) :],
            "quantity": 1,
            "standby": False,
        }
    )
    return HistoryFrames(customers, equipment), peak


def test_an_industry_with_few_area_only_customers_borrows_from_its_listed_customers() -> None:
    """Two area-only hotels: with the prior from lists their multiplier is the 3 × that the
    300 listed hotels show (per m²), not all industries' figure; without, it is pulled down."""
    frames, peak = _area_history(n_area_hotels=2, with_lists=True)
    plain = FeatureBuilder().fit(frames, peak).area_multipliers_
    prior = FeatureBuilder(area_prior_from_lists=True).fit(frames, peak).area_multipliers_
    assert abs(np.log(prior["hotel"] / 3.0)) < 0.15
    assert plain["hotel"] < 3.0 * 0.8  # the same two hotels, shrunk towards the pool
    # Industries with many area-only customers keep their own figures either way.
    assert abs(np.log(prior["office"] / 0.3)) < 0.1 and abs(np.log(prior["school"])) < 0.1


def test_an_area_only_history_gets_the_plain_area_multipliers() -> None:
    """Without customers with lists there is no prior: the flag changes nothing."""
    frames, peak = _area_history(n_area_hotels=3, with_lists=False)
    plain = FeatureBuilder().fit(frames, peak)
    prior = FeatureBuilder(area_prior_from_lists=True).fit(frames, peak)
    assert prior.area_multipliers_ == plain.area_multipliers_
    assert prior.area_multiplier_ == plain.area_multiplier_


def _one_per_group(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """40 groups of one and 10 pairs; true locations spread 0.5, values around them 0.2."""
    g = np.array([f"s{i}" for i in range(40)] + [f"p{i}" for i in range(10) for _ in (0, 1)])
    loc = {c: rng.normal(0.0, 0.5) for c in np.unique(g)}
    return np.array([loc[c] for c in g]) + rng.normal(0.0, 0.2, len(g)), g


def test_groups_of_one_do_not_shrink_the_spread_estimate() -> None:
    """A lone customer's value less its own median is 0 whatever the noise: counted, the 40
    lone groups pull the within-group σ to about nothing and every group keeps its own
    figure. Estimated from the pairs only, σ is near the truth (0.2) and the method of
    moments weighs one customer against the spread of the groups' locations (0.5)."""
    pulls = []
    for seed in range(20):
        x, g = _one_per_group(np.random.default_rng(seed))
        plain = shrink_log_location(x, g, min_prior_rows=0.0)
        fair = shrink_log_location(x, g, min_prior_rows=0.0, spread_from_repeats=True)
        # The pull k = (π/2)·σ²/τ² against the truth's (σ 0.2, τ 0.5).
        pulls.append((plain.prior_rows, fair.prior_rows))
    plain_k, fair_k = np.median(np.array(pulls), axis=0)
    truth = np.pi / 2 * 0.2**2 / 0.5**2  # ≈ 0.25
    assert plain_k < truth / 3  # the lone groups' zeros: nearly no pull at all
    assert truth / 2 < fair_k < truth * 2


def test_without_repeats_the_spread_falls_back_to_every_group() -> None:
    """Fewer than three degrees of freedom in repeated groups: the plain estimate."""
    rng = np.random.default_rng(3)
    g = np.array([f"s{i}" for i in range(30)] + ["p", "p"])
    x = rng.normal(0.0, 0.5, len(g))
    assert shrink_log_location(x, g, spread_from_repeats=True) == shrink_log_location(x, g)
