"""Both engines publish through one path: a Dask run differs from a local one only by its tag.

Protects issue 24 item 4 (and issue 22 item 2): a Dask-trained version had a random run name,
no datasets, no description, no monitor profile, and ``mlflow.pyfunc.load_model`` failed.
One small fixture history is split with ``capacity partition`` (the Dask engine's layout),
trained by each engine into one registry, and the two runs are compared field by field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from serving.model.config import ModelConfig
from serving.settings import Settings
from training.cli.app import app
from training.dask_engine.partitions import discover_partitions
from training.registry.store import client
from training.train import TrainConfig, train_from_files

pytestmark = pytest.mark.slow

CONFIG = TrainConfig(
    seed=5,
    model=ModelConfig(max_rounds=150, num_threads=1, cross_fit_below=1500),
    make_plots=False,
)
REGISTRY_ENV_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "CAPACITY_TRACKING_URI")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("publish-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAPACITY_HOME", str(root))
        for var in REGISTRY_ENV_VARS:
            mp.delenv(var, raising=False)
        yield root


@pytest.fixture(scope="module")
def parted(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parted")
    result = CliRunner().invoke(
        app,
        ["partition", "--customers", str(synth_dir / "customers.csv"),
         "--equipment", str(synth_dir / "equipment.csv"), "--out", str(out), "-n", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_partition_keeps_every_row_and_each_customer_with_its_lines(
    synth_dir: Path, parted: Path
) -> None:
    parts = discover_partitions(parted / "customers", parted / "equipment")
    assert [p.name for p in parts] == ["part-00000", "part-00001", "part-00002"]
    cust = [pd.read_parquet(p.customers) for p in parts]
    eq = [pd.read_parquet(p.equipment) for p in parts]
    source_c = pd.read_csv(synth_dir / "customers.csv", dtype=str, keep_default_na=False)
    source_e = pd.read_csv(synth_dir / "equipment.csv", dtype=str, keep_default_na=False)
    assert sum(map(len, cust)) == len(source_c) and sum(map(len, eq)) == len(source_e)
    assert all(len(c) > 0 for c in cust)
    for c, e in zip(cust, eq, strict=True):
        # every line is in its customer's partition (where its customer has a row at all)
        known = set(source_c["customer_id"])
        lines = set(e["customer_id"]) & known
        assert lines <= set(c["customer_id"])
    # text kept as text (a dirty cell stays dirty for the contract to reject)
    merged = pd.concat(cust, ignore_index=True).sort_values("customer_id", kind="stable")
    assert set(merged.columns) == set(source_c.columns)
    assert (merged.dtypes.astype(str).isin(["object", "str", "string"])).all()


def _run(settings: Settings, version: str):  # type: ignore[no-untyped-def]
    mc = client(settings)
    mv = mc.get_model_version(settings.registered_model, version)
    return mc, mv, mc.get_run(mv.run_id)


def test_dask_and_local_runs_are_published_alike(
    parted: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.pyfunc

    # Through the environment, restored after the test: mlflow.set_tracking_uri would export
    # MLFLOW_TRACKING_URI into the process for good, and later tests (the notebooks'
    # champion) would register into this test's store.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", Settings(home=home).resolved_tracking_uri())
    from training.dask_engine.engine import dask_client
    from training.dask_engine.train import train_partitioned

    settings = Settings(home=home)
    # The local engine on the same rows (the partitions concatenated back to CSV).
    csv_dir = home / "csv" / "parted"
    csv_dir.mkdir(parents=True)
    for sub in ("customers", "equipment"):
        frames = [pd.read_parquet(p) for p in sorted((parted / sub).glob("*.parquet"))]
        pd.concat(frames, ignore_index=True).to_csv(csv_dir / f"{sub}.csv", index=False)
    local = train_from_files(
        csv_dir / "customers.csv", csv_dir / "equipment.csv", home / "b-local", CONFIG, settings
    )
    with dask_client(None, n_workers=1) as dc:
        dask = train_partitioned(
            str(parted / "customers"), str(parted / "equipment"), home / "b-dask", CONFIG,
            settings, client=dc,
        )  # fmt: skip
    assert local.run is not None and dask.run is not None
    mc, _, lrun = _run(settings, local.run.version)
    _, _, drun = _run(settings, dask.run.version)
    assert lrun.data.tags["engine"] == "local" and drun.data.tags["engine"] == "dask"
    same_tags = set(lrun.data.tags) - {"mlflow.source.name", "mlflow.source.git.commit"}
    assert same_tags <= set(drun.data.tags), same_tags - set(drun.data.tags)
    assert drun.info.run_name.startswith("train ") and "history=parted" in drun.info.run_name
    assert "history=parted" in lrun.info.run_name
    assert "dask engine" in drun.data.tags["mlflow.note.content"]
    # Datasets: training and holdout, both contexts, for both engines.
    for run in (lrun, drun):
        contexts = sorted(
            t.value
            for d in run.inputs.dataset_inputs
            for t in d.tags
            if t.key == "mlflow.data.context"
        )
        assert contexts == ["holdout", "holdout", "training", "training"], contexts
    # Same artifacts, same per-industry metrics.
    for run in (lrun, drun):
        top = {a.path for a in mc.list_artifacts(run.info.run_id)}
        assert {"bundle", "model", "holdout", "monitor"} <= top, top
        assert any(k.startswith("accuracy.") for k in run.data.metrics)
        assert any(k.startswith("undersized.") for k in run.data.metrics)
    local_keys = {k.split(".")[0] for k in lrun.data.metrics}
    dask_keys = {k.split(".")[0] for k in drun.data.metrics}
    # What only one engine can know: customers dropped for a rejected line (the single
    # process sees every file at once); partitions and rows evaluated (Dask).
    assert local_keys - dask_keys == {"n_dropped_incomplete"}
    assert dask_keys - local_keys == {"n_holdout_evaluated", "n_partitions"}
    # The Dask version loads as a pyfunc model and answers.
    uri = f"models:/{settings.registered_model}/{dask.run.version}"
    model = mlflow.pyfunc.load_model(uri)
    signature = model.metadata.get_input_schema()
    assert signature is not None and "industry" in signature.input_names()
    answers = model.predict(
        pd.DataFrame(
            {"customer_id": ["a"], "industry": ["machinery"], "floor_area_m2": [900],
             "equipment": ['[{"category": "other_motor", "rated_kw": 30, "quantity": 2}]']}
        )
    )  # fmt: skip
    assert answers["status"].tolist() == ["ok"] and answers.loc[0, "recommended_kva"] > 0
