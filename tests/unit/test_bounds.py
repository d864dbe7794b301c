"""Sanity bounds learned from the history: ratios → capacities, shrinkage, evidence, clamp."""

from __future__ import annotations

import numpy as np
import pytest

from features.contract import DEFAULT_SIZING
from serving.messages import CATALOGS, render
from serving.model.bounds import (
    POOLED,
    BoundsConfig,
    CapacityBounds,
    LearnedBounds,
    RatioBound,
    apply_bounds,
)
from training.bounds import fit_bounds


def _hand_bounds() -> LearnedBounds:
    """machinery: peak within 0.30–1.80 × S30 and 0.10–0.90 × installed kW."""
    return LearnedBounds(
        (0.0025, 0.9975),
        {
            "s30|equipment": {
                "machinery": RatioBound(0.30, 1.80, 3412, 20000, "machinery"),
                POOLED: RatioBound(0.25, 1.50, 20000, 20000, POOLED),
            },
            "installed|equipment": {
                "machinery": RatioBound(0.10, 0.90, 3412, 20000, "machinery"),
                POOLED: RatioBound(0.08, 0.80, 20000, 20000, POOLED),
            },
        },
        base_load_share=0.10,
    )


def test_ratio_quantiles_become_capacities_through_the_band() -> None:
    b = _hand_bounds().capacity_bounds(
        np.array(["machinery", "machinery", "hotel"]),
        np.array(["equipment"] * 3),
        np.array([2005.0, 400.0, 400.0]),
        np.array([2000.0, 20.0, 20.0]),
        np.array([455.0, 300.0, 300.0]),
        DEFAULT_SIZING,
        with_rules=True,
    )
    # Row 0: unit rule (2000 + 0.1 × 5) / 0.9 = 2222.8 kVA → 2500; the S30 ceiling
    # 1.8 × 455 / 0.9 = 910 → 1000 lies below it, and the lower bound wins a conflict.
    assert b.lower[0] == 2500.0 and b.lower_rule[0] is not None
    assert b.lower_rule[0].code == "bound_unit"
    assert b.upper[0] == 1000.0 and b.upper_rule[0].code == "bound_s30_high"
    # Row 1: upper = min(1.8 × 300 / 0.9 = 600 → 630, 0.9 × 400 / 0.9 = 400 → 400) = 400;
    # lower = max((20 + 38) / 0.9 → 80, 0.3 × 300 / 0.9 = 100 → 100, 0.1 × 400 / 0.9 → 50).
    assert b.upper[1] == 400.0 and b.upper_rule[1].code == "bound_installed_high"
    assert b.lower[1] == 100.0 and b.lower_rule[1].code == "bound_s30_low"
    # Row 2: an industry without its own figures uses the pooled ones.
    assert b.upper[2] == 355.0 or b.upper[2] == 400.0
    assert b.upper_rule[2].params["industry"] == ""
    final, side = apply_bounds(np.array([400.0, 630.0, 200.0]), b)
    np.testing.assert_array_equal(final, [2500.0, 400.0, 200.0])
    np.testing.assert_array_equal(side, [-1, 1, 0])


def test_no_equipment_no_s30_means_no_bounds() -> None:
    b = _hand_bounds().capacity_bounds(
        np.array(["machinery"]),
        np.array(["industry"]),
        np.array([0.0]),
        np.array([0.0]),
        np.array([np.nan]),
        DEFAULT_SIZING,
    )
    assert np.isnan(b.lower[0]) and np.isnan(b.upper[0])
    final, side = apply_bounds(np.array([160.0]), b)
    assert final[0] == 160.0 and side[0] == 0


def test_the_rule_cites_its_evidence_in_both_languages() -> None:
    b = _hand_bounds().capacity_bounds(
        np.array(["machinery"]),
        np.array(["equipment"]),
        np.array([2005.0]),
        np.array([2000.0]),
        np.array([455.0]),
        DEFAULT_SIZING,
        with_rules=True,
    )
    rule = b.upper_rule[0]
    en, zh = render(rule.code, rule.params, "en"), render(rule.code, rule.params, "zh")
    assert "99.8 % of 3,412 machinery and metal products customers" in en
    assert "≤ 1.80 × their demand-coefficient S30 (here 455 kVA)" in en
    assert "3,412 户" in zh and "1.80 倍" in zh and "455 kVA" in zh
    unit = b.lower_rule[0]
    assert "largest running unit (2000 kW)" in render(unit.code, unit.params, "en")
    assert "最大单台运行设备（2000 kW）" in render(unit.code, unit.params, "zh")


