"""The document model of the exported calculation sheet, shared by every renderer.

Labels are Chinese (the document goes into a 供电方案) with the English term beside the
symbol where it helps; every figure comes from the served answer
(:class:`serving.schemas.Recommendation` with its
:class:`features.engineering.CalculationSheet`, and the planner check when a proposed
capacity is given), never recomputed here.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from features.catalog import load_catalog
from features.engineering import CalculationSheet
from features.schemas import Application, Text
from serving.schemas import CheckResult, Recommendation

ExportFormat = Literal["pdf", "xlsx", "docx"]

MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

HEADER_LABELS: tuple[tuple[str, str], ...] = (
    ("project_name", "工程名称"),
    ("account_no", "户号"),
    ("address", "用电地址"),
    ("applicant", "申请单位"),
    ("designer", "设计"),
    ("checker", "校对"),
    ("reviewer", "审核"),
    ("date", "日期"),
)
"""Header fields in print order: (field, Chinese label; also accepted as the JSON key)."""

HeaderText = Text


class SheetHeader(BaseModel):
    """The title block of the sheet; keys in English or as printed (工程名称, 户号, …)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)

    project_name: HeaderText | None = Field(None, alias="工程名称", max_length=200)
    account_no: HeaderText | None = Field(None, alias="户号", max_length=64)
    address: HeaderText | None = Field(None, alias="用电地址", max_length=200)
    applicant: HeaderText | None = Field(None, alias="申请单位", max_length=200)
    designer: HeaderText | None = Field(None, alias="设计", max_length=64)
    checker: HeaderText | None = Field(None, alias="校对", max_length=64)
    reviewer: HeaderText | None = Field(None, alias="审核", max_length=64)
    date: dt.date | None = Field(None, description="ISO date (YYYY-MM-DD); default today")


class ExportRequest(BaseModel):
    """``POST /export/sheet``: the application, the file format and the title block."""

    model_config = ConfigDict(extra="forbid")

    application: Application
    format: ExportFormat = Field(..., description="'pdf', 'xlsx' or 'docx'")
    header: SheetHeader = Field(default_factory=SheetHeader)
    proposed_kva: float | None = Field(
        None,
        ge=1,
        le=200_000,
        allow_inf_nan=False,
        strict=True,
        description="A proposed capacity, kVA: marked on the tier chart with its verdict",
    )


class TierBar(BaseModel):
    """One tier of the chart."""

    capacity_kva: float
    p_appropriate: float
    recommended: bool
    proposed: bool
    yearly_charge_yuan: float


class SheetDocument(BaseModel):
    """Everything a renderer prints, in print order."""

    title: str
    header: list[tuple[str, str]]
    sheet: CalculationSheet
    category_names: dict[str, str]
    recommendation: Recommendation
    check: CheckResult | None
    tiers: list[TierBar]
    comparison: list[str] = Field(..., description="The model beside the sheet, explained")
    generated: str


def category_label(code: str, names: dict[str, str]) -> str:
    """Chinese category name with its code (or the equivalent single-phase load)."""
    if code == "single_phase":
        return "单相负荷（等效三相）"
    return f"{names.get(code, code)}"


def _comparison(rec: Recommendation, sheet: CalculationSheet) -> list[str]:
    """Why the model's answer differs from the sheet's transformer, in plain words."""
    eng = sheet.transformer_kva
    model = rec.recommended_kva
    lines = [
        f"需要系数法：P30 = {sheet.p30_kw:.1f} kW，补偿后 S30 = {sheet.s30_comp_kva:.1f} kVA，"
        f"选 {eng:g} kVA（负荷率 {sheet.load_rate:.0%}）。",
        f"模型推荐 {model:g} kVA：预测最大负荷 {rec.predicted_peak_kw:.1f} kW"
        f"（80 % 区间 {rec.peak_low80_kw:.1f}–{rec.peak_high80_kw:.1f} kW），"
        f"合适概率 {rec.p_appropriate:.0%}，预计负荷率 {rec.expected_load_rate:.0%}。",
    ]
    diff = model - eng
    if abs(diff) < 1e-9:
        lines.append("两者一致。")
    else:
        word = "小" if diff < 0 else "大"
        lines.append(
            f"模型比需要系数法{word} {abs(diff):g} kVA。需要系数取设计手册典型值（偏于保守的设计值），"
            "模型按同类用户实测最大负荷学习；差异主要来自："
        )
        movers = sorted(rec.drivers, key=lambda d: abs(d.correction_kw), reverse=True)[:3]
        for d in movers:
            lines.append(
                f"{d.label_zh}：贡献 {d.kw:.1f} kW，其中相对需要系数基准的修正 {d.correction_kw:+.1f} kW"
            )
    if rec.bounds.clamped and rec.bounds.clamp_rule_zh:
        lines.append(f"合理性边界：{rec.bounds.clamp_rule_zh}")
    return lines


