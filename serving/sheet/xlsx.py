"""The sheet as an Excel workbook with live formulas and their cached results.

Sheet ``设备清单`` (Equipment): one row per equipment line, ``Pe = 台数 × PN × √(εN/ε_ref)``
as a formula. Sheet ``计算书`` (Calculation): one row per group; Pe of a category group is
``SUMIF`` over the lines of that group, ``tan φ``, ``Pjs = Kx·Pe``, ``Qjs = Pjs·tan φ``,
the sums, ``P30 = K∑p·ΣPjs``, ``Q30``, ``S30``, ``I30``, the compensation, S30′, the
transformer choice and the load rate are formulas too, so an engineer who changes a Kx, a
cos φ or K∑ sees every figure follow. The model's answer is a value (chosen, not
computed). The equivalent single-phase row holds the converted values (its phase
allocation is not a spreadsheet formula).

Every formula is a :class:`serving.sheet.cells.Formula`: its text and its value come
from one expression, and the value is written as the cell's cached result, so a previewer
that does not calculate shows the figures. Labels and sheet names follow the document's
language.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet

from features.cells import formula_safe
from features.contract import MULTI_TRANSFORMER_STEP_KVA, STANDARD_SERIES_KVA
from serving.sheet.cells import (
    Formula,
    formula_cell,
    if_,
    lift,
    max_,
    ref,
    sqrt,
    total,
    with_cached_values,
)
from serving.sheet.document import (
    SheetDocument,
    category_label,
    duty_text,
    group_label,
    line_headers,
    signature_headers,
    signature_rows,
    standards,
    verdict_text,
)
from serving.sheet.words import WORDS, word

THIN = Side(style="thin", color="555555")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD = PatternFill("solid", fgColor="EEF2F7")
INPUT = PatternFill("solid", fgColor="FFF7D6")
"""Cells an engineer may edit (Kx, cos φ, K∑, cos φ2) are shaded."""

NUMBER_FORMATS = {
    "kw": "#,##0.00",
    "factor": "0.000",
    "kva": "#,##0",
    "amp": "#,##0.0",
    "pct": "0.0%",
    "yuan": "#,##0",
    "count": "0",
    "plain": "General",
}
"""Number formats of the sheet's cells (Excel and previewers show 1,234.50, 0.850, 72.0 %)."""


@dataclass
class _Book:
    """The workbook being written, with the cached value of each formula cell."""

    doc: SheetDocument
    wb: Workbook
    cells: dict[str, str] = field(default_factory=dict)
    cached: dict[str, dict[str, float]] = field(default_factory=dict)

    def w(self, key: str, **params: object) -> str:
        return word(self.doc.lang, key, **params)

    def formula(self, ws: Worksheet, address: str, x: Formula) -> Formula:
        """Write ``x`` into ``address`` of ``ws``; the reference to it, with its value."""
        ws[address] = formula_cell(x)
        self.cached.setdefault(ws.title, {})[address] = x.value
        return ref(address, x.value)


def _head(ws: Worksheet, row: int, headers: list[str]) -> None:
    for j, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=j, value=text)
        cell.font = Font(bold=True)
        cell.fill = HEAD
        cell.border = BOX
        cell.alignment = Alignment(horizontal="center", wrap_text=True)


def _lines_sheet(book: _Book, ws: Worksheet) -> dict[str, list[Formula]]:
    """The equipment lines; each group's Pe cells (for its SUMIF's cached value)."""
    doc = book.doc
    ws.title = book.w("sheet_lines")
    _head(ws, 1, [*line_headers(doc), "εN", "ε_ref", book.w("col_group_code")])
    by_group: dict[str, list[Formula]] = {}
    for i, line in enumerate(doc.sheet.lines, start=2):
        ws.cell(row=i, column=1, value=line.index + 1)
        ws.cell(row=i, column=2, value=formula_safe(line.name or ""))
        ws.cell(row=i, column=3, value=formula_safe(category_label(line.category, doc)))
        ws.cell(row=i, column=4, value=line.rated_kw)
        ws.cell(row=i, column=5, value=line.quantity)
        ws.cell(row=i, column=6, value=duty_text(line))
        ws.cell(row=i, column=7, value=line.phase or book.w("three_phase"))
        pe = ref(f"E{i}", line.quantity) * ref(f"D{i}", line.rated_kw)
        if line.duty_cycle is not None and line.reference_duty is not None:
            ws.cell(row=i, column=10, value=line.duty_cycle)
            ws.cell(row=i, column=11, value=line.reference_duty)
            pe = pe * sqrt(ref(f"J{i}", line.duty_cycle) / ref(f"K{i}", line.reference_duty))
        by_group.setdefault(line.group, []).append(book.formula(ws, f"H{i}", pe))
        ws.cell(row=i, column=9, value=group_label(line.group, doc))
        ws.cell(row=i, column=12, value=line.group)
        for j in range(1, 13):
            ws.cell(row=i, column=j).border = BOX
        for col, kind in (("D", "kw"), ("E", "count"), ("H", "kw"), ("J", "pct"), ("K", "pct")):
            ws[f"{col}{i}"].number_format = NUMBER_FORMATS[kind]
    for col, width in zip("ABCDEFGHIJKL", (6, 26, 22, 11, 7, 11, 7, 10, 22, 7, 7, 18), strict=True):
        ws.column_dimensions[col].width = width
    ws.column_dimensions["L"].hidden = True  # the group code the SUMIF reads (I has its name)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    return by_group


