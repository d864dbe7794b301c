"""LightGBM in an API worker without its scikit-learn integration (memory, issue 27).

``import lightgbm`` imports scikit-learn whenever it is installed (``lightgbm.compat``, for
the ``LGBMRegressor`` family and the Dask estimators), and scikit-learn imports much of
SciPy (``scipy.stats``, ``scipy.optimize``, ...). In a served worker that was ~70 MiB of
its ~285 MiB resident at start and ~1.2 s of its import time, for classes the service never
uses: it predicts with :class:`lightgbm.Booster` only (measured with ``python -X importtime``
and the RSS of ``import lightgbm`` with and without scikit-learn importable: 184 / 112 MiB).

In a BentoML API worker process, and only there, lightgbm is therefore imported with
scikit-learn hidden, as :mod:`serving.model.verify`'s child process does: lightgbm takes
its documented fallback (``SKLEARN_INSTALLED = False``). Elsewhere (tests, the CLIs, the
training code in one process with the service) nothing changes: training's Dask engine
needs ``lightgbm.dask`` with scikit-learn. scikit-learn stays importable in the worker
afterwards; only lightgbm's own estimator classes are unavailable there.
"""

from __future__ import annotations

import sys

WORKER_MAIN = "_bentoml_impl.worker.service"
"""The module BentoML runs as ``__main__`` in each API worker (``python -m ...``)."""


def is_api_worker() -> bool:
    """Whether this process is a BentoML API worker (its ``__main__`` is the worker module)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == WORKER_MAIN


def import_lightgbm_lean() -> bool:
    """Import lightgbm without scikit-learn in an API worker; True if this call did.

    Does nothing outside an API worker, or when lightgbm or scikit-learn is imported already
    (lightgbm decides once, when it is first imported).
    """
    if not is_api_worker() or "lightgbm" in sys.modules or "sklearn" in sys.modules:
        return False
    # A None entry makes ``import sklearn`` raise ImportError: lightgbm.compat's fallback.
    sys.modules["sklearn"] = None  # type: ignore[assignment]
    try:
        import lightgbm  # noqa: F401
    finally:
        del sys.modules["sklearn"]
    return True