def build_document(
    request: ExportRequest,
    recommendation: Recommendation,
    check: CheckResult | None,
    today: dt.date | None = None,
) -> SheetDocument:
    """The document of one exported sheet.

    Raises
    ------
    ValueError
        If the answer has no calculation sheet (neither equipment nor floor area).
    """
    sheet = recommendation.engineering
    if sheet is None:
        raise ValueError(
            "no calculation sheet for this application: expected an equipment list or a floor "
            "area (the demand-coefficient and area-density methods need one of them)"
        )
    header = request.header
    date = header.date or today or dt.date.today()
    values = {**header.model_dump(), "date": date.isoformat()}
    catalog = load_catalog()
    names = {code: c.name_zh for code, c in catalog.categories.items()}
    proposed = check.proposed_kva if check is not None else None
    tiers = [
        TierBar(
            capacity_kva=t.capacity_kva,
            p_appropriate=t.p_appropriate,
            recommended=t.recommended,
            proposed=proposed is not None and abs(t.capacity_kva - proposed) < 1e-9,
            yearly_charge_yuan=t.monthly_capacity_charge_yuan * 12,
        )
        for t in recommendation.tiers
    ]
    if check is not None and not any(t.proposed for t in tiers):
        tiers.append(
            TierBar(
                capacity_kva=check.proposed_kva,
                p_appropriate=check.p_appropriate,
                recommended=False,
                proposed=True,
                yearly_charge_yuan=check.yearly_capacity_charge_proposed_yuan,
            )
        )
        tiers.sort(key=lambda t: t.capacity_kva)
    return SheetDocument(
        title="用电负荷计算书（"
        + ("需要系数法" if sheet.method == "demand_coefficient" else "单位面积负荷密度法")
        + "）",
        header=[(label, str(values.get(field) or "")) for field, label in HEADER_LABELS],
        sheet=sheet,
        category_names=names,
        recommendation=recommendation,
        check=check,
        tiers=tiers,
        comparison=_comparison(recommendation, sheet),
        generated=f"{recommendation.model_version}",
    )


def sheet_notes_zh(doc: SheetDocument) -> list[str]:
    """The sheet's notes in Chinese, from its structured fields.

    The English ``notes`` are for the API; every other note is already a row of the
    document's tables.
    """
    s = doc.sheet
    notes: list[str] = []
    if s.method == "demand_coefficient" and len(s.rows) == 1:
        notes.append("仅一个计算组：同时系数 K∑p = K∑q = 1。")
    if any(line.duty_cycle is not None for line in s.lines):
        notes.append(
            "断续周期工作设备按暂载率换算：Pe = PN·√(εN/ε)，起重机换算到 ε = 25 %，"
            "电焊机换算到 ε = 100 %。"
        )
    if s.single_phase is not None:
        notes.append(
            "单相负荷超过三相负荷的 15 %：按最大相负荷的 3 倍换算为等效三相负荷；"
            "线间负荷按相间换算系数分配到相。"
        )
    if s.density_outside_range and s.installed_w_m2 is not None and s.installed_w_m2_range:
        lo, hi = s.installed_w_m2_range
        notes.append(
            f"设备容量密度 {s.installed_w_m2:.0f} W/m² 远超出本行业范围 {lo:g}–{hi:g} W/m²："
            "请核对设备清单和建筑面积（人工复核）。"
        )
    if s.motor_start is not None and s.motor_start.exceeds:
        notes.append(
            "最大电动机直接起动压降超限：宜采用软起动、星三角或变频起动，或加大变压器容量。"
        )
    return notes


def verdict_zh(verdict: str, yearly_difference_yuan: float = 0.0) -> str:
    """The planner verdict in Chinese; an appropriate proposal that costs more says so."""
    text = {"appropriate": "容量合适", "undersized": "容量偏小", "oversized": "容量偏大"}[verdict]
    if verdict == "appropriate" and yearly_difference_yuan >= 0.5:
        text += f"，但每年比建议容量多付基本电费 {yearly_difference_yuan:,.0f} 元"
    return text


def signature_rows(doc: SheetDocument) -> list[list[str]]:
    """设计 / 校对 / 审核 with the names of the header, blank signature and date cells."""
    names = dict(doc.header)
    return [[role, names.get(role, ""), "", ""] for role in ("设计", "校对", "审核")]


def line_rows(doc: SheetDocument) -> list[list[str]]:
    """The equipment-line table as text cells (shared by the PDF and the docx)."""
    rows = []
    for line in doc.sheet.lines:
        group = (
            "不计入（备用/消防）"
            if line.group == "excluded"
            else category_label(line.group, doc.category_names)
        )
        rows.append(
            [
                str(line.index + 1),
                line.name or "",
                category_label(line.category, doc.category_names),
                f"{line.rated_kw:g}",
                str(line.quantity),
                f"{line.duty_cycle:.0%}→{line.reference_duty:.0%}"
                if line.duty_cycle is not None and line.reference_duty is not None
                else "",
                line.phase or "三相",
                f"{line.installed_kw:.2f}",
                group,
            ]
        )
    return rows


LINE_HEADERS = [
    "序号",
    "设备名称",
    "类别",
    "单台 PN/kW",
    "台数",
    "暂载率 ε",
    "相别",
    "Pe/kW",
    "计算组",
]
GROUP_HEADERS = ["计算组", "Pe/kW", "Kx", "cos φ", "tan φ", "Pjs/kW", "Qjs/kvar"]


