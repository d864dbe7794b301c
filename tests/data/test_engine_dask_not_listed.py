"""The Dask engine answers an application of industry 其他 (not listed) as one process does.

``capacity recommend`` (single process) validates applications with ``allow_not_listed``;
the Dask engine's partitions went through the same validation without it, so an 其他
customer was rejected there ("unknown industry 'other'") and answered by the other engine.
Protected: the partition validation accepts the code for applications (never for a
history to train on) and the scored rows equal the single-process path's, byte for byte
after the same CSV round trip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from features.catalog import OTHER_INDUSTRY
from features.validation import validate_frames
from serving.core import Recommender
from training.dask_engine.engine import dask_client, recommend_dask, validate_partition
from training.dask_engine.partitions import discover_partitions

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["N1", "N2", "N3"],
        "industry": [OTHER_INDUSTRY, OTHER_INDUSTRY, "office"],
        "floor_area_m2": ["5000", "1200", "8000"],
        "employees": ["", "30", "200"],
        "shifts": ["1", "2", "1"],
        # Ignored when answering; what a history to train on would carry.
        "peak_demand_kw": ["300", "90", "450"],
    }
)
EQUIPMENT = pd.DataFrame(
    {
        "customer_id": ["N1", "N1", "N3"],
        "category": ["lighting", "split_ac", "chiller"],
        "rated_kw": ["60", "5", "140"],
        "quantity": ["1", "10", "2"],
        "standby": ["false", "false", "false"],
        "name": ["照明", "空调", "冷水机组"],
    }
)


@pytest.fixture
def parts(tmp_path: Path) -> Path:
    for sub, frame in (("customers", CUSTOMERS), ("equipment", EQUIPMENT)):
        (tmp_path / sub).mkdir()
        frame.to_parquet(tmp_path / sub / "part-0.parquet", index=False)
    return tmp_path


def test_a_partition_of_applications_accepts_other_and_a_history_does_not(parts: Path) -> None:
    [part] = discover_partitions(parts / "customers", parts / "equipment")
    answered = validate_partition(part, require_label=False)
    assert answered.rejects.empty, answered.rejects.to_dict("records")
    assert (answered.customers["industry"] == OTHER_INDUSTRY).sum() == 2
    # A history to train on never holds it: the model must not learn a pseudo-industry.
    trained = validate_partition(part, require_label=True)
    other = trained.rejects[trained.rejects["column"] == "industry"]
    assert set(other["customer_id"]) == {"N1", "N2"}


@pytest.mark.slow
def test_dask_recommend_of_other_equals_the_single_process_answer(
    parts: Path, trained_model: Any, tmp_path: Path
) -> None:
    recommender = Recommender(trained_model, "capacity-recommender:test")
    with dask_client(None, n_workers=1) as client:
        result = recommend_dask(
            client, recommender, parts / "customers", parts / "equipment", tmp_path / "recs"
        )
    got = pd.concat([pd.read_csv(f) for f in sorted(result.files)], ignore_index=True)
    # The single-process path of `capacity recommend` (training/cli/model.py).
    single = validate_frames(CUSTOMERS, EQUIPMENT, allow_not_listed=True)
    want = recommender.score_frames(single.customers, single.equipment)
    want = pd.read_csv(pd.io.common.StringIO(want.to_csv(index=False)))  # same CSV round trip
    assert result.n_scored == 3
    pd.testing.assert_frame_equal(got, want)
    other = got[got["customer_id"].isin(["N1", "N2"])]
    assert other["manual_review"].all()  # the not-listed answer is flagged for review
