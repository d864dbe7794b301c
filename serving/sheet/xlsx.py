"""The sheet as an Excel workbook with live formulas.

Sheet ``设备清单``: one row per equipment line, ``Pe = 台数 × PN × √(εN/ε_ref)`` as a
formula. Sheet ``计算书``: one row per group; Pe of a category group is
``SUMIF`` over the lines of that group, ``tan φ``, ``Pjs = Kx·Pe``, ``Qjs = Pjs·tan φ``,
the sums, ``P30 = K∑p·ΣPjs``, ``Q30``, ``S30``, ``I30``, the compensation, S30′ and the
load rate are formulas too, so an engineer who changes a Kx, a cos φ or K∑ sees every
figure follow. The transformer and the model's answer are values (chosen, not computed).
The equivalent single-phase row holds the converted values (its phase allocation is not a
spreadsheet formula).
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet

from features.cells import formula_safe
from features.contract import MULTI_TRANSFORMER_STEP_KVA, STANDARD_SERIES_KVA
from serving.sheet.document import LINE_HEADERS, SheetDocument, category_label, verdict_zh

THIN = Side(style="thin", color="555555")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD = PatternFill("solid", fgColor="EEF2F7")
INPUT = PatternFill("solid", fgColor="FFF7D6")
"""Cells an engineer may edit (Kx, cos φ, K∑, cos φ2) are shaded."""


def _head(ws: Worksheet, row: int, headers: list[str]) -> None:
    for j, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=j, value=text)
        cell.font = Font(bold=True)
        cell.fill = HEAD
        cell.border = BOX
        cell.alignment = Alignment(horizontal="center", wrap_text=True)


def _lines_sheet(ws: Worksheet, doc: SheetDocument) -> int:
    ws.title = "设备清单"
    _head(ws, 1, [*LINE_HEADERS, "εN", "ε_ref", "组代码"])
    for i, line in enumerate(doc.sheet.lines, start=2):
        ws.cell(row=i, column=1, value=line.index + 1)
        ws.cell(row=i, column=2, value=formula_safe(line.name or ""))
        ws.cell(
            row=i, column=3, value=formula_safe(category_label(line.category, doc.category_names))
        )
        ws.cell(row=i, column=4, value=line.rated_kw)
        ws.cell(row=i, column=5, value=line.quantity)
        ws.cell(
            row=i,
            column=6,
            value=f"{line.duty_cycle:.0%}→{line.reference_duty:.0%}"
            if line.duty_cycle is not None and line.reference_duty is not None
            else "",
        )
        ws.cell(row=i, column=7, value=line.phase or "三相")
        if line.duty_cycle is not None and line.reference_duty is not None:
            ws.cell(row=i, column=10, value=line.duty_cycle)
            ws.cell(row=i, column=11, value=line.reference_duty)
            ws.cell(row=i, column=8, value=f"=E{i}*D{i}*SQRT(J{i}/K{i})")
        else:
            ws.cell(row=i, column=8, value=f"=E{i}*D{i}")
        group = line.group
        ws.cell(
            row=i,
            column=9,
            value="不计入（备用/消防）"
            if group == "excluded"
            else category_label(group, doc.category_names),
        )
        ws.cell(row=i, column=12, value=group)
        for j in range(1, 13):
            ws.cell(row=i, column=j).border = BOX
    for col, width in zip("ABCDEFGHIJKL", (6, 26, 22, 11, 7, 11, 7, 10, 22, 7, 7, 18), strict=True):
        ws.column_dimensions[col].width = width
    ws.column_dimensions["L"].hidden = True  # the group code the SUMIF reads (I has its name)
    for i in range(2, len(doc.sheet.lines) + 2):
        for col, fmt in (("D", "#,##0.00"), ("H", "#,##0.00"), ("J", "0%"), ("K", "0%")):
            ws[f"{col}{i}"].number_format = fmt
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    return len(doc.sheet.lines) + 1


NUMBER_FORMATS = {
    "kw": "#,##0.00",
    "factor": "0.000",
    "kva": "#,##0",
    "amp": "#,##0.0",
    "pct": "0.0%",
    "yuan": "#,##0",
}
"""Number formats of the sheet's cells (Excel and previewers show 1,234.50, 0.850, 72.0 %)."""

_FORMAT_OF_NAME = {
    "sum_pe": "kw", "sum_p": "kw", "sum_q": "kw", "p30": "kw", "q30": "kw", "s30": "kw",
    "qc": "kw", "s30_comp": "kw", "k_sum_p": "factor", "k_sum_q": "factor",
    "cos1": "factor", "cos2": "factor", "i30": "amp", "i30_comp": "amp",
    "transformer_kva": "kva", "unit_kva": "kva", "need_kva": "kw", "load_rate": "pct",
    "max_load_rate": "pct", "recommended_kva": "kva",
}  # fmt: skip


