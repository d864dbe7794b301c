"""The Dask engine gives the single-process engine's results on the same (small) history.

One history, written as 3 Parquet partitions and also concatenated in memory (the single
process's input). Protected: the splits, the gathered aggregates (demand factors,
calibration, bounds, peers, fitted keys) and the features are the single-process ones
(one worker reproduces the model byte for byte); two workers differ only by LightGBM's
data-parallel fit (measured, bounded); batch scoring is the service's decision path, so
its answers are identical; every rejected row is reported per partition.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.validation import ContractError, validate_frames
from serving.core import Recommender
from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel
from tests.data.partitioned import concatenated
from training.dask_engine.engine import (
    _partition_report,
    check_unique_ids,
    dask_client,
    recommend_dask,
    train_dask,
    validate_partition,
)
from training.dask_engine.partitions import discover_partitions, write_synthetic_partitions
from training.data import holdout_split, labelled_from_validated
from training.evaluate import evaluate_model
from training.model import fit_model

pytestmark = pytest.mark.slow

# The split branch of fit_model (the Dask engine's; smaller histories are cross-fitted).
CONFIG = ModelConfig(max_rounds=300, num_threads=1, cross_fit_below=2000)
SEED = 42
HOLDOUT = 0.2


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("partitions")
    write_synthetic_partitions(root, 3600, 3, seed=11)
    return root


@pytest.fixture(scope="module")
def single(parts: Path) -> tuple[Any, CapacityModel, Any]:
    """The single-process engine on the concatenated partitions (same order)."""
    validated = validate_frames(
        concatenated(parts, "customers"), concatenated(parts, "equipment"), require_label=True
    )
    data = labelled_from_validated(validated)
    train_idx, hold_idx = holdout_split(len(data), HOLDOUT, SEED)
    train = data.subset(train_idx)
    model = fit_model(train.frames, train.peak_kw, CONFIG, seed=SEED)
    return validated, model, data.subset(hold_idx)


@pytest.fixture(scope="module")
def two_workers() -> Iterator[Any]:
    with dask_client(None, n_workers=2) as client:
        yield client


def _tiers(model: CapacityModel, validated: Any) -> np.ndarray:
    frame = Recommender(model, "m").score_frames(validated.customers, validated.equipment)
    return frame["recommended_kva"].to_numpy()


def test_one_worker_reproduces_the_single_process_model_exactly(
    parts: Path, single: tuple[Any, CapacityModel, Any]
) -> None:
    validated, model, _ = single
    with dask_client(None, n_workers=1) as client:
        result = train_dask(
            client, parts / "customers", f"file://{parts / 'equipment'}", CONFIG, SEED, HOLDOUT
        )
    dask_model = result.model
    assert result.n_train + result.n_holdout == len(validated.customers)
    assert dask_model.fitted_keys == model.fitted_keys
    np.testing.assert_array_equal(dask_model.builder.base_weights_, model.builder.base_weights_)
    assert dask_model.calibrator.to_dict() == model.calibrator.to_dict()
    assert dask_model.peers == model.peers
    assert dask_model.bounds is not None and model.bounds is not None
    assert dask_model.bounds.to_dict() == model.bounds.to_dict()
    assert dask_model.best_iteration == model.best_iteration
    assert dask_model.booster.dump_model()["tree_info"] == model.booster.dump_model()["tree_info"]
    np.testing.assert_array_equal(_tiers(dask_model, validated), _tiers(model, validated))


def test_two_workers_differ_only_by_the_data_parallel_fit(
    parts: Path, single: tuple[Any, CapacityModel, Any], two_workers: Any
) -> None:
    validated, model, hold = single
    result = train_dask(
        two_workers, parts / "customers", parts / "equipment", CONFIG, SEED, HOLDOUT
    )
    dask_model = result.model
    # Everything computed from gathered aggregates is identical ...
    assert dask_model.fitted_keys == model.fitted_keys
    np.testing.assert_array_equal(dask_model.builder.base_weights_, model.builder.base_weights_)
    assert dask_model.peers == model.peers
    # ... the trees are not: each worker bins its features from its own rows and bags its
    # own rows (docs/dask_engine.md). Same-tier share and served accuracy are bounded.
    same = float(np.mean(_tiers(dask_model, validated) == _tiers(model, validated)))
    acc = {
        name: evaluate_model(m, hold.frames, hold.peak_kw).metrics()["model_accuracy"]
        for name, m in (("single", model), ("dask", dask_model))
    }
    print(f"two workers: same tier {same:.4f}; served accuracy {acc}")
    assert same >= 0.85
    assert abs(acc["dask"] - acc["single"]) <= 0.03


def test_batch_scoring_equals_the_single_process_answers(
    parts: Path, single: tuple[Any, CapacityModel, Any], two_workers: Any, tmp_path: Path
) -> None:
    validated, model, _ = single
    recommender = Recommender(model, "capacity-recommender:test")
    result = recommend_dask(
        two_workers, recommender, parts / "customers", parts / "equipment", tmp_path / "recs"
    )
    got = pd.concat([pd.read_csv(f) for f in sorted(result.files)], ignore_index=True)
    single_validated = validate_frames(
        concatenated(parts, "customers"), concatenated(parts, "equipment"), require_label=False
    )
    want = recommender.score_frames(single_validated.customers, single_validated.equipment)
    assert result.n_scored == len(want) == len(got)
    want = pd.read_csv(pd.io.common.StringIO(want.to_csv(index=False)))  # same CSV round trip
    pd.testing.assert_frame_equal(got, want)
    # Every rejected row is reported, per partition, and the counts add up.
    rejects = sum(r.report.rejected_rows("equipment") for r in result.reports)
    assert rejects == single_validated.rejected_rows("equipment") > 0
    assert len(result.reports) == 3


def test_partitions_must_pair_by_name_and_ids_must_not_repeat(parts: Path, tmp_path: Path) -> None:
    lonely = tmp_path / "equipment"
    lonely.mkdir()
    (lonely / "other.parquet").write_bytes(
        (parts / "equipment" / "part-00000.parquet").read_bytes()
    )
    with pytest.raises(ContractError, match="only in customers"):
        discover_partitions(parts / "customers", lonely)
    # The same partition twice under two names: every id repeats across partitions.
    twice = tmp_path / "twice"
    for sub in ("customers", "equipment"):
        (twice / sub).mkdir(parents=True)
        for name in ("a", "b"):
            src = parts / sub / "part-00000.parquet"
            (twice / sub / f"{name}.parquet").write_bytes(src.read_bytes())
    reports = [
        _partition_report(p, validate_partition(p, require_label=False))
        for p in discover_partitions(twice / "customers", twice / "equipment")
    ]
    with pytest.raises(ContractError, match="more than one partition"):
        check_unique_ids(reports)
