"""The sheet as a Word document (python-docx): the same sections as the PDF.

The tier chart is a table with a text bar per tier (python-docx embeds raster images
only, and the runtime draws no rasters).
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table

from serving.sheet.document import (
    SheetDocument,
    group_headers,
    group_rows,
    line_headers,
    line_rows,
    model_rows,
    sheet_notes,
    signature_headers,
    signature_rows,
    standards,
    summary_rows,
    supply_rows,
    tier_tag,
)
from serving.sheet.pdf import CJK_FONT
from serving.sheet.words import word


def _keep_rows_together(table: Table) -> None:
    """Rows never split across pages; the head row repeats on every page."""
    for i, row in enumerate(table.rows):
        props = row._tr.get_or_add_trPr()
        cant = OxmlElement("w:cantSplit")
        props.append(cant)
        if i == 0:
            head = OxmlElement("w:tblHeader")
            props.append(head)


def _grid(document: object, headers: list[str], rows: list[list[str]]) -> None:
    table = document.add_table(rows=1, cols=len(headers))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    _keep_rows_together(table)


def _page_number_footer(document: object, lang: str) -> None:
    section = document.sections[0]  # type: ignore[attr-defined]
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def field(instr: str) -> None:
        run = paragraph.add_run()
        begin = OxmlElement("w:fldChar")
        begin.set(qn("w:fldCharType"), "begin")
        text = OxmlElement("w:instrText")
        text.set(qn("xml:space"), "preserve")
        text.text = instr
        end = OxmlElement("w:fldChar")
        end.set(qn("w:fldCharType"), "end")
        run._r.append(begin)
        run._r.append(text)
        run._r.append(end)

    paragraph.add_run(word(lang, "page_before"))
    field("PAGE")
    paragraph.add_run(word(lang, "page_middle"))
    field("NUMPAGES")
    after = word(lang, "page_after")
    if after:
        paragraph.add_run(after)


def render_docx(doc: SheetDocument) -> bytes:
    """The .docx bytes of the sheet."""
    document = Document()
    style = document.styles["Normal"]
    style.font.name = CJK_FONT
    style.font.size = Pt(10)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), CJK_FONT)
    # A4, as every document a Chinese utility files (python-docx's default is US Letter).
    for section in document.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(20)
        section.top_margin, section.bottom_margin = Mm(20), Mm(18)
    _page_number_footer(document, doc.lang)
    lang = doc.lang

    def w(key: str, **params: object) -> str:
        return word(lang, key, **params)

    def pairs(rows: list[tuple[str, str]]) -> None:
        _grid(document, [w("item"), w("value")], [list(kv) for kv in rows])

    title = document.add_heading(doc.title, level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _grid(document, [w("item"), w("entry")], [[k, v] for k, v in doc.header])
    s = doc.sheet
    if s.lines:
        document.add_heading(w("h_lines"), level=2)
        _grid(document, line_headers(doc), line_rows(doc))
    if s.single_phase is not None:
        document.add_heading(w("h_single_phase"), level=2)
        _grid(
            document,
            [w("col_phase_name"), w("col_p"), w("col_q")],
            [[p.phase, f"{p.p_kw:.2f}", f"{p.q_kvar:.2f}"] for p in s.single_phase.phases],
        )
    if s.rows:
        method = w("method_demand" if s.method == "demand_coefficient" else "method_area")
        document.add_heading(w("h_groups", method=method), level=2)
        _grid(document, group_headers(doc), group_rows(doc))
    document.add_heading(w("h_loads"), level=2)
    pairs(summary_rows(doc))
    document.add_heading(w("h_supply"), level=2)
    pairs(supply_rows(doc))
    document.add_heading(w("h_model"), level=2)
    pairs(model_rows(doc))
    for text in doc.comparison:
        document.add_paragraph(text)
    document.add_heading(w("h_tiers"), level=2)
    _grid(
        document,
        [w("tier_capacity"), w("tier_p"), "", w("tier_yearly")],
        [
            [
                f"{t.capacity_kva:g}"
                + (
                    w("tier_tag", tag=tag)
                    if (tag := tier_tag(doc, t.recommended, t.proposed))
                    else ""
                ),
                f"{t.p_appropriate:.0%}",
                "█" * round(t.p_appropriate * 20),
                f"{t.yearly_charge_yuan:,.0f}",
            ]
            for t in doc.tiers
        ],
    )
    document.add_heading(w("h_standards"), level=2)
    for text in standards(doc):
        document.add_paragraph(text, style="List Bullet")
    for note in sheet_notes(doc):
        document.add_paragraph(note)
    document.add_heading(w("h_sign"), level=2)
    _grid(document, signature_headers(doc), signature_rows(doc))
    document.add_paragraph(w("stamp") + ("：" if lang == "zh" else ": "))
    document.add_paragraph("\n\n")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
