"""The test lanes hold: `make test-fast` cannot start a server, and there is one launcher.

* a test not marked ``live`` that starts a real server fails, naming the mark, before any
  process is started (``tests/server_process.start_server``), so the fast lane
  (``-m "not live and not browser and not slow"``) cannot silently grow one;
* every real server of the tests and the benchmarks is started by ``tests/server_process.py``
  (``bentoml serve`` appears in no other subprocess call);
* plain ``pytest`` collects from the repository root (``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.server_process import LIVE_MARK, REPO_ROOT, start_server

FAST_MARKERS = "not live and not browser and not slow"


def test_an_unmarked_test_cannot_start_a_server(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"not marked 'live'.*make test-fast"):
        start_server("unmarked", tmp_path / "home", dict(os.environ))
    assert not (tmp_path / "home" / "server.log").exists()  # refused before any start


def test_the_lanes_are_declared_where_make_and_pytest_read_them() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_config = config["tool"]["pytest"]["ini_options"]
    markers = {m.split(":", 1)[0] for m in pytest_config["markers"]}
    assert {LIVE_MARK, "browser", "slow"} <= markers
    assert "." in pytest_config["pythonpath"]
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"FAST_MARKERS := {FAST_MARKERS}" in makefile
    fast = makefile.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    assert '-m "$(FAST_MARKERS)"' in fast and "browser-deps" not in fast


def _serve_calls(path: Path) -> list[int]:
    """Lines where a subprocess call's argument list contains the word "serve"."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        if not name.startswith("subprocess.") or not node.args:
            continue
        words = {c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant) and c.value}
        if "serve" in words:
            lines.append(node.lineno)
    return lines


def test_one_server_launcher_for_tests_and_benchmarks() -> None:
    launcher = REPO_ROOT / "tests" / "server_process.py"
    assert _serve_calls(launcher), "the launcher itself must be found by this check"
    others = {
        str(p.relative_to(REPO_ROOT)): _serve_calls(p)
        for folder in ("tests", "benchmarks")
        for p in sorted((REPO_ROOT / folder).rglob("*.py"))
        if p != launcher
    }
    assert {k: v for k, v in others.items() if v} == {}


def test_plain_pytest_collects_from_the_repository_root() -> None:
    pytest_bin = Path(sys.executable).with_name("pytest")
    if not pytest_bin.exists():
        pytest.skip(f"no pytest console script next to {sys.executable}")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTEST_ADDOPTS"}}
    env.pop("PYTEST_CURRENT_TEST", None)
    out = subprocess.run(
        # --noconftest: the check is the import of `tests.…` by a test module, without
        # the conftest's training imports (seconds of CPU in the fast lane).
        [str(pytest_bin), "--collect-only", "-q", "-p", "no:cacheprovider", "--noconftest",
         "tests/unit/test_session_check.py"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "No module named 'tests'" not in out.stdout + out.stderr
