"""The layers hold: training → serving → features, and the runtime ships no MLflow.

``make lint`` runs import-linter on the tree; these tests prove the contract can fail by
running it on a copy with an intruding import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _copy_tree(dst: Path) -> None:
    for pkg in ("features", "serving", "training"):
        shutil.copytree(
            ROOT / pkg, dst / pkg, ignore=shutil.ignore_patterns("__pycache__", "static")
        )
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    _copy_tree(tmp_path)
    return tmp_path


def test_contracts_are_kept_on_the_tree(tree: Path) -> None:
    proc = _lint(tree)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout


def test_serving_importing_training_breaks_the_layers(tree: Path) -> None:
    (tree / "serving" / "intruder.py").write_text("import training.model\n", encoding="utf-8")
    proc = _lint(tree)
    assert proc.returncode != 0
    assert "Layers" in proc.stdout and "BROKEN" in proc.stdout
    assert "serving.intruder -> training.model" in proc.stdout


def test_serving_importing_mlflow_breaks_the_runtime_contract(tree: Path) -> None:
    (tree / "serving" / "intruder.py").write_text(
        "def f():\n    import mlflow\n    return mlflow\n", encoding="utf-8"
    )
    proc = _lint(tree)
    assert proc.returncode != 0
    assert "never imports MLflow" in proc.stdout and "BROKEN" in proc.stdout
