"""The pipeline on a contract history that our generator did not make.

A deliberately different, minimal world: other utilisation per category (unrelated to the
catalog's Kx), no diversity law, no climate or shifts, optional columns left out of the
files entirely, heavier noise. Training must work unchanged, stay calibrated, and beat the
demand-coefficient method and the status quo: the model may not lean on our generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.catalog import load_catalog
from features.contract import tier_at_or_above
from serving.model.config import ModelConfig
from serving.settings import Settings
from training.train import TrainConfig, TrainResult, train_from_files


def _independent_history(n: int, seed: int, out: Path) -> None:
    rng = np.random.default_rng(seed)
    catalog = load_catalog()
    cats = [c for c in catalog.category_codes if c != "fire_pump"]
    industries = list(catalog.industry_codes)[:12]
    # This world's "truth": a utilisation per category and an industry factor of its own.
    util = dict(zip(cats, rng.uniform(0.15, 0.85, len(cats)), strict=True))
    ind_factor = dict(zip(industries, rng.uniform(0.7, 1.3, len(industries)), strict=True))
    density = dict(zip(industries, rng.uniform(20, 120, len(industries)), strict=True))
    customers, equipment = [], []
    for i in range(n):
        cid = f"X{i:05d}"
        ind = industries[int(rng.integers(len(industries)))]
        area = float(np.round(np.exp(rng.normal(8.0, 0.8))))
        if rng.random() < 0.06:  # area-only
            peak = area * density[ind] / 1000.0 * np.exp(rng.normal(0, 0.3))
            nameplate = peak * 2.5
        else:
            k = int(rng.integers(1, 9))
            chosen = rng.choice(cats, size=k, replace=False)
            peak = 0.0
            nameplate = 0.0
            for c in chosen:
                kw = float(np.round(np.exp(rng.normal(2.5, 1.0)), 1)) + 0.5
                qty = int(rng.integers(1, 12))
                equipment.append((cid, c, kw, qty))
                peak += util[c] * kw * qty
                nameplate += kw * qty
            peak *= ind_factor[ind] * np.exp(rng.normal(0, 0.22))
        applied = float(tier_at_or_above(nameplate * rng.uniform(1.0, 1.4) / 0.85)[0])
        customers.append((cid, ind, area, applied, round(max(peak, 0.5), 2)))
    out.mkdir(parents=True, exist_ok=True)
    # Optional columns (climate_zone, employees, shifts; standby, name) are left out.
    pd.DataFrame(
        customers,
        columns=[
            "customer_id",
            "industry",
            "floor_area_m2",
            "applied_capacity_kva",
            "peak_demand_kw",
        ],
    ).to_csv(out / "customers.csv", index=False)
    pd.DataFrame(equipment, columns=["customer_id", "category", "rated_kw", "quantity"]).to_csv(
        out / "equipment.csv", index=False
    )


@pytest.fixture(scope="module")
def independent_result(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    root = tmp_path_factory.mktemp("independent")
    _independent_history(4000, 11, root / "data")
    return train_from_files(
        root / "data" / "customers.csv",
        root / "data" / "equipment.csv",
        root / "bundle",
        TrainConfig(
            seed=2, log_to_mlflow=False, make_plots=False, model=ModelConfig(max_rounds=600)
        ),
        Settings(home=root / "home"),
    )


def test_trains_on_a_history_without_optional_columns(independent_result: TrainResult) -> None:
    assert independent_result.n_train + independent_result.n_holdout == 4000
    assert independent_result.rejects == {"customers": 0, "equipment": 0}


def test_stays_calibrated_on_another_world(independent_result: TrainResult) -> None:
    m = independent_result.metrics
    assert 0.84 <= m["coverage90"] <= 0.96, m["coverage90"]
    assert 0.74 <= m["coverage80"] <= 0.86, m["coverage80"]


def test_beats_the_baselines_on_another_world(independent_result: TrainResult) -> None:
    m = independent_result.metrics
    assert m["model_accuracy"] > m["engineering_accuracy"] + 0.03, m
    assert m["model_accuracy"] > m["status_quo_accuracy"] + 0.10, m
    assert m["model_accuracy"] >= 0.80, m


def test_bundle_keeps_the_fitted_demand_factors(
    independent_result: TrainResult, tmp_path: Path
) -> None:
    from serving.model.bundle import load_bundle

    model, _, _ = load_bundle(independent_result.bundle_dir)
    fitted = independent_result.model.builder
    assert np.array_equal(model.builder.base_weights_, fitted.base_weights_)
    assert model.builder.area_multiplier_ == fitted.area_multiplier_
    # Per-industry rows exist and differ from the all-industry row where data allowed.
    assert fitted.base_weights_.shape == (len(fitted.industries_) + 1, len(fitted.categories_))
    assert (fitted.base_weights_ >= 0).all()