def test_every_message_code_renders_in_every_language() -> None:
    params = {
        "largest_kw": 10.0,
        "base_kw": 1.0,
        "share": 0.9975,
        "n": 50,
        "n_pooled": 900,
        "industry": "hotel",
        "ratio": 1.2,
        "s30_kva": 100.0,
        "installed_kw": 80.0,
        "policy_kva": 400.0,
        "final_kva": 315.0,
        "rule": "…",
        "names": ["神秘机器"],
        "as": "other_motor",
        "category_zh": "冷水机组",
        "category_en": "chillers",
        "typical_kw": 120.0,
        "min": 150,
        "weight": 0.2,
        "accuracy_with_list": 0.92,
        "accuracy_area_only": 0.61,
        "ratio_with_list": 1.6,
        "ratio_area_only": 3.9,
        # existing_customer (serving.core.Recommender._existing)
        "kind": "reduce",
        "months": 12,
        "measured_kw": 89.0,
        "demand_metered": False,
        "measured_rate": 0.12,
        "existing_kva": 800.0,
        "recommended_kva": 250.0,
        "p_undersized": 0.03,
        "p_undersized_today": 0.0,
        "yearly_difference_yuan": -211200.0,
        "p": 0.083,
        "cap": 0.1,
        "uncapped_kva": 250.0,
        "p_oversized": 0.4,
    }
    assert set(CATALOGS["en"]) == set(CATALOGS["zh"])
    for lang, catalog in CATALOGS.items():
        for code in catalog:
            assert render(code, params, lang)


def test_small_industries_borrow_the_pooled_tail_and_large_ones_keep_theirs() -> None:
    rng = np.random.default_rng(3)
    n_big, n_small = 5000, 30
    industry = np.array(["machinery"] * n_big + ["hotel"] * n_small + ["food"] * 3000)
    # machinery peaks at ~1.0 × S30, hotel at ~2.5 ×, food at ~0.6 ×.
    centre = np.where(industry == "machinery", 1.0, np.where(industry == "hotel", 2.5, 0.6))
    s30 = rng.uniform(50, 500, len(industry))
    peak = centre * s30 * np.exp(rng.normal(0, 0.15, len(industry)))
    cfg = BoundsConfig(shrink_rows=200)
    b = fit_bounds(peak, industry, np.full(len(industry), "equipment"), s30 * 1.5, s30, cfg).table[
        "s30|equipment"
    ]

    def tail(rows: np.ndarray) -> float:  # quantiles are read in log space
        return float(np.exp(np.quantile(np.log(peak[rows] / s30[rows]), 0.9975)))

    own_hi = tail(industry == "hotel")
    pooled_hi = b[POOLED].high
    # Hotel (30 customers): weight 30 / 230 on its own tail, the rest pooled.
    w = n_small / (n_small + 200)
    assert b["hotel"].high == pytest.approx(
        np.exp(w * np.log(own_hi) + (1 - w) * np.log(pooled_hi))
    )
    assert b["hotel"].n == n_small and b["hotel"].n_pooled == len(industry)
    # Machinery (5,000): its own tail dominates.
    own_m = tail(industry == "machinery")
    assert abs(np.log(b["machinery"].high / own_m)) < 0.05 * abs(np.log(pooled_hi / own_m)) + 0.02
    # Too few customers to have figures of its own: none, the pooled ones apply.
    assert "retail" not in b


def test_bounds_survive_the_bundle_document() -> None:
    b = _hand_bounds()
    b.calibration_clamp_share = 0.004
    again = LearnedBounds.from_dict(b.to_dict())
    assert again.table == b.table and again.quantiles == b.quantiles
    assert again.calibration_clamp_share == 0.004
    with pytest.raises(ValueError, match="bounds document is malformed"):
        LearnedBounds.from_dict({"quantiles": [0.1]})


def test_apply_bounds_lower_wins_a_conflict() -> None:
    b = CapacityBounds(np.array([500.0]), np.array([315.0]), [], [])
    final, side = apply_bounds(np.array([400.0]), b)
    assert final[0] == 500.0 and side[0] == -1