def _transformer_choice(wb: Workbook, put: Any, s: Any, s30c: str) -> str:
    """The transformer capacity as a formula of S30′ (an overload changes the choice).

    The smallest standard capacity at or above the need (the series on sheet 标准容量;
    above it the next multiple of 1,250 kVA), as :func:`features.engineering.supply_plan`
    chooses it: class III one unit for S30′·(1+growth)/β; class I/II two units, each for
    the larger of S30′·(1+growth)/(2β) and the critical part over the contingency rate.
    """
    series = wb.create_sheet("标准容量")
    series.cell(row=1, column=1, value="标准容量/kVA")
    for i, kva in enumerate(STANDARD_SERIES_KVA, start=2):
        series.cell(row=i, column=1, value=float(kva))
    last = len(STANDARD_SERIES_KVA) + 1
    rng = f"'标准容量'!$A$2:$A${last}"
    growth = put("发展裕量 / %", s.growth_pct, "growth_pct", editable=True)
    beta = put("最高负荷率 β", s.max_load_rate, "max_load_rate", editable=True)
    design = f"{s30c}*(1+{growth}/100)"
    supply = s.supply
    if supply is not None and supply.transformer_count == 2:
        share = supply.critical_kva / supply.design_kva if supply.design_kva > 0 else 1.0
        crit = put("一、二级负荷占比", round(share, 6), "critical_share", editable=True)
        beta_c = put(
            "单台检修时最高负荷率",
            s.config.contingency_max_load_rate,
            "contingency_rate",
            editable=True,
        )
        need = put(
            "单台所需 / kVA", f"=MAX({design}/(2*{beta}),{crit}*{design}/{beta_c})", "need_kva"
        )
        count = 2
    else:
        need = put("所需容量 / kVA", f"={design}/{beta}", "need_kva")
        count = 1
    unit = put(
        "单台容量 / kVA（标准系列）",
        f"=IF({need}>MAX({rng}),CEILING({need},{MULTI_TRANSFORMER_STEP_KVA}),"
        f'INDEX({rng},COUNTIF({rng},"<"&{need})+1))',
        "unit_kva",
    )
    return str(put("变压器总容量 / kVA（选定）", f"={count}*{unit}", "transformer_kva"))


def _number_formats(ws: Worksheet, cells: dict[str, str]) -> None:
    for name, address in cells.items():
        kind = _FORMAT_OF_NAME.get(name)
        if kind is not None:
            ws[address].number_format = NUMBER_FORMATS[kind]


def _signature_block(ws: Worksheet, row: int, doc: SheetDocument) -> int:
    """设计 / 校对 / 审核 with name, signature and date; the unit's stamp beside them."""
    _head(ws, row, ["", "姓名", "签字", "日期"])
    names = dict(doc.header)
    for k, role in enumerate(("设计", "校对", "审核"), start=1):
        ws.cell(row=row + k, column=1, value=role).fill = HEAD
        ws.cell(row=row + k, column=2, value=formula_safe(names.get(role, "")))
        for j in range(1, 5):
            ws.cell(row=row + k, column=j).border = BOX
    stamp = row + 4
    ws.cell(row=stamp, column=1, value="编制单位（盖章）").fill = HEAD
    ws.merge_cells(start_row=stamp, start_column=2, end_row=stamp + 2, end_column=4)
    for j in range(1, 5):
        ws.cell(row=stamp, column=j).border = BOX
    return stamp + 3


