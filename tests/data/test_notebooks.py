"""The notebooks run on a registered champion and its holdout, define no functions and are committed clean.

Each notebook takes papermill parameters (``model``, ``customers``, ``equipment``) in a
cell tagged ``parameters``; by default it runs on the champion and the holdout logged
with its run. Here a small champion is trained into a private registry in pytest's tmp
directory (``CAPACITY_HOME``), so nothing touches the repository's ``var/``. The kernel
is ipykernel's ``python3``, installed inside the virtualenv (``<venv>/share/jupyter``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = ("01-history.ipynb", "02-model.ipynb", "03-pilot.ipynb")
CELL_TIMEOUT_S = 300


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def test_all_notebooks_are_present() -> None:
    for name in NOTEBOOKS:
        assert (NOTEBOOK_DIR / name).is_file(), name


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_parameterised_defines_no_functions_and_has_no_outputs(name: str) -> None:
    book = _read(name)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code, f"{name} has no code cells"
    for cell in code:
        assert "def " not in cell.source, f"{name}: a cell defines a function:\n{cell.source}"
        assert "lambda" not in cell.source, f"{name}: a cell defines a lambda:\n{cell.source}"
        assert cell.get("outputs", []) == [], f"{name}: committed with outputs"
        assert cell.get("execution_count") is None, f"{name}: committed with execution counts"
    first = code[0]
    assert "parameters" in first.metadata.get("tags", []), f"{name}: no papermill parameters"
    for parameter in ("model", "customers", "equipment"):
        assert f"{parameter} = " in first.source, f"{name}: parameter {parameter} missing"
    assert 'model = "champion"' in first.source  # the default is the champion


def test_python3_kernel_is_the_venv_ipykernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert "ipykernel" in " ".join(spec.argv)
    # 'python' in the spec is replaced by this interpreter (sys.executable) when launched.
    assert spec.argv[0] in {"python", "python3", sys.executable}


@pytest.fixture(scope="module")
def champion_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A private registry with a small champion; and the history it was trained on."""
    from serving.model.config import ModelConfig
    from serving.settings import Settings
    from training.registry.store import promote
    from training.synth.history import SynthConfig, generate_history, write_history
    from training.train import TrainConfig, train_from_files

    root = tmp_path_factory.mktemp("notebook-home")
    history = root / "history"
    write_history(generate_history(SynthConfig(n=1500, seed=41)), history)
    settings = Settings(home=root / "home")
    result = train_from_files(
        history / "customers.csv",
        history / "equipment.csv",
        root / "bundle",
        TrainConfig(seed=1, model=ModelConfig(max_rounds=150, num_threads=1), make_plots=False),
        settings,
    )
    # The notebooks need a champion; the gate's 0.90 on a 285-customer holdout is within
    # noise of this 1,200-customer model (0.895-0.912 across code versions that score alike
    # on 5,000 others), and is not what this test protects: promote by a recorded force.
    assert result.run is not None
    decision = promote(
        settings, result.run.version, force=True, reason="notebook test fixture", by="tests"
    )
    assert decision.promoted
    yield root / "home", history


def _execute(
    name: str, parameters: dict[str, Any], home: Path, tmp_path: Path, mp: pytest.MonkeyPatch
) -> nbformat.NotebookNode:
    import papermill

    mp.setenv("CAPACITY_HOME", str(home))
    mp.setenv("CAPACITY_LOG_DB_URL", f"sqlite:///{tmp_path / 'recommendations.db'}")
    mp.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary folders land here too
    mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "CAPACITY_TRACKING_URI"):
        mp.delenv(var, raising=False)
    out = tmp_path / name
    papermill.execute_notebook(
        str(NOTEBOOK_DIR / name),
        str(out),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
        execution_timeout=CELL_TIMEOUT_S,
    )
    return nbformat.read(out, as_version=4)


def _text(book: nbformat.NotebookNode) -> str:
    parts = []
    for cell in book.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_the_champion_and_its_holdout(
    name: str, champion_home: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = champion_home
    params = {"pilot_n": 30} if name == "03-pilot.ipynb" else {}
    book = _execute(name, params, home, tmp_path, monkeypatch)
    text = _text(book)
    assert "model version 1" in text or "model 1" in text
    if name != "03-pilot.ipynb":
        assert "holdout of version 1" in text
    images = [
        o for c in book.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert images, f"{name} drew no plot"
    # Nothing was written into the repository's notebooks folder by the run.
    assert all(c.get("outputs", []) == [] for c in _read(name).cells if c.cell_type == "code")


@pytest.mark.slow
def test_history_notebook_runs_on_a_history_given_as_parameters(
    champion_home: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, history = champion_home
    params = {
        "customers": str(history / "customers.csv"),
        "equipment": str(history / "equipment.csv"),
    }
    text = _text(_execute("01-history.ipynb", params, home, tmp_path, monkeypatch))
    assert str(history / "customers.csv") in text
    assert "holdout of version" not in text
