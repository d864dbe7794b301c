"""Shared, session-scoped fixtures: a small synthetic history, a model trained once, a bundle.

Everything is seeded and small (2,500 synthetic customers, at most 300 boosting rounds,
one thread) so the model, service and CLI tests together stay well under a minute. Nothing
is written into the repository: histories, bundles and registries live in pytest's tmp
directories, and tests that touch the MLflow registry use the ``capacity_home`` fixture.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serving.model.config import ModelConfig
from serving.model.predictor import CapacityModel
from training.bundle import save_bundle
from training.data import LabelledHistory, load_labelled
from training.model import fit_model
from training.synth.history import SynthConfig, generate_history, write_history

SYNTH_N = 2500
SYNTH_SEED = 3
MODEL_SEED = 0
SMALL_MODEL_CONFIG = ModelConfig(max_rounds=300, num_threads=1)
"""The configuration of every test model: monotone (the default), small, one thread."""

REGISTRY_ENV_VARS = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "CAPACITY_TRACKING_URI",
    "CAPACITY_MODEL_DIR",
)


@pytest.fixture(scope="session")
def small_model_config() -> ModelConfig:
    """The configuration every test model uses (tests must not train bigger ones)."""
    return SMALL_MODEL_CONFIG


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A written synthetic history: customers.csv, equipment.csv, oracle.csv, dirty_rows.csv."""
    out = tmp_path_factory.mktemp("synth-history")
    write_history(generate_history(SynthConfig(n=SYNTH_N, seed=SYNTH_SEED)), out)
    return out


@pytest.fixture(scope="session")
def labelled_history(synth_dir: Path) -> LabelledHistory:
    """The synthetic history after contract validation (dirty rows rejected), with labels."""
    data, _ = load_labelled(
        synth_dir / "customers.csv", synth_dir / "equipment.csv", oracle=synth_dir / "oracle.csv"
    )
    return data


@pytest.fixture(scope="session")
def trained_model(labelled_history: LabelledHistory) -> CapacityModel:
    """A monotone model trained once per session on the whole fixture history."""
    return fit_model(
        labelled_history.frames, labelled_history.peak_kw, SMALL_MODEL_CONFIG, seed=MODEL_SEED
    )


@pytest.fixture(scope="session")
def bundle_dir(trained_model: CapacityModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session model saved as a bundle (read-only: copy it before corrupting it)."""
    out = tmp_path_factory.mktemp("bundles") / "model"
    return save_bundle(
        trained_model,
        out,
        metadata={"model_version": "test-1", "seed": MODEL_SEED, "data_hash": "fixture"},
        metrics={"model_accuracy": 0.0},
    )


@pytest.fixture
def capacity_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private CAPACITY_HOME (registry, artifacts, champion) and no inherited tracking URI."""
    home = tmp_path / "capacity-home"
    home.mkdir()
    monkeypatch.setenv("CAPACITY_HOME", str(home))
    for var in REGISTRY_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL server for the session (tests/pg_cluster.py).

    Skipped, with the reason, only where Debian's server is not installed (``make test``
    installs it: ``make postgres-deps``).
    """
    from pg_cluster import ThrowawayCluster, server_bin_dir

    bin_dir = server_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server not installed (make postgres-deps installs it)")
    cluster = ThrowawayCluster(bin_dir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def log_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty recommendation-log database on each backend (SQLite file, PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log' / 'recommendations.db'}"
    cluster = request.getfixturevalue("postgres_cluster")
    return str(cluster.create_database(f"log_{uuid.uuid4().hex[:12]}"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tell the server launcher which marks the test being set up carries.

    Session fixtures start their server during the setup of the first test that needs
    them, so :func:`tests.server_process.start_server` sees that test's marks and refuses
    to start a server for one not marked ``live`` (the fast lane would silently grow one).
    """
    import tests.server_process as server_process

    server_process.RUNNING_TEST_MARKS = {mark.name for mark in item.iter_markers()}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any response of it was an unexplained 5xx (order independent).

    Replaces a "last test" that only saw the tests run before it: this runs after every
    test, whatever was selected and in whatever order, on the responses the real-server
    tests received (:data:`tests.server_process.RESPONSE_LOG`) and on each server's own
    count of the 500s it served.
    """
    from tests.server_process import RESPONSE_LOG, session_problems

    problems = session_problems(RESPONSE_LOG)
    if not problems:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["5xx answers the tests did not expect:", *(f"  {p}" for p in problems)]
    if reporter is not None:
        reporter.write_sep("=", "session check failed", red=True)
        for line in lines:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
