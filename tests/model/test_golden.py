"""Golden tests: determinism, holdout quality against the baselines, one fixed application."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import HistoryFrames, frames_from_applications
from features.contract import is_standard_capacity
from features.schemas import Application, EquipmentItem
from serving.core import Recommender
from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel
from serving.settings import Settings
from training.data import LabelledHistory
from training.model import fit_model
from training.train import TrainConfig, TrainResult, train_from_files

# -- determinism ------------------------------------------------------------------------


@pytest.mark.slow
def test_same_data_and_seed_give_bit_identical_predictions(
    trained_model: CapacityModel,
    labelled_history: LabelledHistory,
    small_model_config: ModelConfig,
) -> None:
    frames = labelled_history.frames
    again = fit_model(frames, labelled_history.peak_kw, small_model_config, seed=0)
    assert again.booster.model_to_string() == trained_model.booster.model_to_string()
    a, b = trained_model.predict(frames), again.predict(frames)
    np.testing.assert_array_equal(a.mu, b.mu)
    np.testing.assert_array_equal(a.low90, b.low90)
    np.testing.assert_array_equal(a.high90, b.high90)
    np.testing.assert_array_equal(a.recommended_kva, b.recommended_kva)
    assert again.calibrator.to_dict() == trained_model.calibrator.to_dict()


@pytest.mark.slow
def test_a_different_seed_gives_different_predictions(
    trained_model: CapacityModel,
    labelled_history: LabelledHistory,
    small_model_config: ModelConfig,
) -> None:
    frames = labelled_history.frames
    other = fit_model(frames, labelled_history.peak_kw, small_model_config, seed=1)
    a, b = trained_model.predict(frames), other.predict(frames)
    assert not np.array_equal(a.mu, b.mu)
    assert np.mean(a.mu != b.mu) > 0.5
    # ... but not wildly different: same data, same method.
    assert np.median(np.abs(a.mu - b.mu)) < 0.1


# -- holdout quality --------------------------------------------------------------------


@pytest.fixture(scope="module")
def holdout_run(
    synth_dir: Path, tmp_path_factory: pytest.TempPathFactory, small_model_config: ModelConfig
) -> TrainResult:
    tmp = tmp_path_factory.mktemp("golden-train")
    config = TrainConfig(
        seed=42,
        holdout_fraction=0.25,
        model=small_model_config,
        log_to_mlflow=False,
        make_plots=False,
    )
    return train_from_files(
        synth_dir / "customers.csv",
        synth_dir / "equipment.csv",
        tmp / "bundle",
        config,
        Settings(home=tmp / "home"),
    )


@pytest.mark.slow
def test_holdout_split_and_bundle(holdout_run: TrainResult) -> None:
    n = holdout_run.n_train + holdout_run.n_holdout
    assert holdout_run.n_holdout == round(0.25 * n)
    assert holdout_run.run is None  # no MLflow
    assert (holdout_run.bundle_dir / "booster.txt").is_file()
    assert not (holdout_run.bundle_dir / "REGISTRY_VERSION").exists()


@pytest.mark.slow
def test_model_beats_engineering_and_status_quo_on_the_holdout(holdout_run: TrainResult) -> None:
    overall = holdout_run.evaluation.overall
    acc = overall["accuracy"]
    assert {"model", "engineering", "status_quo"} <= set(overall.index)
    assert overall.loc["model", "n"] == holdout_run.n_holdout
    assert acc["model"] > acc["engineering"], overall
    assert acc["model"] > acc["status_quo"], overall
    # The accuracies are shares of the same outcome definition.
    shares = overall.loc["model", ["accuracy", "undersized", "oversized"]].sum()
    assert shares == pytest.approx(1.0)


@pytest.mark.slow
def test_interval_coverage_on_the_holdout(holdout_run: TrainResult) -> None:
    m = holdout_run.metrics
    assert 0.83 <= m["coverage90"] <= 0.97, m["coverage90"]
    assert 0.72 <= m["coverage80"] <= 0.88, m["coverage80"]
    assert m["coverage80"] < m["coverage90"]


@pytest.mark.slow
def test_holdout_rows_are_consistent(holdout_run: TrainResult) -> None:
    rows = holdout_run.evaluation.rows
    assert rows["customer_id"].is_unique
    assert all(is_standard_capacity(float(c)) for c in rows["model_kva"])
    assert (rows["peak_low90_kw"] <= rows["peak_low80_kw"]).all()
    assert (rows["peak_low80_kw"] <= rows["predicted_peak_kw"]).all()
    assert (rows["predicted_peak_kw"] <= rows["peak_high80_kw"]).all()
    assert (rows["peak_high80_kw"] <= rows["peak_high90_kw"]).all()


# -- a golden application ---------------------------------------------------------------

GOLDEN = Application(
    industry="machinery",
    climate_zone="hot_summer_cold_winter",
    floor_area_m2=3200.0,
    employees=60,
    shifts=2,
    equipment=[
        EquipmentItem(category="machine_tool", name="数控车床 CK6140", rated_kw=7.5, quantity=12),
        EquipmentItem(category="machine_tool", name="立式加工中心", rated_kw=15.0, quantity=4),
        EquipmentItem(category="hot_working_machine", name="冲床", rated_kw=11.0, quantity=3),
        EquipmentItem(category="arc_welder", name="二保焊机", rated_kw=15.0, quantity=4),
        EquipmentItem(category="air_compressor", name="螺杆空压机", rated_kw=37.0, quantity=2),
        EquipmentItem(category="air_compressor", name="备用空压机", rated_kw=37.0, standby=True),
        EquipmentItem(category="crane", name="行车 10t", rated_kw=15.0, quantity=2),
        EquipmentItem(category="lighting", name="LED 工矿灯", rated_kw=0.15, quantity=120),
        EquipmentItem(category="fire_pump", name="消防泵", rated_kw=45.0),
    ],
)
GOLDEN_RUNNING_KW = 7.5 * 12 + 15 * 4 + 11 * 3 + 15 * 4 + 37 * 2 + 15 * 2 + 0.15 * 120


GOLDEN_WITHOUT_SPARES = GOLDEN.model_copy(
    update={
        "equipment": [e for e in GOLDEN.equipment if not e.standby and e.category != "fire_pump"]
    }
)


def test_golden_application_through_the_model(trained_model: CapacityModel) -> None:
    pred = trained_model.predict(frames_from_applications([GOLDEN]))
    assert pred.features["total_kw"].iloc[0] == pytest.approx(GOLDEN_RUNNING_KW)
    # Spares are no feature since feature spec 2: the spare air compressor and the fire
    # pump leave the features and the answer bit-identical.
    assert "standby_kw" not in pred.features.columns
    assert len(GOLDEN_WITHOUT_SPARES.equipment) == len(GOLDEN.equipment) - 2
    bare = trained_model.predict(frames_from_applications([GOLDEN_WITHOUT_SPARES]))
    pd.testing.assert_frame_equal(pred.features, bare.features, check_exact=True)
    np.testing.assert_array_equal(pred.mu, bare.mu)
    np.testing.assert_array_equal(pred.recommended_kva, bare.recommended_kva)
    assert pred.features["n_groups"].iloc[0] == 6  # six running categories
    rec = float(pred.recommended_kva[0])
    assert is_standard_capacity(rec)
    peak = float(pred.peak_kw[0])
    assert 0.0 < peak < GOLDEN_RUNNING_KW
    # The recommended capacity makes the predicted peak an appropriate load (0.40-1.00).
    assert 0.40 <= peak / (rec * 0.9) <= 1.00


def test_golden_application_through_the_service(trained_model: CapacityModel) -> None:
    answer = Recommender(trained_model, "golden").recommend(GOLDEN)
    assert is_standard_capacity(answer.recommended_kva)
    assert answer.installed_kw == pytest.approx(GOLDEN_RUNNING_KW)
    assert answer.predicted_peak_kw < GOLDEN_RUNNING_KW
    assert answer.basis == "equipment" and answer.source == "model"
    assert answer.p_appropriate > 0.5
    assert answer.engineering is not None and answer.engineering_kva is not None
    excluded = {e.category for e in answer.engineering.excluded}
    assert excluded == {"air_compressor", "fire_pump"}
    # Same answer as the bare model unless a sanity bound had to bind.
    pred = trained_model.predict(frames_from_applications([GOLDEN]))
    if not answer.bounds.clamped:
        assert answer.recommended_kva == float(pred.recommended_kva[0])
    # The spare and the fire pump are listed as excluded but move nothing.
    bare = Recommender(trained_model, "golden").recommend(GOLDEN_WITHOUT_SPARES)
    assert bare.predicted_peak_kw == answer.predicted_peak_kw
    assert bare.recommended_kva == answer.recommended_kva


def test_golden_application_is_stable_under_resubmission(trained_model: CapacityModel) -> None:
    frames: HistoryFrames = frames_from_applications([GOLDEN, GOLDEN], ids=["x", "y"])
    pred = trained_model.predict(frames)
    assert pred.mu[0] == pred.mu[1]
    assert pred.recommended_kva[0] == pred.recommended_kva[1]
