"""The notebooks run top to bottom on small data, define no functions and are committed clean.

Each notebook reads its data size from ``NB_N`` and sends any registry or logbook state
to a temporary folder; here ``CAPACITY_HOME`` and ``CAPACITY_LOG_DB_URL`` point into
pytest's tmp directory as well, so nothing touches the repository's ``var/``. The kernel
is ipykernel's ``python3``, installed inside the virtualenv (``<venv>/share/jupyter``),
and started with this interpreter.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = ("01-history.ipynb", "02-model.ipynb", "03-pilot.ipynb")
CELL_TIMEOUT_S = 300
NB_N = "1500"


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def test_all_notebooks_are_present() -> None:
    for name in NOTEBOOKS:
        assert (NOTEBOOK_DIR / name).is_file(), name


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_defines_no_functions_and_has_no_outputs(name: str) -> None:
    book = _read(name)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code, f"{name} has no code cells"
    for cell in code:
        assert "def " not in cell.source, f"{name}: a cell defines a function:\n{cell.source}"
        assert "lambda" not in cell.source, f"{name}: a cell defines a lambda:\n{cell.source}"
        assert cell.get("outputs", []) == [], f"{name}: committed with outputs"
        assert cell.get("execution_count") is None, f"{name}: committed with execution counts"
    first = code[0].source
    assert "NB_N" in first, f"{name}: the first code cell must read the data size from NB_N"


def test_python3_kernel_is_the_venv_ipykernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert "ipykernel" in " ".join(spec.argv)
    # 'python' in the spec is replaced by this interpreter (sys.executable) when launched.
    assert spec.argv[0] in {"python", "python3", sys.executable}


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_on_small_data(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("NB_N", NB_N)
    monkeypatch.setenv("CAPACITY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CAPACITY_LOG_DB_URL", f"sqlite:///{tmp_path / 'recommendations.db'}")
    # The notebooks' own temporary folders (tempfile.mkdtemp) land in tmp_path too.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "CAPACITY_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    book = _read(name)
    client = NotebookClient(
        book,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        out
        for cell in book.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
    # Nothing was written into the repository's notebooks folder by the run.
    assert _read(name).cells[1].get("outputs", []) == []
