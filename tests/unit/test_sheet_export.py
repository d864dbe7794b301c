"""The exported calculation sheet: PDF text and pages, live xlsx formulas, docx content.

The answer comes from the session model through the same ``Recommender`` the service
uses; the files are written to ``test-artifacts/sheet/`` (PDF pages as PNG) to look at.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import formulas
import pytest
from docx import Document
from openpyxl import load_workbook
from pydantic import ValidationError
from pypdf import PdfReader

from serving.core import Recommender
from serving.model.predictor import CapacityModel
from serving.sheet.chart import tier_chart_svg
from serving.sheet.document import ExportRequest, build_document
from serving.sheet.export import export_sheet
from serving.sheet.xlsx import build_workbook

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "sheet"

HEADER = {
    "工程名称": "某机械厂新建厂房业扩工程",
    "户号": "3301234567",
    "用电地址": "杭州市余杭区良渚街道 88 号",
    "申请单位": "某某精密机械有限公司",
    "设计": "张工",
    "校对": "李工",
    "审核": "王工",
    "date": "2026-12-01",
}

EQUIPMENT: list[dict[str, Any]] = [
    {"name": "数控车床 CK6140", "category": "machine_tool", "rated_kw": 7.5, "quantity": 12},
    {"name": "螺杆空压机 GA37", "category": "air_compressor", "rated_kw": 37, "quantity": 2},
    {
        "name": "备用空压机",
        "category": "air_compressor",
        "rated_kw": 37,
        "quantity": 1,
        "standby": True,
    },
    {"name": "10t 桥式起重机", "category": "crane", "rated_kw": 39.6, "duty_cycle": 0.4},
    {
        "name": "交流弧焊机 BX1-500",
        "category": "arc_welder",
        "rated_kw": 20,
        "quantity": 3,
        "phase": "AB",
        "duty_cycle": 0.6,
    },
    {"name": "车间照明", "category": "lighting", "rated_kw": 12},
    {"name": "消防泵 XBD", "category": "fire_pump", "rated_kw": 45},
]


def _flat(text: str) -> str:
    """Text without whitespace (table cells wrap lines in the PDF)."""
    return re.sub(r"\s+", "", text)


def _request(fmt: str, **extra: Any) -> ExportRequest:
    body = {
        "application": {
            "industry": "machinery",
            "floor_area_m2": 4200,
            "employees": 85,
            "shifts": 2,
            "equipment": EQUIPMENT,
            "design": {
                "load_class": "II",
                "critical_share": 0.6,
                "overrides": [{"category": "machine_tool", "kx": 0.2, "cos_phi": 0.5}],
                "capacitor_step_kvar": 30,
            },
        },
        "format": fmt,
        "header": HEADER,
        **extra,
    }
    return ExportRequest.model_validate(body)


@pytest.fixture(scope="module")
def recommender(trained_model: CapacityModel) -> Recommender:
    return Recommender(trained_model, "test-1")


def test_pdf_opens_and_carries_the_header_and_every_equipment_line(
    recommender: Recommender,
) -> None:
    exported = export_sheet(recommender, _request("pdf", proposed_kva=800))
    assert exported.media_type == "application/pdf"
    assert exported.filename == "负荷计算书_3301234567_2026-12-01.pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "sheet.pdf"
    path.write_bytes(exported.content)
    reader = PdfReader(io.BytesIO(exported.content))
    pages = [page.extract_text() for page in reader.pages]
    text = _flat("\n".join(pages))
    for value in HEADER.values():
        assert _flat(value) in text, value
    for item in EQUIPMENT:
        assert _flat(item["name"]) in text, item["name"]
    sheet = exported.recommendation.engineering
    assert sheet is not None
    assert f"{sheet.p30_kw:.2f}" in text and f"{sheet.transformer_kva:g}kVA" in text
    assert "GB50052" in text and "GB51348" in text and "工业与民用供配电设计手册" in text
    assert "拟报装800kVA" in text  # the proposed capacity on the chart
    for n, page in enumerate(pages, start=1):
        assert f"第{n}页/共{len(pages)}页" in _flat(page)
    # The pages as PNG, to look at (poppler-utils is installed by the Makefile).
    assert shutil.which("pdftoppm"), "pdftoppm missing: run `make browser-deps`"
    for old in ARTIFACTS.glob("sheet-page-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", str(path), str(ARTIFACTS / "sheet-page")], check=True
    )
    assert len(list(ARTIFACTS.glob("sheet-page-*.png"))) == len(pages)


def _recompute(content: bytes, tmp_path: Path, name: str) -> dict[str, Any]:
    path = tmp_path / name
    path.write_bytes(content)
    solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    prefix = f"'[{name}]计算书'!"
    return {
        key[len(prefix) :]: value.value[0, 0]
        for key, value in solution.items()
        if key.startswith(prefix) and hasattr(value, "value")
    }


def test_xlsx_formulas_recompute_to_the_served_p30_and_follow_a_changed_kx(
    recommender: Recommender, tmp_path: Path
) -> None:
    request = _request("xlsx")
    exported = export_sheet(recommender, request)
    sheet = exported.recommendation.engineering
    assert sheet is not None
    doc = build_document(request, exported.recommendation, None, today=dt.date(2026, 12, 1))
    _, cells = build_workbook(doc)
    values = _recompute(exported.content, tmp_path, "sheet.xlsx")
    assert values[cells["p30"]] == pytest.approx(sheet.p30_kw, rel=1e-9)
    assert values[cells["q30"]] == pytest.approx(sheet.q30_kvar, rel=1e-9)
    assert values[cells["s30"]] == pytest.approx(sheet.s30_kva, rel=1e-9)
    assert values[cells["i30"]] == pytest.approx(sheet.i30_a, rel=1e-9)
    assert values[cells["qc"]] == pytest.approx(sheet.qc_kvar, rel=1e-9)
    assert values[cells["s30_comp"]] == pytest.approx(sheet.s30_comp_kva, rel=1e-9)
    assert values[cells["sum_pe"]] == pytest.approx(sheet.installed_kw, rel=1e-9)

    # An engineer changes the machine tools' Kx from 0.2 to 0.3 in Excel: P30 follows.
    workbook = load_workbook(io.BytesIO(exported.content))
    ws = workbook["计算书"]
    row = next(
        r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=8).value == "machine_tool"
    )
    ws.cell(row=row, column=3, value=0.3)
    out = io.BytesIO()
    workbook.save(out)
    changed = _recompute(out.getvalue(), tmp_path, "changed.xlsx")
    tools = next(r for r in sheet.rows if r.category == "machine_tool")
    expected = sheet.k_sum_p * (sheet.sum_p_kw + 0.1 * tools.installed_kw)
    assert changed[cells["p30"]] == pytest.approx(expected, rel=1e-9)


def test_docx_carries_the_header_lines_and_page_numbers(recommender: Recommender) -> None:
    exported = export_sheet(recommender, _request("docx", proposed_kva=800))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "sheet.docx").write_bytes(exported.content)
    document = Document(io.BytesIO(exported.content))
    text = "\n".join(
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    ) + "\n".join(p.text for p in document.paragraphs)
    for value in HEADER.values():
        assert value in text
    for item in EQUIPMENT:
        assert item["name"] in text
    footer_xml = document.sections[0].footer._element.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml


def test_tier_chart_marks_the_proposed_capacity_with_the_yearly_difference(
    recommender: Recommender,
) -> None:
    request = _request("pdf", proposed_kva=800)
    check = recommender.check(request.application, 800)
    doc = build_document(request, check.recommendation, check)
    assert [t.capacity_kva for t in doc.tiers if t.proposed] == [800]
    svg = tier_chart_svg(doc)
    assert "拟报装 800 kVA" in svg
    assert f"{abs(check.yearly_difference_yuan):,.0f} 元" in svg


def test_export_request_names_bad_fields() -> None:
    with pytest.raises(ValidationError, match="format"):
        _request("odt")
    with pytest.raises(ValidationError, match="工程名称"):
        ExportRequest.model_validate(
            {
                "application": {"industry": "machinery", "floor_area_m2": 100},
                "format": "pdf",
                "header": {"工程名称": "x" * 300},
            }
        )
    with pytest.raises(ValidationError, match="lang"):
        ExportRequest.model_validate(
            {
                "application": {"industry": "machinery", "floor_area_m2": 100},
                "format": "pdf",
                "lang": "fr",
            }
        )
    with pytest.raises(ValidationError, match="date"):
        ExportRequest.model_validate(
            {
                "application": {"industry": "machinery", "floor_area_m2": 100},
                "format": "pdf",
                "header": {"date": "yesterday"},
            }
        )


def test_area_only_application_exports_its_sheet(recommender: Recommender) -> None:
    request = ExportRequest.model_validate(
        {"application": {"industry": "office", "floor_area_m2": 12000}, "format": "pdf"}
    )
    exported = export_sheet(recommender, request)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(exported.content)).pages)
    assert "单位面积负荷密度法" in _flat(text)


def test_header_text_is_printed_literally_never_as_markup(recommender: Recommender) -> None:
    nasty = '</style><b>粗</b> "引号" \\ 反斜杠 & <script>x</script>'
    body = {
        "application": {"industry": "office", "floor_area_m2": 5000},
        "format": "pdf",
        "header": {"工程名称": nasty, "申请单位": nasty},
    }
    exported = export_sheet(recommender, ExportRequest.model_validate(body))
    text = _flat("".join(p.extract_text() for p in PdfReader(io.BytesIO(exported.content)).pages))
    assert _flat(nasty) in text
    for fmt in ("docx", "xlsx"):
        out = export_sheet(recommender, ExportRequest.model_validate({**body, "format": fmt}))
        assert out.content[:2] == b"PK"  # a zip container that opened and saved


def test_xlsx_transformer_choice_is_a_formula_that_follows_the_load(
    recommender: Recommender, tmp_path: Path
) -> None:
    # Issue 25: the transformer was a constant, so an overload never changed the choice.
    request = _request("xlsx")
    exported = export_sheet(recommender, request)
    sheet = exported.recommendation.engineering
    assert sheet is not None
    doc = build_document(request, exported.recommendation, None, today=dt.date(2026, 12, 1))
    _, cells = build_workbook(doc)
    values = _recompute(exported.content, tmp_path, "sheet.xlsx")
    assert values[cells["transformer_kva"]] == pytest.approx(sheet.transformer_kva)
    assert values[cells["load_rate"]] == pytest.approx(sheet.load_rate, rel=1e-9)
    # Double every Kx: the load grows and the formula picks a larger transformer.
    wb = load_workbook(io.BytesIO(exported.content))
    ws = wb["计算书"]
    for row in ws.iter_rows(min_col=3, max_col=3):
        cell = row[0]
        if (
            cell.fill.fgColor.rgb
            and cell.fill.fgColor.rgb.endswith("FFF7D6")
            and isinstance(cell.value, float)
        ):
            cell.value = min(1.0, cell.value * 3)
    changed = tmp_path / "changed.xlsx"
    wb.save(changed)
    more = _recompute(changed.read_bytes(), tmp_path, "changed.xlsx")
    assert more[cells["s30_comp"]] > values[cells["s30_comp"]]
    assert more[cells["transformer_kva"]] > values[cells["transformer_kva"]]
    assert ws[cells["transformer_kva"]].number_format == "#,##0"
    assert any(c.value == "编制单位（盖章）" for row in ws.iter_rows() for c in row)
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4


def test_docx_is_a4_and_every_document_has_a_signature_and_stamp_block(
    recommender: Recommender,
) -> None:
    docx_bytes = export_sheet(recommender, _request("docx")).content
    document = Document(io.BytesIO(docx_bytes))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    text = "\n".join(p.text for p in document.paragraphs)
    assert "编制单位（盖章）" in text
    cells = {c.text for t in document.tables for r in t.rows for c in r.cells}
    assert {"设计", "校对", "审核", "张工"} <= cells
    pdf = export_sheet(recommender, _request("pdf")).content
    pdf_text = _flat("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    assert "编制单位（盖章）" in pdf_text and "签字" in pdf_text


def _recompute_all(content: bytes, tmp_path: Path, name: str) -> dict[tuple[str, str], Any]:
    """Every cell ``formulas`` computes, by (sheet title, address)."""
    path = tmp_path / name
    path.write_bytes(content)
    solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    out: dict[tuple[str, str], Any] = {}
    for key, value in solution.items():
        m = re.fullmatch(r"'\[[^\]]+\](.+)'!([A-Z]+[0-9]+)", key)
        if m and hasattr(value, "value"):
            out[(m.group(1).upper(), m.group(2))] = value.value[0, 0]
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_xlsx_formula_cells_carry_the_values_excel_computes(
    recommender: Recommender, tmp_path: Path, lang: str
) -> None:
    # Issue 25: previewers that do not calculate showed blanks. Every formula cell of every
    # sheet carries a cached result equal to what `formulas` (an independent evaluator of
    # the same formula) computes; the formulas themselves stay live.
    exported = export_sheet(recommender, _request("xlsx", proposed_kva=800, lang=lang))
    formulas_book = load_workbook(io.BytesIO(exported.content))
    values_book = load_workbook(io.BytesIO(exported.content), data_only=True)
    recomputed = _recompute_all(exported.content, tmp_path, f"cached-{lang}.xlsx")
    checked = 0
    for ws in formulas_book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if not (isinstance(cell.value, str) and cell.value.startswith("=")):
                    continue
                cached = values_book[ws.title][cell.coordinate].value
                assert isinstance(cached, float | int), (ws.title, cell.coordinate, cached)
                expected = recomputed[(ws.title.upper(), cell.coordinate)]
                assert cached == pytest.approx(float(expected), rel=1e-12, abs=1e-12), (
                    ws.title,
                    cell.coordinate,
                    cell.value,
                )
                checked += 1
    sheet = exported.recommendation.engineering
    assert sheet is not None
    assert checked >= len(sheet.lines) + 3 * len(sheet.rows) + 12
    # The cached figures are the served ones (the formulas reproduce the totals).
    _, cells = build_workbook(
        build_document(
            _request("xlsx", lang=lang), exported.recommendation, None, today=dt.date(2026, 12, 1)
        )
    )
    calc = values_book.worksheets[0]
    assert calc[cells["p30"]].value == pytest.approx(sheet.p30_kw, rel=1e-9)
    assert calc[cells["s30_comp"]].value == pytest.approx(sheet.s30_comp_kva, rel=1e-9)
    assert calc[cells["transformer_kva"]].value == pytest.approx(sheet.transformer_kva)
    # Number formats on the figures; the internal group-code columns hidden.
    assert calc[cells["p30"]].number_format == "#,##0.00"
    assert calc[cells["load_rate"]].number_format == "0.0%"
    lines = formulas_book.worksheets[1]
    assert lines["H2"].number_format == "#,##0.00"
    assert formulas_book.worksheets[0].column_dimensions["H"].hidden
    assert lines.column_dimensions["L"].hidden


def test_a_changed_kx_is_recomputed_even_with_cached_values(
    recommender: Recommender, tmp_path: Path
) -> None:
    # A cached value must not freeze the sheet: Excel recalculates on open.
    exported = export_sheet(recommender, _request("xlsx"))
    wb = load_workbook(io.BytesIO(exported.content))
    assert wb.calculation.fullCalcOnLoad


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _document_text(fmt: str, content: bytes) -> str:
    if fmt == "pdf":
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    if fmt == "docx":
        document = Document(io.BytesIO(content))
        return "\n".join(
            [c.text for t in document.tables for r in t.rows for c in r.cells]
            + [p.text for p in document.paragraphs]
            + [p.text for p in document.sections[0].footer.paragraphs]
        )
    wb = load_workbook(io.BytesIO(content))
    return "\n".join(
        [ws.title for ws in wb.worksheets]
        + [
            str(c.value)
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for c in row
            if c.value is not None
        ]
    )


@pytest.mark.parametrize("fmt", ["pdf", "docx", "xlsx"])
def test_an_export_from_the_english_page_is_an_english_document(
    recommender: Recommender, fmt: str
) -> None:
    # Issue 25: the English page gave a Chinese document without saying so. Apart from
    # what the customer typed (names, title block), no Chinese character is left.
    exported = export_sheet(recommender, _request(fmt, proposed_kva=800, lang="en"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"sheet-en.{fmt}").write_bytes(exported.content)
    text = _document_text(fmt, exported.content)
    typed = [*HEADER.values(), *(item["name"] for item in EQUIPMENT)]
    if fmt == "pdf":
        text, typed = _flat(text), [_flat(t) for t in typed]
    for value in sorted(typed, key=len, reverse=True):
        text = text.replace(value, "")
    assert _CJK.findall(text) == [], sorted(set(_CJK.findall(text)))
    flat = _flat(text)
    for phrase in ("Equipment list", "Calculated load", "Standards followed", "Signatures"):
        assert _flat(phrase) in flat or fmt == "xlsx", phrase
    assert "GB50052-2009" in flat and "loadclasses" in flat
    assert "Issuingorganisation(stamp)" in flat
    assert exported.filename.startswith("load-calculation_3301234567")
    if fmt == "pdf":
        assert "Page1of" in flat


@pytest.mark.parametrize("fmt", ["pdf", "docx", "xlsx"])
def test_a_chinese_document_says_its_standards_in_chinese(
    recommender: Recommender, fmt: str
) -> None:
    # The 依据 once carried English in brackets ("(load classes, sources)").
    exported = export_sheet(recommender, _request(fmt, lang="zh"))
    flat = _flat(_document_text(fmt, exported.content))
    assert "供配电系统设计规范" in flat and "负荷分级" in flat
    assert "loadclasses" not in flat and "workedexamples" not in flat
    assert exported.filename.startswith("负荷计算书_")


def test_every_served_standard_and_word_is_said_in_both_languages() -> None:
    from features.engineering import STANDARDS
    from serving.sheet.document import HEADER_LABELS
    from serving.sheet.words import EN, ZH, standard

    assert set(ZH) == set(EN)
    for text in STANDARDS:
        assert standard("zh", text) != text and standard("en", text) != text, text
        assert not _CJK.search(standard("en", text)), text
    # The Chinese labels are the aliases the API accepts for the title block.
    assert [ZH[f"hdr_{field}"] for field, _ in HEADER_LABELS] == [
        label for _, label in HEADER_LABELS
    ]
