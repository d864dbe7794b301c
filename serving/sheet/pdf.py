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
)
from serving.sheet.words import word

CJK_FONT = "WenQuanYi Micro Hei"
"""Installed by the Makefile (fonts-wqy-microhei); fontconfig finds it by this name."""

CSS = f"""
@page {{
  size: A4; margin: 20mm 15mm 18mm 15mm;
  @top-left {{ content: "__PROJECT__"; font-size: 8.5pt; color: #555; }}
  @top-right {{ content: "__HEAD__"; font-size: 8.5pt; color: #555; }}
  @bottom-center {{ content: "__PAGE_BEFORE__" counter(page) "__PAGE_MIDDLE__" counter(pages)
                    "__PAGE_AFTER__"; font-size: 9pt; }}
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
    lang = doc.lang

    def w(key: str, **params: object) -> str:
        return word(lang, key, **params)

    method = w("method_demand" if s.method == "demand_coefficient" else "method_area")
    sections = [
        f"<h1>{escape(doc.title)}</h1>",
        f'<div class="box">{_header(doc)}</div>',
    ]
    if s.lines:
        sections.append(
            f"<div><h2>{escape(w('h_lines'))}</h2>"
            + _table(
                line_headers(doc),
                line_rows(doc),
                numeric=frozenset({0, 3, 4, 7}),
                widths=(5, 21, 16, 9, 6, 11, 6, 9, 17),
            )
            + "</div>"
        )
    if s.single_phase is not None:
        sp = s.single_phase
        sections.append(
            f'<div class="box"><h2>{escape(w("h_single_phase"))}</h2>'
            + _table(
                [w("col_phase_name"), w("col_p"), w("col_q")],
                [[p.phase, f"{p.p_kw:.2f}", f"{p.q_kvar:.2f}"] for p in sp.phases],
                numeric=frozenset({1, 2}),
            )
            + '<p class="small">'
            + escape(w("single_phase_note", phase=sp.max_phase, p=sp.p_kw, q=sp.q_kvar))
            + "</p></div>"
        )
    if s.rows:
        sections.append(
            f'<div class="box"><h2>{escape(w("h_groups", method=method))}</h2>'
            + _table(
                group_headers(doc),
                group_rows(doc),
                numeric=frozenset({1, 2, 3, 4, 5, 6}),
                widths=(34, 11, 9, 9, 9, 14, 14),
            )
            + f'<p class="small">{escape(w("group_note"))}</p></div>'
        )
    sections.append(
        f'<div class="box"><h2>{escape(w("h_loads"))}</h2>' + _kv(summary_rows(doc)) + "</div>"
    )
    sections.append(
        f'<div class="box"><h2>{escape(w("h_supply"))}</h2>' + _kv(supply_rows(doc)) + "</div>"
    )
    sections.append(
        f'<div class="box"><h2>{escape(w("h_model"))}</h2>'
        + _kv(model_rows(doc))
        + "<ul>"
        + "".join(f"<li>{escape(t)}</li>" for t in doc.comparison)
        + "</ul></div>"
    )
    sections.append(f'<div class="box"><h2>{escape(w("h_tiers"))}</h2>{tier_chart_svg(doc)}</div>')
    notes = sheet_notes(doc)
    sections.append(
        f'<div class="box"><h2>{escape(w("h_standards"))}</h2><ul>'
        + "".join(f"<li>{escape(t)}</li>" for t in standards(doc))
        + "</ul>"
        + (
            f'<p class="small">{escape(w("notes"))}' + "".join(escape(n) for n in notes) + "</p>"
            if notes
            else ""
        )
        + "</div>"
    )
    sign = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
        for row in signature_rows(doc)
    )
    heads = "".join(f"<th>{escape(h)}</th>" for h in signature_headers(doc))
    sections.append(
        f'<div class="box signature"><h2>{escape(w("h_sign"))}</h2><table>'
        f"<thead><tr>{heads}</tr></thead>"
        f"<tbody>{sign}</tbody></table>"
        f'<p class="stamp">{escape(w("stamp"))}{"：" if lang == "zh" else ": "}</p></div>'
    )
    css = CSS
    for mark, text in (
        ("__PROJECT__", doc.fields.get("project_name", "")),
        ("__HEAD__", w("running_head")),
        ("__PAGE_BEFORE__", w("page_before")),
        ("__PAGE_MIDDLE__", w("page_middle")),
        ("__PAGE_AFTER__", w("page_after")),
    ):
        css = css.replace(mark, _css_string(text))
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
        f"<title>{escape(doc.title)}</title><style>{css}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )


def render_pdf(doc: SheetDocument) -> bytes:
    """The PDF bytes of the sheet (WeasyPrint; no network: every resource is inline)."""
    from weasyprint import HTML  # imported on use: the service starts without it loaded

    return bytes(HTML(string=sheet_html(doc)).write_pdf())
