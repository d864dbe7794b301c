"""The dependency locks follow pyproject.toml (offline; `make lock` regenerates them)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _locks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("locks", REPO / "tools" / "locks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["locks"] = module
    spec.loader.exec_module(module)
    return module


def test_locks_match_pyproject() -> None:
    assert _locks().problems() == []


def test_a_changed_pin_is_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locks = _locks()
    pyproject = tmp_path / "pyproject.toml"
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    pyproject.write_text(text.replace('"numpy==2.4.6"', '"numpy==2.4.5"'), encoding="utf-8")
    monkeypatch.setattr(locks, "PYPROJECT", pyproject)
    found = locks.problems()
    assert any("numpy==2.4.5" in p for p in found)
    assert any("digest" in p for p in found)


def test_serve_requirements_are_the_locked_versions_without_training_packages() -> None:
    locks = _locks()
    serve, locked = locks.pins(locks.SERVE_TXT), locks.pins(locks.LOCK)
    assert serve and all(locked[name] == version for name, version in serve.items())
    assert not {"mlflow", "matplotlib", "shap"} & set(serve)
