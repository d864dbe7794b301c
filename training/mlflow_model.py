"""The model bundle as an MLflow pyfunc model: one row per application in, the served answer out.

``mlflow.pyfunc.load_model("models:/capacity-recommender@champion")`` gives a model whose
``predict`` answers a DataFrame of applications through :class:`serving.core.Recommender`
(the same name matching, decision path and sanity bounds as the service), so a data
scientist can score applications from a notebook without the service or the CLI.

Input columns (:data:`INPUT_COLUMNS`): ``customer_id`` (optional, kept on the output row),
``industry`` (required), ``climate_zone``, ``floor_area_m2``, ``employees`` and ``shifts``
(integers or floats, NaN when unknown) and ``equipment``, the equipment list as JSON text (a
list of ``{"category", "name", "rated_kw", "quantity", "standby"}`` objects, as in the API).
Existing customers (增容 / 减容 / 暂停) add ``application_type``, ``existing_capacity_kva`` and
``meter_readings`` (JSON text: a list of ``{"period", "energy_kwh", "max_demand_kw"}``, as in
the API), and each equipment line may carry ``"change": "add" | "remove"``; all three are
optional columns (an empty cell is a new connection).

Output: one row per input row, in order, named as the API's batch rows are: the columns of
:meth:`serving.core.Recommender.score_applications` plus ``status`` (``ok`` or
``rejected``), ``reason`` and ``incomplete_list``. A row that is not a valid application, or
whose equipment line matches no category, is flagged on its own row (``status`` rejected,
the reason naming the field) instead of failing the whole batch.

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

INPUT_COLUMNS = (
    "customer_id",
    "industry",
    "climate_zone",
    "floor_area_m2",
    "employees",
    "shifts",
    "equipment",
    "application_type",
    "existing_capacity_kva",
    "meter_readings",
)
APPLICATION_COLUMNS = INPUT_COLUMNS[1:]
"""The columns that make the application (``customer_id`` only names the row)."""
ARTIFACT_KEY = "bundle"
BUNDLE_PATH_IN_MODEL = f"artifacts/{ARTIFACT_KEY}"
"""Where the bundle sits inside the logged pyfunc model (its registry version goes there)."""


def _value(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


_JSON_COLUMNS = ("equipment", "meter_readings")
"""Columns holding a list as JSON text (or, from Python, the list itself)."""


def _json_list(raw: Any) -> Any:
    raw = _value(raw)
    return json.loads(raw) if isinstance(raw, str) and raw.strip() else (raw or [])


def _application_of(row: dict[str, Any], columns: Any) -> Application:
    equipment = _json_list(row.get("equipment"))
    fields = {
        k: _value(row.get(k))
        for k in APPLICATION_COLUMNS
        if k not in _JSON_COLUMNS and k in columns
    }
    if fields.get("application_type") is None:
        fields.pop("application_type", None)  # an empty cell: a new connection
    if fields.get("existing_capacity_kva") is not None:
        fields["existing_capacity_kva"] = float(fields["existing_capacity_kva"])
    if "meter_readings" in columns:
        fields["meter_readings"] = _json_list(row.get("meter_readings"))
    for k in ("employees", "shifts"):
        if fields.get(k) is not None:
            number = float(fields[k])
            fields[k] = int(number) if number.is_integer() else number
    if fields.get("floor_area_m2") is not None:
        fields["floor_area_m2"] = float(fields["floor_area_m2"])
    if isinstance(equipment, list):
        for line in equipment:
            q = line.get("quantity") if isinstance(line, dict) else None
            if isinstance(q, float) and q.is_integer():
                line["quantity"] = int(q)
    return Application.model_validate({**fields, "equipment": equipment})


def _check_columns(frame: pd.DataFrame) -> None:
    if "industry" not in frame.columns:
        raise ValueError(
            f"applications need the columns {list(INPUT_COLUMNS)}; missing ['industry'], "
            f"received {list(frame.columns)}"
        )


def applications_from_frame(frame: pd.DataFrame) -> list[Application]:
    """Applications from a DataFrame with :data:`INPUT_COLUMNS` (``equipment`` as JSON text).

    Raises
    ------
    ValueError
        A required column is missing, or a row is not a valid application (the message
        names the row and the field).
    """
    _check_columns(frame)
    out: list[Application] = []
    for i, row in enumerate(frame.to_dict(orient="records")):
        try:
            out.append(_application_of(row, frame.columns))
        except Exception as exc:
            raise ValueError(f"application row {i} is not valid: {exc}") from exc
    return out


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return f"{where}: {first.get('msg', 'invalid')}"
        except Exception:  # not a pydantic error after all
            pass
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def answer_frame(recommender: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Answer every row of ``frame``; a row that cannot be answered is flagged on its row.

    Parameters
    ----------
    recommender
        A :class:`serving.core.Recommender`.
    frame
        Rows with :data:`INPUT_COLUMNS` (``customer_id`` optional: ``row-<i>`` otherwise).

    Returns
    -------
    pandas.DataFrame
        One row per input row, in order: ``customer_id``, ``status``, ``reason``, then the
        API's summary columns (NaN on a rejected row) and ``incomplete_list``.
    """
    _check_columns(frame)
    records = frame.to_dict(orient="records")
    ids = [
        str(_value(r.get("customer_id"))) if _value(r.get("customer_id")) is not None
        else f"row-{i}"
        for i, r in enumerate(records)
    ]  # fmt: skip
    apps: list[Application] = []
    ok_rows: list[int] = []
    reasons = [""] * len(records)
    for i, row in enumerate(records):
        try:
            app = _application_of(row, frame.columns)
        except Exception as exc:
            reasons[i] = f"not a valid application: {_first_error(exc)}"
            continue
        unmatched = recommender.unmatched_errors_of(app, "")
        if unmatched:
            reasons[i] = "; ".join(str(e["message"]) for e in unmatched)
            continue
        apps.append(app)
        ok_rows.append(i)
    scored = recommender.score_applications(apps) if apps else pd.DataFrame()
    base = pd.DataFrame({"customer_id": ids})
    if len(scored):
        scored = scored.drop(columns=["customer_id"]).set_index(pd.Index(ok_rows))
        base = base.join(scored)
    base.insert(1, "status", ["ok" if not r else "rejected" for r in reasons])
    base.insert(2, "reason", reasons)
    unmatched_lines = base["unmatched_lines"] if "unmatched_lines" in base else None
    base["incomplete_list"] = (
        (unmatched_lines.fillna(0) > 0).to_numpy() if unmatched_lines is not None else False
    )
    return base


