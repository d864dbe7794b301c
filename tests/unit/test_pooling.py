"""Issue 23: the coincidence term of the base, pooling through data-chosen clusters of
industries, and calibration groups merged by the data.

Protects that each new estimator recovers a known structure when the data has it, and
changes nothing (or next to nothing) when it has not: the default model's answers must
not move on a history without that structure.
"""

from __future__ import annotations

import numpy as np
import pytest

from features.build import fit_coincident_factors
from features.shrinkage import shrink_log_location, shrink_log_location_hierarchical
from serving.model.calibration import EQUIPMENT_GROUP, ResidualCalibrator


def _unit_world(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One category; the peak is 0.5·kW + 0.8·√(Σ rated²) (mean plus spread of units)."""
    qty = rng.choice([1, 2, 3, 4, 8, 16, 30], n)
    rated = np.exp(rng.normal(2.5, 0.8, n))
    kw = (rated * qty)[:, None]
    rss = (rated * np.sqrt(qty))[:, None]
    peak = (0.5 * kw[:, 0] + 0.8 * rss[:, 0]) * np.exp(rng.normal(0.0, 0.05, n))
    return kw, rss, peak


def test_the_coincidence_term_recovers_a_known_mean_plus_spread_law() -> None:
    kw, rss, peak = _unit_world(np.random.default_rng(0), 3000)
    m, a = fit_coincident_factors(kw, rss, peak, prior_rows=1.0)
    assert m[0] == pytest.approx(0.5, abs=0.05)
    assert a[0] == pytest.approx(0.8, abs=0.1)
    # Without the term the best linear factor cannot fit both one unit and thirty:
    # the relative errors are several times larger.
    m_lin, a_lin = fit_coincident_factors(kw, None, peak, prior_rows=1.0)
    assert a_lin[0] == 0.0
    err = np.abs((m[0] * kw[:, 0] + a[0] * rss[:, 0]) / peak - 1).mean()
    err_lin = np.abs(m_lin[0] * kw[:, 0] / peak - 1).mean()
    assert err < err_lin / 3


def test_the_coincidence_term_is_never_negative_so_the_base_stays_monotone() -> None:
    rng = np.random.default_rng(1)
    kw, rss, _ = _unit_world(rng, 2000)
    # A world where more units at equal kW RAISE the peak: the fit must not turn a < 0.
    peak = 0.9 * kw[:, 0] * np.exp(rng.normal(0.0, 0.05, 2000)) - 0.3 * rss[:, 0]
    peak = np.maximum(peak, 0.1 * kw[:, 0])
    m, a = fit_coincident_factors(kw, rss, peak, prior_rows=1.0)
    assert (m >= 0).all() and (a >= 0).all()


def _groups(centres: np.ndarray, n_per: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    g = np.repeat(np.arange(len(centres)).astype(str), n_per)
    x = centres[np.repeat(np.arange(len(centres)), n_per)] + rng.normal(0, 0.22, len(g))
    return x, g


def _rmse(est: dict[str, float], centres: np.ndarray) -> float:
    return float(np.sqrt(np.mean([(est[str(i)] - c) ** 2 for i, c in enumerate(centres)])))


def test_a_cluster_of_industries_apart_is_pooled_with_its_own_not_with_all() -> None:
    """Three of 23 industries 0.4 above the rest: the middle level halves their error."""
    flat_err, hier_err = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        centres = np.where(np.arange(23) < 3, 0.4, 0.0)
        x, g = _groups(centres, 20, rng)
        flat_err.append(_rmse(shrink_log_location(x, g).estimate, centres))
        hier_err.append(_rmse(shrink_log_location_hierarchical(x, g).estimate, centres))
    assert np.mean(hier_err) < 0.8 * np.mean(flat_err)


def test_industries_that_differ_only_by_noise_form_one_cluster() -> None:
    """No structure: the hierarchical estimate is the two-level one, exactly."""
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        x, g = _groups(np.zeros(23), 30, rng)
        flat = shrink_log_location(x, g)
        hier = shrink_log_location_hierarchical(x, g)
        assert hier.estimate == flat.estimate


def test_an_industry_like_its_pool_is_merged_and_one_unlike_it_keeps_its_own() -> None:
    rng = np.random.default_rng(3)
    res = np.concatenate(
        [rng.normal(0, 0.2, 3000), rng.normal(0, 0.2, 60), rng.normal(0.5, 0.4, 60)]
    )
    groups = np.array(["a"] * 3000 + ["same"] * 60 + ["apart"] * 60)
    cal = ResidualCalibrator(min_group_size=50, merge_level=0.05).fit(res, groups)
    assert cal._resolve_one("same") == EQUIPMENT_GROUP
    assert cal._resolve_one("apart") == "apart"
    # Without merging both keep their own (60 >= min_group_size); the bundle round trip
    # keeps the level.
    plain = ResidualCalibrator(min_group_size=50).fit(res, groups)
    assert plain._resolve_one("same") == "same"
    again = ResidualCalibrator.from_dict(cal.to_dict())
    assert again.merge_level == 0.05 and again._resolve_one("same") == EQUIPMENT_GROUP
