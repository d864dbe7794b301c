"""One contract: every path applies the same limits, the same boolean words, the same zones.

Each rule is declared once in ``features/contract.py``; these tests protect that the JSON
API, the CSV validation, the outcome import, the engineering method and the page (through
``/api/catalog`` and ``csv.js``) read the declaration rather than a copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pandas as pd
import pytest
from pydantic import BaseModel, ValidationError

from features import contract
from features.contract import (
    BOOLEAN_FALSE_WORDS,
    BOOLEAN_TRUE_WORDS,
    CLIMATE_ZONES,
    CUSTOMER_COLUMNS,
    EQUIPMENT_COLUMNS,
    OUTCOME_COLUMNS,
    ColumnSpec,
    column_spec,
)
from features.engineering import _standby_mask
from features.schemas import Application, EquipmentItem
from features.validation import validate_frames, validate_table
from serving.openapi import FeedbackRequest
from serving.web.app import catalog_document

REPO = Path(__file__).resolve().parents[2]


def _history(rated_kw: str, quantity: str, standby: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    customers = pd.DataFrame({"customer_id": ["a"], "industry": ["machinery"]})
    equipment = pd.DataFrame(
        {
            "customer_id": ["a"],
            "category": ["pump"],
            "rated_kw": [rated_kw],
            "quantity": [quantity],
            "standby": [standby],
        }
    )
    return customers, equipment


def test_a_line_the_api_rejects_is_rejected_from_a_csv_too() -> None:
    # 200,000 kW × 20,000 units: the JSON API refused it; the CSV path only flagged it.
    with pytest.raises(ValidationError) as err:
        EquipmentItem.model_validate(
            {"category": "pump", "rated_kw": 200_000.0, "quantity": 20_000}
        )
    assert {e["loc"][0] for e in err.value.errors()} == {"rated_kw", "quantity"}

    history = validate_frames(*_history("200000", "20000"))
    rejected = history.rejects[history.rejects["file"] == "equipment"]
    assert set(rejected["column"]) >= {"rated_kw", "quantity"}
    assert history.equipment.empty
    reasons = dict(zip(rejected["column"], rejected["reason"], strict=False))
    assert "rated_kw must be <= 100000" in reasons["rated_kw"]
    assert "quantity must be <= 10000" in reasons["quantity"]


def test_a_line_at_the_limits_passes_both_paths() -> None:
    spec = column_spec(EQUIPMENT_COLUMNS, "rated_kw")
    assert spec.limit_max == contract.RATED_KW_MAX and spec.limit_min == contract.RATED_KW_MIN
    EquipmentItem.model_validate({"category": "pump", "rated_kw": 2.0, "quantity": 10_000})
    history = validate_frames(*_history("2", "10000"))
    assert history.rejects.empty and len(history.equipment) == 1
    # Below the API's smallest unit (1 W) is rejected on both paths as well.
    with pytest.raises(ValidationError):
        EquipmentItem.model_validate({"category": "pump", "rated_kw": 0.0005})
    assert validate_frames(*_history("0.0005", "1")).equipment.empty


@pytest.mark.parametrize(
    ("specs", "column", "model", "field"),
    [
        (EQUIPMENT_COLUMNS, "rated_kw", EquipmentItem, "rated_kw"),
        (EQUIPMENT_COLUMNS, "quantity", EquipmentItem, "quantity"),
        (CUSTOMER_COLUMNS, "floor_area_m2", Application, "floor_area_m2"),
        (CUSTOMER_COLUMNS, "employees", Application, "employees"),
        (OUTCOME_COLUMNS, "granted_kva", FeedbackRequest, "granted_kva"),
        (OUTCOME_COLUMNS, "metered_peak_kw", FeedbackRequest, "metered_peak_kw"),
    ],
)
def test_api_bounds_are_the_column_specs(
    specs: tuple[ColumnSpec, ...], column: str, model: type[BaseModel], field: str
) -> None:
    spec = column_spec(specs, column)
    schema = model.model_json_schema()["properties"][field]
    bounds = schema.get("anyOf", [schema])[0]
    assert bounds["maximum"] == spec.limit_max
    if spec.limit_min is not None:
        assert bounds["minimum"] == spec.limit_min


def test_page_limits_are_the_column_specs() -> None:
    limits = catalog_document()["limits"]
    assert limits["rated_kw_max"] == column_spec(EQUIPMENT_COLUMNS, "rated_kw").limit_max
    assert limits["rated_kw_min"] == column_spec(EQUIPMENT_COLUMNS, "rated_kw").limit_min
    assert limits["quantity_max"] == column_spec(EQUIPMENT_COLUMNS, "quantity").limit_max
    assert limits["floor_area_m2_max"] == column_spec(CUSTOMER_COLUMNS, "floor_area_m2").limit_max
    assert limits["capacity_kva_max"] == column_spec(OUTCOME_COLUMNS, "granted_kva").limit_max


def test_an_outcome_the_feedback_api_rejects_is_rejected_from_a_file_too() -> None:
    with pytest.raises(ValidationError):
        FeedbackRequest.model_validate(
            {"recommendation_id": "a" * 32, "granted_kva": 2e6, "metered_peak_kw": 300.0}
        )
    frame = pd.DataFrame(
        {"recommendation_id": ["a" * 32], "granted_kva": ["2000000"], "metered_peak_kw": ["300"]}
    )
    table = validate_table(frame, OUTCOME_COLUMNS, file="outcomes", key="recommendation_id")
    assert table.frame.empty and list(table.rejects["column"]) == ["granted_kva"]


def test_one_boolean_word_list_on_every_path() -> None:
    words = [*BOOLEAN_TRUE_WORDS, *BOOLEAN_FALSE_WORDS]
    expected = [True] * len(BOOLEAN_TRUE_WORDS) + [False] * len(BOOLEAN_FALSE_WORDS)
    # history validation
    customers = pd.DataFrame({"customer_id": ["a"], "industry": ["machinery"]})
    equipment = pd.DataFrame(
        {
            "customer_id": ["a"] * len(words),
            "category": ["pump"] * len(words),
            "rated_kw": ["1"] * len(words),
            "quantity": ["1"] * len(words),
            "standby": [w.upper() for w in words],
        }
    )
    history = validate_frames(customers, equipment)
    assert history.rejects.empty
    assert history.equipment["standby"].tolist() == expected
    # the engineering method
    assert _standby_mask(pd.Series(words)).tolist() == expected
    with pytest.raises(ValueError, match="standby must be true/false"):
        _standby_mask(pd.Series(["maybe"]))
    # the page: the catalog sends the list, and csv.js has none of its own (it reads
    # standby with the words it is passed: importer.js passes the catalog's)
    assert catalog_document()["boolean_words"] == {
        "true": list(BOOLEAN_TRUE_WORDS),
        "false": list(BOOLEAN_FALSE_WORDS),
    }
    static = REPO / "serving" / "web" / "static"
    csv_js = (static / "csv.js").read_text(encoding="utf-8")
    assert "'备用', '有'" not in csv_js and "'运行', '常用'" not in csv_js
    assert "boolean_words" in csv_js
    importer = (static / "importer.js").read_text(encoding="utf-8")
    assert importer.count("state.catalog.boolean_words") == importer.count("ToEquipment(")


def test_climate_zones_declared_once() -> None:
    field = Application.model_fields["climate_zone"].annotation
    literal = next(a for a in get_args(field) if a is not type(None))
    assert get_args(literal) == CLIMATE_ZONES
    assert [z["code"] for z in catalog_document()["climate_zones"]] == list(CLIMATE_ZONES)


def test_serving_web_reads_no_private_bentoml_file() -> None:
    source = (REPO / "serving/web/app.py").read_text(encoding="utf-8")
    assert "_bentoml_impl" not in source
