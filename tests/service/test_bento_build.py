"""`bentoml build` works offline from bentofile.yaml and packages the service and page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bentoml_build_offline(tmp_path: Path) -> None:
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"}
    bentoml = (sys.executable, "-m", "bentoml")  # the running interpreter's BentoML
    proc = subprocess.run(
        [*bentoml, "build", str(ROOT), "--output", "tag"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bentos = list((tmp_path / "bentoml" / "bentos" / "capacity-recommender").glob("*/"))
    bentos = [b for b in bentos if (b / "bento.yaml").is_file()]
    assert bentos, f"no bento written: {proc.stdout}"
    src = bentos[0] / "src"
    assert (src / "serving" / "service.py").is_file()
    assert (src / "serving" / "web" / "static" / "index.html").is_file()
    assert (src / "features" / "data" / "categories.csv").is_file()
    assert (src / "serving" / "migrations" / "script.py.mako").is_file()
    reqs = (bentos[0] / "env" / "python" / "requirements.txt").read_text()
    assert "lightgbm==" in reqs
    # The runtime only: no training code, no MLflow, no matplotlib in the bento.
    assert not (src / "training").exists()
    for name in ("mlflow", "matplotlib", "shap"):
        assert f"{name}==" not in reqs.lower(), name
