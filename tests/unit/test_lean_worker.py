"""An API worker imports the service without scikit-learn (serving/model/lean.py).

Both checks run in a child interpreter: what is imported is per process, and this test
process has long imported scikit-learn through training's modules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

_WORKER = r"""
import importlib.machinery, sys
# What BentoML's worker is: ``python -m _bentoml_impl.worker.service`` imports the service
# (set before anything of serving is imported: serving.model decides when it is imported).
sys.modules["__main__"].__spec__ = importlib.machinery.ModuleSpec(
    "_bentoml_impl.worker.service", None
)
import serving.service  # noqa: F401
from serving.model.lean import WORKER_MAIN
assert sys.modules["__main__"].__spec__.name == WORKER_MAIN
import lightgbm as lgb
import numpy as np
heavy = sorted(m for m in ("sklearn", "scipy.stats", "scipy.optimize") if m in sys.modules)
assert not heavy, f"the API worker imported {heavy}"
x = np.arange(200, dtype=float).reshape(100, 2)
booster = lgb.train({"verbose": -1, "num_threads": 1}, lgb.Dataset(x, label=x[:, 0]), 3)
assert booster.predict(x[:2], num_threads=1).shape == (2,)
import sklearn  # noqa: F401  (still importable afterwards)
print("ok")
"""

_ELSEWHERE = r"""
import serving.model.predictor  # noqa: F401
import lightgbm.compat
# Outside a worker lightgbm keeps its scikit-learn integration (training's Dask engine).
assert lightgbm.compat.SKLEARN_INSTALLED
print("ok")
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_an_api_worker_serves_without_scikit_learn() -> None:
    done = _run(_WORKER)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


def test_elsewhere_lightgbm_keeps_its_scikit_learn_integration() -> None:
    done = _run(_ELSEWHERE)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