def group_rows(doc: SheetDocument) -> list[list[str]]:
    """The group table as text cells; overridden coefficients are starred."""
    out = []
    for row in doc.sheet.rows:
        out.append(
            [
                category_label(row.category, doc.category_names)
                + (
                    f"（{row.name} 相）"
                    if row.kind == "single_phase_equivalent" and row.name
                    else ""
                ),
                f"{row.installed_kw:.2f}",
                f"{row.kx:.3g}" + ("*" if row.kx_overridden else ""),
                f"{row.cos_phi:.3g}" + ("*" if row.cos_phi_overridden else ""),
                f"{row.tan_phi:.3f}",
                f"{row.p_kw:.2f}",
                f"{row.q_kvar:.2f}",
            ]
        )
    return out


def summary_rows(doc: SheetDocument) -> list[tuple[str, str]]:
    """Totals, compensation and transformer as (label, value) pairs."""
    s = doc.sheet
    rows: list[tuple[str, str]] = []
    if s.method == "area_density" and s.design_w_m2 is not None and s.floor_area_m2:
        rows.append(
            (
                "计算方法",
                f"单位面积负荷密度法：P30 = {s.design_w_m2:g} W/m² × {s.floor_area_m2:g} m² / 1000"
                f"，自然功率因数 {s.config.area_cos_phi:g}",
            )
        )
    if s.installed_kw is not None:
        rows.append(("设备容量 ΣPe", f"{s.installed_kw:.2f} kW"))
    rows += [
        ("ΣPjs / ΣQjs", f"{s.sum_p_kw:.2f} kW / {s.sum_q_kvar:.2f} kvar"),
        ("同时系数 K∑p / K∑q", f"{s.k_sum_p:g} / {s.k_sum_q:g}"),
        ("有功计算负荷 P30", f"{s.p30_kw:.2f} kW"),
        ("无功计算负荷 Q30", f"{s.q30_kvar:.2f} kvar"),
        ("视在计算负荷 S30", f"{s.s30_kva:.2f} kVA"),
        ("计算电流 I30", f"{s.i30_a:.1f} A（U = {s.config.voltage_kv:g} kV）"),
        (
            "自然功率因数 cos φ1",
            f"{s.cos_phi_natural:.3f}" if s.cos_phi_natural is not None else "—",
        ),
        ("补偿目标 cos φ2", f"{s.target_cos_phi:g}"),
        ("无功补偿 Qc", f"{s.qc_kvar:.1f} kvar"),
    ]
    if s.qc_bank_kvar is not None and s.capacitor_step_kvar:
        rows.append(
            (
                "电容器组",
                f"{s.qc_bank_kvar / s.capacitor_step_kvar:.0f} 步 × {s.capacitor_step_kvar:g} kvar "
                f"= {s.qc_bank_kvar:g} kvar",
            )
        )
    rows += [
        ("补偿后 S30′ / I30′", f"{s.s30_comp_kva:.2f} kVA / {s.i30_comp_a:.1f} A"),
    ]
    return rows


def supply_rows(doc: SheetDocument) -> list[tuple[str, str]]:
    """Load class, transformers, load rate, voltage, tariff and motor start."""
    s = doc.sheet
    rows: list[tuple[str, str]] = []
    plan = s.supply
    if plan is not None:
        rows.append(("负荷等级", f"{plan.load_class} 级"))
        if s.growth_pct:
            rows.append(("发展裕量", f"{s.growth_pct:g} %，按 {plan.design_kva:.1f} kVA 选择"))
        rows.append(
            (
                "变压器",
                f"{plan.transformer_count} × {plan.unit_kva:g} kVA = {plan.total_kva:g} kVA"
                + (f"（{plan.sources} 路电源）" if plan.transformer_count > 1 else ""),
            )
        )
        rows.append(("正常负荷率", f"{plan.normal_load_rate:.1%}（上限 {s.max_load_rate:.0%}）"))
        if plan.contingency_load_rate is not None:
            rows.append(
                (
                    "一台退出时",
                    f"另一台带一、二级负荷 {plan.critical_kva:.1f} kVA，负荷率 "
                    f"{plan.contingency_load_rate:.1%}",
                )
            )
    rows += [
        ("供电电压", s.supply_voltage),
        (
            "电价",
            f"两部制，基本电费 {s.capacity_charge_yuan_month:,.0f} 元/月"
            if s.two_part_tariff
            else "单一制",
        ),
    ]
    m = s.motor_start
    if m is not None:
        rows.append(
            (
                "最大电动机起动",
                f"{category_label(m.category, doc.category_names)} {m.motor_kw:g} kW，起动容量 "
                f"{m.starting_kva:.0f} kVA，母线电压 {m.voltage_during_start:.1%}，压降 {m.dip:.1%}"
                f"（限值 {m.limit:.0%}）" + ("：超限" if m.exceeds else "：满足"),
            )
        )
    return rows
