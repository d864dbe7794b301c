"""No text a customer or a file supplied becomes a live formula in a workbook we write.

Issue 26 item 5: an equipment name ``=HYPERLINK(…)`` and a 工程名称 ``=1+2`` were live
formulas in the ``/export/sheet`` xlsx, and ``/export/batch`` turned a posted ``=…`` into
one. Every cell written goes through ``features.cells.formula_safe``; the formulas the
calculation sheet writes on purpose (Pjs = Kx·Pe…) stay formulas.
"""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from features.cells import formula_safe, formula_safe_frame
from serving.core import Recommender
from serving.model.predictor import CapacityModel
from serving.sheet.batch import batch_xlsx
from serving.sheet.document import ExportRequest
from serving.sheet.export import export_sheet

NASTY = ['=HYPERLINK("http://example.invalid","x")', "=1+2", "+SUM(A1)", "-2+3", "@cmd"]


@pytest.fixture(scope="module")
def recommender(trained_model: CapacityModel) -> Recommender:
    return Recommender(trained_model, "test-1")


def _cells(content: bytes) -> list[tuple[str, str, object, str]]:
    wb = load_workbook(io.BytesIO(content))
    return [
        (ws.title, c.coordinate, c.value, c.data_type)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]


def test_the_one_rule() -> None:
    for text in NASTY:
        assert formula_safe(text) == "'" + text
    assert formula_safe(-2.0) == -2.0 and formula_safe("车床") == "车床"
    import pandas as pd

    frame = formula_safe_frame(pd.DataFrame({"name": ["=1+2", "ok"], "kw": [-1.0, 2.0]}))
    assert frame["name"].tolist() == ["'=1+2", "ok"] and frame["kw"].tolist() == [-1.0, 2.0]


def test_sheet_xlsx_keeps_typed_text_as_text(recommender: Recommender) -> None:
    body = {
        "application": {
            "industry": "machinery",
            "equipment": [
                {"name": text, "category": "machine_tool", "rated_kw": 7.5} for text in NASTY
            ],
        },
        "format": "xlsx",
        "header": {"工程名称": "=1+2", "申请单位": '=HYPERLINK("http://x")'},
    }
    content = export_sheet(recommender, ExportRequest.model_validate(body)).content
    cells = _cells(content)
    formulas = [(s, a, v) for s, a, v, t in cells if t == "f"]
    # Our own formulas are there (the sheet is live) and none of them holds typed text.
    assert formulas
    typed = [v for _, _, v, _ in cells if isinstance(v, str) and v.lstrip("'") in (*NASTY, "=1+2")]
    assert typed and all(v.startswith("'") for v in typed)
    for _, _, v in formulas:
        assert "HYPERLINK" not in str(v) and str(v) != "=1+2"


def test_batch_xlsx_escapes_a_posted_formula() -> None:
    columns = ("customer_id", "industry", "status")
    csv_text = f'{",".join(columns)}\n"=1+2",machinery,"=HYPERLINK(""http://x"")"\n'
    cells = _cells(batch_xlsx(csv_text, columns))
    assert not [c for c in cells if c[3] == "f"], cells
    values = [c[2] for c in cells]
    assert "'=1+2" in values


def test_batch_downloads_are_relabelled_for_people_and_stay_formula_free() -> None:
    from serving.sheet.batch import batch_csv_localised

    columns = ("customer_id", "status", "recommended_kva", "two_part_tariff", "reason")
    text = ",".join(columns) + '\nA1,ok,630,True,\nB1,rejected (equipment row 5),,,"=1+2"\n'
    out = batch_csv_localised(text, columns, "zh").decode("utf-8-sig").splitlines()
    assert out[0] == "客户编号,结果,推荐容量/kVA,两部制电价,原因"
    assert out[1] == "A1,已推荐,630,是,"
    assert out[2].startswith("B1,已拒绝（设备表第 5 行）") and "'=1+2" in out[2]
    cells = _cells(batch_xlsx(text, columns, "en"))
    assert ("recommendations", "A1", "Customer", "s") in cells
    assert not [c for c in cells if c[3] == "f"]