Put = Callable[..., Formula]


def _transformer_choice(book: _Book, put: Put, s30c: Formula) -> Formula:
    """The transformer capacity as a formula of S30′ (an overload changes the choice).

    The smallest standard capacity at or above the need (the series on sheet 标准容量;
    above it the next multiple of 1,250 kVA), as :func:`features.engineering.supply_plan`
    chooses it: class III one unit for S30′·(1+growth)/β; class I/II two units, each for
    the larger of S30′·(1+growth)/(2β) and the critical part over the contingency rate.
    """
    s = book.doc.sheet
    series = book.wb.create_sheet(book.w("sheet_series"))
    series.cell(row=1, column=1, value=book.w("series_head"))
    for i, kva in enumerate(STANDARD_SERIES_KVA, start=2):
        series.cell(row=i, column=1, value=float(kva))
        series.cell(row=i, column=1).number_format = NUMBER_FORMATS["kva"]
    series.column_dimensions["A"].width = 18
    last = len(STANDARD_SERIES_KVA) + 1
    rng = f"'{series.title}'!$A$2:$A${last}"
    growth = put("x_growth", s.growth_pct, "growth_pct", editable=True)
    beta = put("x_beta", s.max_load_rate, "max_load_rate", editable=True)
    design = s30c * (1 + growth / 100)
    supply = s.supply
    if supply is not None and supply.transformer_count == 2:
        share = supply.critical_kva / supply.design_kva if supply.design_kva > 0 else 1.0
        crit = put("x_critical_share", round(share, 6), "critical_share", editable=True)
        beta_c = put(
            "x_contingency", s.config.contingency_max_load_rate, "contingency_rate", editable=True
        )
        need = put("x_need_unit", max_(design / (2 * beta), crit * design / beta_c), "need_kva")
        count = 2
    else:
        need = put("x_need", design / beta, "need_kva")
        count = 1
    largest = float(max(STANDARD_SERIES_KVA))
    step = MULTI_TRANSFORMER_STEP_KVA
    # COUNTIF(series,"<"&need)+1 is the position of the first standard size ≥ the need.
    unit_value = (
        math.ceil(need.value / step) * step
        if need.value > largest
        else float(min(k for k in STANDARD_SERIES_KVA if k >= need.value))
    )
    unit = put(
        "x_unit",
        Formula(
            f"IF({need.text}>MAX({rng}),CEILING({need.text},{step}),"
            f'INDEX({rng},COUNTIF({rng},"<"&{need.text})+1))',
            float(unit_value),
        ),
        "unit_kva",
    )
    return put("x_total", count * unit, "transformer_kva")


_FORMAT_OF_NAME = {
    "sum_pe": "kw", "sum_p": "kw", "sum_q": "kw", "p30": "kw", "q30": "kw", "s30": "kw",
    "qc": "kw", "s30_comp": "kw", "k_sum_p": "factor", "k_sum_q": "factor",
    "cos1": "factor", "cos2": "factor", "i30": "amp", "i30_comp": "amp",
    "transformer_kva": "kva", "unit_kva": "kva", "need_kva": "kw", "load_rate": "pct",
    "max_load_rate": "pct", "recommended_kva": "kva", "critical_share": "pct",
    "contingency_rate": "pct", "peak_kw": "kw", "p_appropriate": "pct",
    "proposed_kva": "kva", "yearly_difference": "yuan", "u": "plain", "growth_pct": "plain",
}  # fmt: skip