def render_xlsx(doc: SheetDocument) -> bytes:
    """The workbook bytes."""
    wb, _ = build_workbook(doc)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def build_workbook(doc: SheetDocument) -> tuple[Workbook, dict[str, str]]:
    """The workbook and the addresses (on ``计算书``) of its key results by name."""
    cells: dict[str, str] = {}
    wb = Workbook()
    lines_ws = wb.active
    assert lines_ws is not None
    last_line = _lines_sheet(lines_ws, doc) if doc.sheet.lines else 1
    ws = wb.create_sheet("计算书", 0)
    s = doc.sheet
    ws["A1"] = formula_safe(doc.title)
    ws["A1"].font = Font(bold=True, size=14)
    r = 2
    for label, value in doc.header:
        # 工程名称, 建设单位…: typed by the customer, never a live formula.
        ws.cell(row=r, column=1, value=formula_safe(label)).fill = HEAD
        ws.cell(row=r, column=2, value=formula_safe(value))
        r += 1
    r += 1
    _head(ws, r, ["计算组", "Pe/kW", "Kx", "cos φ", "tan φ", "Pjs/kW", "Qjs/kvar", "组代码"])
    first = r + 1
    for row in s.rows:
        r += 1
        ws.cell(row=r, column=1, value=category_label(row.category, doc.category_names))
        if row.kind == "group" and s.lines:
            ws.cell(
                row=r,
                column=2,
                value=f"=SUMIF('设备清单'!$L$2:$L${last_line},H{r},'设备清单'!$H$2:$H${last_line})",
            )
        else:
            ws.cell(row=r, column=2, value=row.installed_kw)
        ws.cell(row=r, column=3, value=row.kx).fill = INPUT
        ws.cell(row=r, column=4, value=row.cos_phi).fill = INPUT
        ws.cell(row=r, column=5, value=f"=SQRT(1-D{r}^2)/D{r}")
        ws.cell(row=r, column=6, value=f"=C{r}*B{r}")
        ws.cell(row=r, column=7, value=f"=F{r}*E{r}")
        ws.cell(row=r, column=8, value=row.category)
        for j in range(1, 9):
            ws.cell(row=r, column=j).border = BOX
    last = r
    r += 1

    def put(label: str, value: object, name: str | None = None, editable: bool = False) -> str:
        nonlocal r
        ws.cell(row=r, column=1, value=label).fill = HEAD
        cell = ws.cell(row=r, column=2, value=value)
        if editable:
            cell.fill = INPUT
        address = f"B{r}"
        if name:
            cells[name] = address
        r += 1
        return address

    if s.rows:
        sum_pe = put("ΣPe / kW", f"=SUM(B{first}:B{last})", "sum_pe")
        sum_p = put("ΣPjs / kW", f"=SUM(F{first}:F{last})", "sum_p")
        sum_q = put("ΣQjs / kvar", f"=SUM(G{first}:G{last})", "sum_q")
        del sum_pe
    else:
        sum_p = put("P（面积法）/ kW", s.sum_p_kw, "sum_p")
        sum_q = put("Q（面积法）/ kvar", s.sum_q_kvar, "sum_q")
    ksp = put("K∑p", s.k_sum_p, "k_sum_p", editable=True)
    ksq = put("K∑q", s.k_sum_q, "k_sum_q", editable=True)
    p30 = put("P30 / kW", f"={ksp}*{sum_p}", "p30")
    q30 = put("Q30 / kvar", f"={ksq}*{sum_q}", "q30")
    s30 = put("S30 / kVA", f"=SQRT({p30}^2+{q30}^2)", "s30")
    u = put("U / kV", s.config.voltage_kv, "u")
    put("I30 / A", f"={s30}/(SQRT(3)*{u})", "i30")
    put("cos φ1", f"=IF({s30}>0,{p30}/{s30},0)", "cos1")
    cos2 = put("cos φ2（目标）", s.target_cos_phi, "cos2", editable=True)
    qc = put("Qc / kvar", f"=MAX({q30}-{p30}*SQRT(1-{cos2}^2)/{cos2},0)", "qc")
    s30c = put("S30′ / kVA", f"=SQRT({p30}^2+({q30}-{qc})^2)", "s30_comp")
    put("I30′ / A", f"={s30c}/(SQRT(3)*{u})", "i30_comp")
    kva = _transformer_choice(wb, put, s, s30c)
    put("负荷率", f"={s30c}/{kva}", "load_rate")
    if s.supply is not None:
        put(
            "变压器",
            f"{s.supply.transformer_count} × {s.supply.unit_kva:g} kVA（{s.supply.load_class} 级负荷）",
        )
    put("供电电压", s.supply_voltage)
    rec = doc.recommendation
    r += 1
    put("模型推荐 / kVA", rec.recommended_kva, "recommended_kva")
    put("预测最大负荷 / kW", round(rec.predicted_peak_kw, 1))
    put("合适概率", round(rec.p_appropriate, 3))
    if doc.check is not None:
        c = doc.check
        put("拟报装 / kVA", c.proposed_kva)
        put("结论", verdict_zh(c.verdict, c.yearly_difference_yuan))
        put("年基本电费差 / 元", round(c.yearly_difference_yuan))
    r += 1
    for text in doc.comparison:
        ws.cell(row=r, column=1, value=formula_safe(text))
        r += 1
    r += 1
    ws.cell(row=r, column=1, value="依据").font = Font(bold=True)
    for text in s.standards:
        r += 1
        ws.cell(row=r, column=1, value=text)
    r = _signature_block(ws, r + 2, doc)
    _number_formats(ws, cells)
    for rr in range(first, last + 1):
        for col, kind in (
            ("B", "kw"),
            ("C", "factor"),
            ("D", "factor"),
            ("E", "factor"),
            ("F", "kw"),
            ("G", "kw"),
        ):
            ws[f"{col}{rr}"].number_format = NUMBER_FORMATS[kind]
    # The group codes drive the SUMIF; a reader needs the names beside them, not the codes.
    ws.column_dimensions["H"].hidden = True
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    for col, width in zip("ABCDEFGH", (30, 16, 8, 8, 8, 10, 10, 18), strict=True):
        ws.column_dimensions[col].width = width
    tiers = wb.create_sheet("容量档")
    _head(tiers, 1, ["容量/kVA", "合适概率", "推荐", "拟报装", "年基本电费/元"])
    for i, t in enumerate(doc.tiers, start=2):
        tiers.cell(row=i, column=1, value=t.capacity_kva)
        tiers.cell(row=i, column=2, value=round(t.p_appropriate, 3))
        tiers.cell(row=i, column=3, value="✓" if t.recommended else "")
        tiers.cell(row=i, column=4, value="✓" if t.proposed else "")
        tiers.cell(row=i, column=5, value=round(t.yearly_charge_yuan))
    return wb, cells
