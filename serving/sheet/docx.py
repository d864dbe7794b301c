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
    GROUP_HEADERS,
    LINE_HEADERS,
    SheetDocument,
    group_rows,
    line_rows,
    sheet_notes_zh,
    signature_rows,
    summary_rows,
    supply_rows,
    verdict_zh,
)
from serving.sheet.pdf import CJK_FONT


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


def _page_number_footer(document: object) -> None:
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

    paragraph.add_run("第 ")
    field("PAGE")
    paragraph.add_run(" 页 / 共 ")
    field("NUMPAGES")
    paragraph.add_run(" 页")


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
    _page_number_footer(document)
    title = document.add_heading(doc.title, level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _grid(document, ["项目", "内容"], [[k, v] for k, v in doc.header])
    s = doc.sheet
    if s.lines:
        document.add_heading("一、设备清单（每台设备及其计算组）", level=2)
        _grid(document, LINE_HEADERS, line_rows(doc))
    if s.single_phase is not None:
        document.add_heading("单相负荷换算", level=2)
        _grid(
            document,
            ["相", "P/kW", "Q/kvar"],
            [[p.phase, f"{p.p_kw:.2f}", f"{p.q_kvar:.2f}"] for p in s.single_phase.phases],
        )
    if s.rows:
        document.add_heading("二、分组计算", level=2)
        _grid(document, GROUP_HEADERS, group_rows(doc))
    document.add_heading("三、计算负荷与无功补偿", level=2)
    _grid(document, ["项目", "数值"], [list(kv) for kv in summary_rows(doc)])
    document.add_heading("四、变压器选择与供电方案", level=2)
    _grid(document, ["项目", "数值"], [list(kv) for kv in supply_rows(doc)])
    document.add_heading("五、模型推荐与差异说明", level=2)
    rec = doc.recommendation
    rows = [
        ["模型推荐容量", f"{rec.recommended_kva:g} kVA（{rec.model_version}）"],
        ["需要系数法容量", f"{s.transformer_kva:g} kVA"],
    ]
    if doc.check is not None:
        c = doc.check
        rows.append(
            [
                "拟报装容量",
                f"{c.proposed_kva:g} kVA：{verdict_zh(c.verdict, c.yearly_difference_yuan)}，年基本电费差 "
                f"{c.yearly_difference_yuan:+,.0f} 元",
            ]
        )
    _grid(document, ["项目", "数值"], rows)
    for text in doc.comparison:
        document.add_paragraph(text)
    document.add_heading("六、容量档对比", level=2)
    _grid(
        document,
        ["容量/kVA", "合适概率", "", "年基本电费/元"],
        [
            [
                f"{t.capacity_kva:g}"
                + ("（推荐）" if t.recommended else "")
                + ("（拟报装）" if t.proposed else ""),
                f"{t.p_appropriate:.0%}",
                "█" * round(t.p_appropriate * 20),
                f"{t.yearly_charge_yuan:,.0f}",
            ]
            for t in doc.tiers
        ],
    )
    document.add_heading("七、依据", level=2)
    for text in s.standards:
        document.add_paragraph(text, style="List Bullet")
    for note in sheet_notes_zh(doc):
        document.add_paragraph(note)
    document.add_heading("八、签署", level=2)
    _grid(document, ["", "姓名", "签字", "日期"], signature_rows(doc))
    document.add_paragraph("编制单位（盖章）：")
    document.add_paragraph("\n\n")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
