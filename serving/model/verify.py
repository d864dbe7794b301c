"""Verify a bundle before trusting it: the pure-Python checks, then LightGBM in a child.

A ``booster.txt`` whose checksum matches (it was written that way, or the checksums were
recomputed) can still be text LightGBM cannot parse; for some such files LightGBM does
not raise but aborts the process from C++ (``terminate called without an active
exception``, SIGABRT). Loaded in the service's worker that kills the worker, BentoML
restarts it, it loads the same file again: a crash loop with the port open and silent.

:func:`verify_bundle` therefore runs :func:`serving.model.bundle.check_bundle_files`
(checksums, JSON, versions, documents) and the ``REGISTRY_VERSION`` check in this process,
then hands the verified booster text to a child Python process that loads it with
LightGBM and predicts one row of zeros of the builder's width. A native abort, a
segmentation fault, a hang (``timeout``) or a LightGBM error in the child becomes a
:class:`~serving.model.bundle.BundleError` naming ``booster.txt``. The child imports only
LightGBM and NumPy (LightGBM's optional scikit-learn, pandas… integrations are kept out),
so the check costs one process start, about half a second; it runs when a bundle is
loaded or exported, never per request.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from serving.model.bundle import BundleError, check_bundle_files, registry_version

VERIFY_TIMEOUT_SECONDS = 60.0
"""How long the child may take to load the booster and predict before it is killed."""
_MARK = "CAPACITY-BOOSTER-CHECK "

# Kept out of the child's imports: LightGBM's optional integrations cost a second of start
# time and are not needed to parse a model and predict a NumPy matrix. If a LightGBM
# version needs one of them after all, the child imports again without the block.
_CHILD = r"""
import json, sys
BLOCK = ("sklearn", "pandas", "dask", "pyarrow", "datatable", "matplotlib", "graphviz", "cffi")
for name in BLOCK:
    sys.modules.setdefault(name, None)
try:
    import lightgbm as lgb
except ImportError:
    for name in list(sys.modules):
        if (name in BLOCK and sys.modules[name] is None) or name.split(".")[0] == "lightgbm":
            del sys.modules[name]
    import lightgbm as lgb
import numpy as np

MARK = sys.argv[1]
width = int(sys.argv[2])


def report(**doc):
    sys.stdout.write("\n" + MARK + json.dumps(doc) + "\n")
    sys.stdout.flush()


try:
    booster = lgb.Booster(model_str=sys.stdin.buffer.read().decode("utf-8"))
    n = booster.num_feature()
    names = booster.feature_name()
    if n != width:
        report(ok=False, num_feature=n, feature_name=names)
        sys.exit(0)
    pred = np.ravel(booster.predict(np.zeros((1, width)), num_threads=1))
    report(ok=True, num_feature=n, feature_name=names, prediction=[float(v) for v in pred[:4]])
except Exception as exc:
    report(ok=False, error=f"{type(exc).__name__}: {exc}")
    sys.exit(3)
"""


def _printable(text: str, limit: int = 200) -> str:
    cut = text if len(text) <= limit else text[:limit] + "..."
    return "".join(ch if ch.isascii() and ch.isprintable() else "?" for ch in cut)


def _lightgbm_said(output: str) -> str:
    """LightGBM's last fatal message in the child's output, for the error ("" if none)."""
    fatal = [line for line in output.splitlines() if "[Fatal]" in line]
    if not fatal:
        return ""
    return "; LightGBM said: " + _printable(fatal[-1].split("[Fatal]", 1)[1].strip())


def _report(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(_MARK):
            try:
                doc = json.loads(line[len(_MARK) :])
            except ValueError:
                return None
            return doc if isinstance(doc, dict) else None
    return None


def check_booster(
    booster_text: str,
    feature_names: list[str],
    *,
    where: str,
    timeout: float = VERIFY_TIMEOUT_SECONDS,
) -> None:
    """Have LightGBM load ``booster_text`` and predict one row, in a child process.

    Raises
    ------
    BundleError
        ``booster.txt could not be loaded by LightGBM: …`` when the child dies from a
        signal, does not finish within ``timeout`` seconds, reports a LightGBM error, or
        when the booster's features are not ``feature_names`` or its prediction is not a
        finite number. ``where`` (the bundle directory) starts the message.
    """
    prefix = f"model bundle {where}: booster.txt could not be loaded by LightGBM"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD, _MARK, str(len(feature_names))],
            input=booster_text.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BundleError(
            f"{prefix}: the check process did not finish within {timeout:g} s"
        ) from exc
    except OSError as exc:
        raise BundleError(f"{prefix}: the check process could not be started ({exc})") from exc
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    said = _lightgbm_said(stdout + "\n" + stderr)
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = "an unknown signal"
        raise BundleError(
            f"{prefix}: the check process died with signal {-proc.returncode} ({name}){said}"
        )
    doc = _report(stdout)
    if doc is None:
        tail = _printable(stderr.strip().splitlines()[-1]) if stderr.strip() else "no output"
        raise BundleError(
            f"{prefix}: the check process exited with code {proc.returncode} ({tail}){said}"
        )
    if "error" in doc:
        raise BundleError(f"{prefix}: {_printable(str(doc['error']))}")
    n = doc.get("num_feature")
    if n != len(feature_names):
        raise BundleError(
            f"model bundle {where}: booster.txt has {n} features, builder.json lists "
            f"{len(feature_names)}"
        )
    if doc.get("feature_name") != feature_names:
        raise BundleError(
            f"model bundle {where}: booster.txt: the booster's features do not match "
            "builder.json's feature list"
        )
    prediction = doc.get("prediction") or []
    if not (doc.get("ok") and prediction and all(math.isfinite(v) for v in prediction)):
        raise BundleError(f"{prefix}: its prediction is not a finite number ({prediction!r})")


def verify_bundle(
    bundle_dir: Path | str, *, timeout: float = VERIFY_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Verify a bundle before it is trusted; returns its metadata.

    First the pure-Python checks (:func:`serving.model.bundle.check_bundle_files`:
    files, checksums, JSON, versions, documents) and the ``REGISTRY_VERSION`` marker,
    then :func:`check_booster` in a child process, so a native abort of LightGBM is a
    :class:`BundleError` here instead of the end of the calling process.

    Raises
    ------
    BundleError
        Naming the file that is missing, corrupted, malformed or incompatible.
    """
    checked = check_bundle_files(bundle_dir)
    registry_version(checked.root)
    check_booster(
        checked.booster_text,
        list(checked.builder.feature_names_),
        where=str(checked.root),
        timeout=timeout,
    )
    meta: dict[str, Any] = checked.docs["metadata.json"]
    return meta