def _signature_block(book: _Book, ws: Worksheet, row: int) -> int:
    """Designer / checker / reviewer with name, signature and date; the unit's stamp."""
    doc = book.doc
    _head(ws, row, signature_headers(doc))
    for k, cells in enumerate(signature_rows(doc), start=1):
        ws.cell(row=row + k, column=1, value=cells[0]).fill = HEAD
        ws.cell(row=row + k, column=2, value=formula_safe(cells[1]))
        for j in range(1, 5):
            ws.cell(row=row + k, column=j).border = BOX
    stamp = row + 4
    ws.cell(row=stamp, column=1, value=book.w("stamp")).fill = HEAD
    ws.merge_cells(start_row=stamp, start_column=2, end_row=stamp + 2, end_column=4)
    for j in range(1, 5):
        ws.cell(row=stamp, column=j).border = BOX
    return stamp + 3


def render_xlsx(doc: SheetDocument) -> bytes:
    """The workbook bytes, each formula with its cached result."""
    book = _build(doc)
    out = io.BytesIO()
    book.wb.save(out)
    return with_cached_values(out.getvalue(), book.cached)


def build_workbook(doc: SheetDocument) -> tuple[Workbook, dict[str, str]]:
    """The workbook and the addresses (on the calculation sheet) of its key results by name."""
    book = _build(doc)
    return book.wb, book.cells