def frame_from_applications(applications: list[Application]) -> pd.DataFrame:
    """The pyfunc input DataFrame of ``applications`` (the inverse of :func:`applications_from_frame`)."""
    rows = []
    for app in applications:
        d = app.model_dump(mode="json")
        rows.append(
            {
                "customer_id": None,
                "industry": d["industry"],
                "climate_zone": d.get("climate_zone"),
                "floor_area_m2": d.get("floor_area_m2"),
                "employees": d.get("employees"),
                "shifts": d.get("shifts"),
                "equipment": json.dumps(d.get("equipment", []), ensure_ascii=False),
                "application_type": d.get("application_type"),
                "existing_capacity_kva": d.get("existing_capacity_kva"),
                "meter_readings": json.dumps(d.get("meter_readings") or [], ensure_ascii=False),
            }
        )
    frame = pd.DataFrame(rows, columns=list(INPUT_COLUMNS))
    frame["customer_id"] = [f"example-{i}" for i in range(len(frame))]
    frame["floor_area_m2"] = frame["floor_area_m2"].astype(float)
    frame["existing_capacity_kva"] = frame["existing_capacity_kva"].astype(float)
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
            return answer_frame(self.recommender, pd.DataFrame(model_input))

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
    from mlflow.types.schema import AnyType

    anything = AnyType()  # type: ignore[no-untyped-call]

    from serving.core import Recommender
    from serving.model.bundle import load_bundle

    model, _, _ = load_bundle(bundle_dir)
    answers = answer_frame(Recommender(model, "signature"), example)
    # Declared, not inferred: only the industry is required; numbers are "any" so integer
    # counts (int64, which MLflow will not cast to double) and NaN for unknown both pass,
    # and the application's own validation names a wrong value on its row.
    inputs = Schema(
        [
            ColSpec(anything, "customer_id", required=False),
            ColSpec("string", "industry"),
            ColSpec("string", "climate_zone", required=False),
            ColSpec(anything, "floor_area_m2", required=False),
            ColSpec(anything, "employees", required=False),
            ColSpec(anything, "shifts", required=False),
            ColSpec("string", "equipment", required=False),
            ColSpec("string", "application_type", required=False),
            ColSpec(anything, "existing_capacity_kva", required=False),
            ColSpec("string", "meter_readings", required=False),
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
