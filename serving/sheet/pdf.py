"""The sheet as PDF: HTML laid out by WeasyPrint with the CJK font the Makefile installs.

Print rules: A4, page numbers in the footer (第 n 页 / 共 m 页), the project name in the
header of every page; every box (group table, totals, transformer, model, chart) is kept
on one page (``break-inside: avoid``); long equipment tables continue on the next page
with their column heads repeated, never splitting a row.
"""

from __future__ import annotations

from html import escape

from serving.sheet.chart import tier_chart_svg
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

CJK_FONT = "WenQuanYi Micro Hei"
"""Installed by the Makefile (fonts-wqy-microhei); fontconfig finds it by this name."""

CSS = f"""
@page {{
  size: A4; margin: 20mm 15mm 18mm 15mm;
  @top-left {{ content: "__PROJECT__"; font-size: 8.5pt; color: #555; }}
  @top-right {{ content: "用电负荷计算书"; font-size: 8.5pt; color: #555; }}
  @bottom-center {{ content: "第 " counter(page) " 页 / 共 " counter(pages) " 页";
                    font-size: 9pt; }}
}}
.signature td {{ height: 12mm; }}
.stamp {{ height: 30mm; margin-top: 4mm; }}
body {{ font-family: "{CJK_FONT}", sans-serif; font-size: 10pt; line-height: 1.4; }}
h1 {{ font-size: 16pt; text-align: center; margin: 0 0 4mm 0; }}
h2 {{ font-size: 11.5pt; margin: 0 0 2mm 0; border-bottom: 1px solid #333; }}
.box {{ break-inside: avoid; margin-bottom: 5mm; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 0.6pt solid #555; padding: 1.2mm 1.6mm; font-size: 9.5pt; }}
th {{ background: #eef2f7; }}
tr {{ break-inside: avoid; }}
td.num {{ text-align: right; }}
table.kv td:first-child {{ width: 38%; background: #f7f7f7; }}
table.head td {{ border: 0.6pt solid #555; }}
table.head td.label {{ background: #f7f7f7; width: 14%; }}
ul {{ margin: 0; padding-left: 5mm; }}
li {{ font-size: 9.5pt; }}
.small {{ font-size: 8.5pt; color: #444; }}
"""


def _table(
    headers: list[str],
    rows: list[list[str]],
    numeric: frozenset[int] = frozenset(),
    widths: tuple[int, ...] = (),
) -> str:
    cols = "".join(f'<col style="width:{w}%">' for w in widths)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if j in numeric else ""}">{escape(c)}</td>'
            for j, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _kv(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def _header(doc: SheetDocument) -> str:
    cells = doc.header
    rows = []
    for i in range(0, len(cells), 2):
        rows.append(
            "<tr>"
            + "".join(
                f'<td class="label">{escape(k)}</td><td>{escape(v)}</td>'
                for k, v in cells[i : i + 2]
            )
            + "</tr>"
        )
    return f'<table class="head"><tbody>{"".join(rows)}</tbody></table>'


def _css_string(text: str) -> str:
    """Text safe inside a CSS double-quoted string (every non-alphanumeric escaped)."""
    return "".join(ch if ch.isalnum() or ch == " " else f"\\{ord(ch):x} " for ch in text)


def sheet_html(doc: SheetDocument) -> str:
    """The HTML the PDF is rendered from (also useful to inspect the layout)."""
    s = doc.sheet
    method = "需要系数法" if s.method == "demand_coefficient" else "单位面积负荷密度法"
    sections = [
        f"<h1>{escape(doc.title)}</h1>",
        f'<div class="box">{_header(doc)}</div>',
    ]
    if s.lines:
        sections.append(
            "<div><h2>一、设备清单（每台设备及其计算组）</h2>"
            + _table(
                LINE_HEADERS,
                line_rows(doc),
                numeric=frozenset({0, 3, 4, 7}),
                widths=(5, 21, 16, 9, 6, 11, 6, 9, 17),
            )
            + "</div>"
        )
    if s.single_phase is not None:
        sp = s.single_phase
        sections.append(
            '<div class="box"><h2>单相负荷换算</h2>'
            + _table(
                ["相", "P/kW", "Q/kvar"],
                [[p.phase, f"{p.p_kw:.2f}", f"{p.q_kvar:.2f}"] for p in sp.phases],
                numeric=frozenset({1, 2}),
            )
            + f'<p class="small">等效三相负荷 = 3 × 最大相（{sp.max_phase} 相）：'
            f"{sp.p_kw:.2f} kW，{sp.q_kvar:.2f} kvar</p></div>"
        )
    if s.rows:
        sections.append(
            f'<div class="box"><h2>二、分组计算（{method}）</h2>'
            + _table(
                GROUP_HEADERS,
                group_rows(doc),
                numeric=frozenset({1, 2, 3, 4, 5, 6}),
                widths=(34, 11, 9, 9, 9, 14, 14),
            )
            + '<p class="small">* 设计人员修改的系数。Pjs = Kx·Pe，Qjs = Pjs·tan φ。</p></div>'
        )
    sections.append(
        '<div class="box"><h2>三、计算负荷与无功补偿</h2>' + _kv(summary_rows(doc)) + "</div>"
    )
    sections.append(
        '<div class="box"><h2>四、变压器选择与供电方案</h2>' + _kv(supply_rows(doc)) + "</div>"
    )
    rec = doc.recommendation
    model_rows = [
        ("模型推荐容量", f"{rec.recommended_kva:g} kVA（{rec.model_version}）"),
        ("需要系数法容量", f"{s.transformer_kva:g} kVA"),
    ]
    if doc.check is not None:
        c = doc.check
        model_rows.append(
            (
                "拟报装容量",
                f"{c.proposed_kva:g} kVA：{verdict_zh(c.verdict, c.yearly_difference_yuan)}（合适 {c.p_appropriate:.0%}，"
                f"偏小 {c.p_undersized:.0%}，偏大 {c.p_oversized:.0%}），年基本电费差 "
                f"{c.yearly_difference_yuan:+,.0f} 元",
            )
        )
    sections.append(
        '<div class="box"><h2>五、模型推荐与差异说明</h2>'
        + _kv(model_rows)
        + "<ul>"
        + "".join(f"<li>{escape(t)}</li>" for t in doc.comparison)
        + "</ul></div>"
    )
    sections.append(f'<div class="box"><h2>六、容量档对比</h2>{tier_chart_svg(doc)}</div>')
    sections.append(
        '<div class="box"><h2>七、依据</h2><ul>'
        + "".join(f"<li>{escape(t)}</li>" for t in s.standards)
        + "</ul>"
        + (
            '<p class="small">说明：' + "".join(escape(n) for n in notes) + "</p>"
            if (notes := sheet_notes_zh(doc))
            else ""
        )
        + "</div>"
    )
    sign = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
        for row in signature_rows(doc)
    )
    sections.append(
        '<div class="box signature"><h2>八、签署</h2><table>'
        "<thead><tr><th></th><th>姓名</th><th>签字</th><th>日期</th></tr></thead>"
        f"<tbody>{sign}</tbody></table>"
        '<p class="stamp">编制单位（盖章）：</p></div>'
    )
    project = dict(doc.header).get("工程名称", "")
    css = CSS.replace("__PROJECT__", _css_string(project))
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(doc.title)}</title><style>{css}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )


def render_pdf(doc: SheetDocument) -> bytes:
    """The PDF bytes of the sheet (WeasyPrint; no network: every resource is inline)."""
    from weasyprint import HTML  # imported on use: the service starts without it loaded

    return bytes(HTML(string=sheet_html(doc)).write_pdf())
