"""The model bundle as an MLflow pyfunc model: one row per application in, the served answer out.

``mlflow.pyfunc.load_model("models:/capacity-recommender@champion")`` gives a model whose
``predict`` answers a DataFrame of applications through :class:`serving.core.Recommender`
(the same name matching, decision path and sanity bounds as the service), so a data
scientist can score applications from a notebook without the service or the CLI.

Input columns (:data:`INPUT_COLUMNS`): ``industry`` (required), ``climate_zone``,
``floor_area_m2``, ``employees`` and ``shifts`` (numbers as floats, NaN when unknown: the
signature declares them ``double``) and ``equipment``, the equipment list as JSON text (a
list of ``{"category", "name", "rated_kw", "quantity", "standby"}`` objects, as in the API).
Output columns: those of :meth:`serving.core.Recommender.score_applications`.

MLflow is imported inside functions only (training code; the runtime never imports it).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from features.schemas import Application

INPUT_COLUMNS = ("industry", "climate_zone", "floor_area_m2", "employees", "shifts", "equipment")
ARTIFACT_KEY = "bundle"
BUNDLE_PATH_IN_MODEL = f"artifacts/{ARTIFACT_KEY}"
"""Where the bundle sits inside the logged pyfunc model (its registry version goes there)."""


def _value(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def applications_from_frame(frame: pd.DataFrame) -> list[Application]:
    """Applications from a DataFrame with :data:`INPUT_COLUMNS` (``equipment`` as JSON text).

    Raises
    ------
    ValueError
        A required column is missing, or a row is not a valid application (the message
        names the row and the field).
    """
    missing = [c for c in ("industry",) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"applications need the columns {list(INPUT_COLUMNS)}; missing {missing}, "
            f"received {list(frame.columns)}"
        )
    out: list[Application] = []
    for i, row in enumerate(frame.to_dict(orient="records")):
        raw = _value(row.get("equipment"))
        equipment = json.loads(raw) if isinstance(raw, str) and raw.strip() else (raw or [])
        fields = {
            k: _value(row.get(k)) for k in INPUT_COLUMNS if k != "equipment" and k in frame.columns
        }
        for k in ("employees", "shifts"):
            if fields.get(k) is not None:
                fields[k] = int(fields[k])
        try:
            out.append(Application.model_validate({**fields, "equipment": equipment}))
        except Exception as exc:
            raise ValueError(f"application row {i} is not valid: {exc}") from exc
    return out


def frame_from_applications(applications: list[Application]) -> pd.DataFrame:
    """The pyfunc input DataFrame of ``applications`` (the inverse of :func:`applications_from_frame`)."""
    rows = []
    for app in applications:
        d = app.model_dump(mode="json")
        rows.append(
            {
                "industry": d["industry"],
                "climate_zone": d.get("climate_zone"),
                "floor_area_m2": d.get("floor_area_m2"),
                "employees": d.get("employees"),
                "shifts": d.get("shifts"),
                "equipment": json.dumps(d.get("equipment", []), ensure_ascii=False),
            }
        )
    frame = pd.DataFrame(rows, columns=list(INPUT_COLUMNS))
    frame["floor_area_m2"] = frame["floor_area_m2"].astype(float)
    for col in ("employees", "shifts"):
        frame[col] = frame[col].astype("Float64").astype(float)
    return frame


def _python_model_class() -> type:
    import mlflow.pyfunc

    class CapacityPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        """Loads the bundle once; ``predict`` answers applications as the service does."""

        def load_context(self, context: Any) -> None:
            from serving.core import Recommender
            from serving.model.bundle import load_bundle, version_label

            bundle = Path(context.artifacts[ARTIFACT_KEY])
            model, _, _ = load_bundle(bundle)
            self.recommender = Recommender(model, version_label(bundle, "capacity-recommender"))

        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            apps = applications_from_frame(pd.DataFrame(model_input))
            return self.recommender.score_applications(apps)

    return CapacityPyfunc


def save_pyfunc(bundle_dir: Path, dst: Path, example: pd.DataFrame) -> Path:
    """Save the bundle as a pyfunc model at ``dst`` with signature and input example.

    The signature is inferred from ``example`` (applications) and the answers the bundle
    gives them, so the registry shows the real input and output schema.
    """
    import warnings

    import mlflow.pyfunc
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema

    from serving.core import Recommender
    from serving.model.bundle import load_bundle

    model, _, _ = load_bundle(bundle_dir)
    answers = Recommender(model, "signature").score_applications(applications_from_frame(example))
    # Declared, not inferred: only the industry is required, and counts are doubles so a
    # missing value (NaN) passes MLflow's schema check.
    inputs = Schema(
        [
            ColSpec("string", "industry"),
            ColSpec("string", "climate_zone", required=False),
            ColSpec("double", "floor_area_m2", required=False),
            ColSpec("double", "employees", required=False),
            ColSpec("double", "shifts", required=False),
            ColSpec("string", "equipment", required=False),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # mlflow's int-column hint on outputs
        outputs = infer_signature(example, answers).outputs
    signature = ModelSignature(inputs=inputs, outputs=outputs)
    with tempfile.TemporaryDirectory() as tmp:
        # Copied under a fixed name so the model's layout is always model/artifacts/bundle.
        staged = shutil.copytree(bundle_dir, Path(tmp) / ARTIFACT_KEY)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            mlflow.pyfunc.save_model(
                path=str(dst),
                python_model=_python_model_class()(),
                artifacts={ARTIFACT_KEY: str(staged)},
                signature=signature,
                input_example=example,
                pip_requirements=[],  # the project is installed where it is loaded
            )
    return dst
