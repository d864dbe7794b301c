"""What the notebooks run on: a model (the champion by default) and a history (its holdout).

The notebooks are parameterised (papermill: ``model``, ``customers``, ``equipment``); this
module turns those parameters into files, so that the notebooks themselves define no
functions:

* ``model``: ``"champion"`` (the registry alias), a registered version number (``"3"``),
  or the path of a model bundle;
* ``customers`` / ``equipment``: a contract history; when omitted, the holdout the model
  was scored on at training time (logged with its run), i.e. customers it never saw.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from serving.settings import Settings


@dataclass(frozen=True)
class NotebookInputs:
    """Resolved notebook inputs."""

    bundle_dir: Path
    version: str
    customers: Path
    equipment: Path
    history_source: str


def resolve(
    model: str | None = "champion",
    customers: str | Path | None = None,
    equipment: str | Path | None = None,
    settings: Settings | None = None,
    work: Path | None = None,
) -> NotebookInputs:
    """Resolve the notebook parameters into a bundle directory and a pair of contract files.

    Raises
    ------
    LookupError
        ``champion`` asked for and none registered, or a version without a logged holdout
        and no history given.
    ValueError
        Only one of ``customers`` and ``equipment`` given.
    """
    from training.registry.store import champion_version, download_version

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if (customers is None) != (equipment is None):
        raise ValueError(
            f"give both customers and equipment, or neither (the model's holdout); received "
            f"customers={customers!r}, equipment={equipment!r}"
        )
    settings = settings or Settings()
    work = work or Path(tempfile.mkdtemp(prefix="nb-inputs-"))
    model = model or "champion"
    version: str | None
    if Path(model).is_dir():
        bundle = Path(model)
        version = None
    else:
        version = champion_version(settings) if model == "champion" else str(model)
        if version is None:
            raise LookupError(
                f"no champion of '{settings.registered_model}' is registered in "
                f"{settings.resolved_tracking_uri()}: train and promote one (make model), or "
                "pass model=<bundle path>"
            )
        bundle = download_version(settings, version, "bundle", work / "bundle")
    if customers is not None and equipment is not None:
        return NotebookInputs(
            bundle, version or str(bundle), Path(customers), Path(equipment), str(customers)
        )
    if version is None:
        raise LookupError(
            f"model={model!r} is a bundle path, which has no logged holdout: pass customers "
            "and equipment"
        )
    hold = download_version(settings, version, "holdout", work / "holdout")
    return NotebookInputs(
        bundle,
        version,
        hold / "customers.csv",
        hold / "equipment.csv",
        f"holdout of version {version} (customers it never trained on)",
    )