def _build(doc: SheetDocument) -> _Book:
    wb = Workbook()
    book = _Book(doc, wb)
    lines_ws = wb.active
    assert lines_ws is not None
    by_group = _lines_sheet(book, lines_ws) if doc.sheet.lines else {}
    last_line = len(doc.sheet.lines) + 1
    ws = wb.create_sheet(book.w("sheet_calc"), 0)
    s = doc.sheet
    ws["A1"] = formula_safe(doc.title)
    ws["A1"].font = Font(bold=True, size=14)
    r = 2
    for label, value in doc.header:
        # Project name, applicant…: typed by the customer, never a live formula.
        ws.cell(row=r, column=1, value=formula_safe(label)).fill = HEAD
        ws.cell(row=r, column=2, value=formula_safe(value))
        r += 1
    r += 1
    w = book.w
    _head(
        ws,
        r,
        [
            w("col_group"),
            w("col_pe"),
            w("col_kx"),
            w("col_cos"),
            w("col_tan"),
            w("col_pjs"),
            w("col_qjs"),
            w("col_group_code"),
        ],
    )
    first = r + 1
    lines = f"'{lines_ws.title}'"
    pjs: list[float] = []
    qjs: list[float] = []
    pes: list[float] = []
    for row in s.rows:
        r += 1
        ws.cell(row=r, column=1, value=category_label(row.category, doc))
        if row.kind == "group" and s.lines:
            members = by_group.get(row.category, [])
            pe = book.formula(
                ws,
                f"B{r}",
                Formula(
                    f"SUMIF({lines}!$L$2:$L${last_line},H{r},{lines}!$H$2:$H${last_line})",
                    math.fsum(m.value for m in members),
                ),
            )
        else:
            ws.cell(row=r, column=2, value=row.installed_kw)
            pe = ref(f"B{r}", row.installed_kw)
        ws.cell(row=r, column=3, value=row.kx).fill = INPUT
        ws.cell(row=r, column=4, value=row.cos_phi).fill = INPUT
        cos = ref(f"D{r}", row.cos_phi)
        tan = book.formula(ws, f"E{r}", sqrt(1 - cos**2) / cos)
        p = book.formula(ws, f"F{r}", ref(f"C{r}", row.kx) * pe)
        q = book.formula(ws, f"G{r}", p * tan)
        pes.append(pe.value)
        pjs.append(p.value)
        qjs.append(q.value)
        ws.cell(row=r, column=8, value=row.category)
        for j in range(1, 9):
            ws.cell(row=r, column=j).border = BOX
        for col, kind in (
            ("B", "kw"),
            ("C", "factor"),
            ("D", "factor"),
            ("E", "factor"),
            ("F", "kw"),
            ("G", "kw"),
        ):
            ws[f"{col}{r}"].number_format = NUMBER_FORMATS[kind]
    last = r
    r += 1

    def put(
        key: str, value: Formula | float | str, name: str | None = None, editable: bool = False
    ) -> Formula:
        """One labelled row: a formula (cached) or a value; the reference to its cell."""
        nonlocal r
        label = w(key) if key in WORDS[doc.lang] else key  # a symbol ('P30 / kW') as it is
        ws.cell(row=r, column=1, value=label).fill = HEAD
        address = f"B{r}"
        if isinstance(value, Formula):
            out = book.formula(ws, address, value)
        else:
            ws[address] = value
            out = ref(address, value) if isinstance(value, int | float) else ref(address, math.nan)
        if editable:
            ws[address].fill = INPUT
        if name:
            book.cells[name] = address
            kind = _FORMAT_OF_NAME.get(name)
            if kind is not None:
                ws[address].number_format = NUMBER_FORMATS[kind]
        r += 1
        return out

    if s.rows:
        put("ΣPe / kW", total(f"B{first}", f"B{last}", pes), "sum_pe")
        sum_p = put("ΣPjs / kW", total(f"F{first}", f"F{last}", pjs), "sum_p")
        sum_q = put("ΣQjs / kvar", total(f"G{first}", f"G{last}", qjs), "sum_q")
    else:
        sum_p = put("x_area_p", s.sum_p_kw, "sum_p")
        sum_q = put("x_area_q", s.sum_q_kvar, "sum_q")
    ksp = put("K∑p", s.k_sum_p, "k_sum_p", editable=True)
    ksq = put("K∑q", s.k_sum_q, "k_sum_q", editable=True)
    p30 = put("P30 / kW", ksp * sum_p, "p30")
    q30 = put("Q30 / kvar", ksq * sum_q, "q30")
    s30 = put("S30 / kVA", sqrt(p30**2 + q30**2), "s30")
    u = put("U / kV", s.config.voltage_kv, "u")
    put("I30 / A", s30 / (sqrt(lift(3)) * u), "i30")
    put("cos φ1", if_(s30.gt(0), p30 / s30, 0), "cos1")
    cos2 = put("x_cos2", s.target_cos_phi, "cos2", editable=True)
    qc = put("Qc / kvar", max_(q30 - p30 * sqrt(1 - cos2**2) / cos2, 0), "qc")
    s30c = put("S30′ / kVA", sqrt(p30**2 + (q30 - qc) ** 2), "s30_comp")
    put("I30′ / A", s30c / (sqrt(lift(3)) * u), "i30_comp")
    kva = _transformer_choice(book, put, s30c)
    put("x_load_rate", s30c / kva, "load_rate")
    if s.supply is not None:
        put(
            "sup_transformer",
            w(
                "x_transformer_value",
                n=s.supply.transformer_count,
                unit=s.supply.unit_kva,
                c=s.supply.load_class,
            ),
        )
    put("sup_voltage", s.supply_voltage)
    rec = doc.recommendation
    r += 1
    put("x_recommended", rec.recommended_kva, "recommended_kva")
    put("x_peak", round(rec.predicted_peak_kw, 1), "peak_kw")
    put("x_p", round(rec.p_appropriate, 3), "p_appropriate")
    if doc.check is not None:
        c = doc.check
        put("x_proposed", c.proposed_kva, "proposed_kva")
        put("x_verdict", verdict_text(doc.lang, c.verdict, c.yearly_difference_yuan))
        put("x_yearly_diff", round(c.yearly_difference_yuan), "yearly_difference")
    r += 1
    for text in doc.comparison:
        ws.cell(row=r, column=1, value=formula_safe(text))
        r += 1
    r += 1
    ws.cell(row=r, column=1, value=w("h_standards")).font = Font(bold=True)
    for text in standards(doc):
        r += 1
        ws.cell(row=r, column=1, value=text)
    r = _signature_block(book, ws, r + 2)
    # The group codes drive the SUMIF; a reader needs the names beside them, not the codes.
    ws.column_dimensions["H"].hidden = True
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    for col, width in zip("ABCDEFGH", (34, 16, 8, 8, 8, 10, 10, 18), strict=True):
        ws.column_dimensions[col].width = width
    _tiers_sheet(book)
    return book


def _tiers_sheet(book: _Book) -> None:
    doc = book.doc
    tiers = book.wb.create_sheet(book.w("sheet_tiers"))
    _head(
        tiers,
        1,
        [
            book.w("tier_capacity"),
            book.w("tier_p"),
            book.w("x_tier_rec"),
            book.w("x_tier_prop"),
            book.w("tier_yearly"),
        ],
    )
    for i, t in enumerate(doc.tiers, start=2):
        tiers.cell(row=i, column=1, value=t.capacity_kva).number_format = NUMBER_FORMATS["kva"]
        tiers.cell(row=i, column=2, value=round(t.p_appropriate, 3)).number_format = NUMBER_FORMATS[
            "pct"
        ]
        tiers.cell(row=i, column=3, value="✓" if t.recommended else "")
        tiers.cell(row=i, column=4, value="✓" if t.proposed else "")
        tiers.cell(
            row=i, column=5, value=round(t.yearly_charge_yuan)
        ).number_format = NUMBER_FORMATS["yuan"]
    for col, width in zip("ABCDE", (12, 16, 14, 12, 26), strict=True):
        tiers.column_dimensions[col].width = width
    tiers.page_setup.paperSize = tiers.PAPERSIZE_A4
