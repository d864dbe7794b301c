"""The document model of the exported calculation sheet, shared by every renderer.

Labels are in the document's language (``lang``: Chinese by default, as a 供电方案 is
filed; English when exported from the English page), from :mod:`serving.sheet.words`;
every figure comes from the served answer
(:class:`serving.schemas.Recommendation` with its
:class:`features.engineering.CalculationSheet`, and the planner check when a proposed
capacity is given), never recomputed here.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from features.catalog import load_catalog
from features.engineering import CalculationSheet, SheetLine
from features.schemas import Application, Text
from serving.schemas import CheckResult, Recommendation
from serving.sheet.words import DocLang, standard, word

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
"""Header fields in print order: (field, Chinese label; also accepted as the JSON key).

The printed labels come from the document's words (``hdr_<field>``) in its language.
"""

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
    lang: DocLang = Field(
        "zh",
        description="The document's language: 'zh' (default) or 'en' (the page's language)",
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

    lang: DocLang = "zh"
    title: str
    header: list[tuple[str, str]]
    fields: dict[str, str] = Field(
        default_factory=dict, description="The title block by field (project_name, designer…)"
    )
    sheet: CalculationSheet
    category_names: dict[str, str]
    recommendation: Recommendation
    check: CheckResult | None
    tiers: list[TierBar]
    comparison: list[str] = Field(..., description="The model beside the sheet, explained")
    generated: str


def category_label(code: str, doc: SheetDocument) -> str:
    """A category's name in the document's language (or the equivalent single-phase load)."""
    if code == "single_phase":
        return word(doc.lang, "single_phase_group")
    return f"{doc.category_names.get(code, code)}"


def _comparison(rec: Recommendation, sheet: CalculationSheet, lang: DocLang) -> list[str]:
    """Why the model's answer differs from the sheet's transformer, in plain words."""
    eng = sheet.transformer_kva
    model = rec.recommended_kva
    lines = [
        word(
            lang,
            "cmp_demand",
            p30=sheet.p30_kw,
            s30c=sheet.s30_comp_kva,
            kva=eng,
            rate=sheet.load_rate,
        ),
        word(
            lang,
            "cmp_model",
            kva=model,
            peak=rec.predicted_peak_kw,
            lo=rec.peak_low80_kw,
            hi=rec.peak_high80_kw,
            p=rec.p_appropriate,
            rate=rec.expected_load_rate,
        ),
    ]
    diff = model - eng
    if abs(diff) < 1e-9:
        lines.append(word(lang, "cmp_same"))
    else:
        lines.append(
            word(lang, "cmp_smaller" if diff < 0 else "cmp_larger", diff=abs(diff))
            + (" " if lang == "en" else "")
            + word(lang, "cmp_why")
        )
        movers = sorted(rec.drivers, key=lambda d: abs(d.correction_kw), reverse=True)[:3]
        for d in movers:
            label = d.label_zh if lang == "zh" else d.label_en
            lines.append(word(lang, "cmp_driver", label=label, kw=d.kw, corr=d.correction_kw))
    rule = rec.bounds.clamp_rule_zh if lang == "zh" else rec.bounds.clamp_rule
    if rec.bounds.clamped and rule:
        lines.append(word(lang, "cmp_clamp", rule=rule))
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
    lang = request.lang
    names = {
        code: c.name_zh if lang == "zh" else c.name_en for code, c in catalog.categories.items()
    }
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
    fields = {field: str(values.get(field) or "") for field, _ in HEADER_LABELS}
    return SheetDocument(
        lang=lang,
        title=word(lang, "title_demand" if sheet.method == "demand_coefficient" else "title_area"),
        header=[(word(lang, f"hdr_{field}"), fields[field]) for field, _ in HEADER_LABELS],
        fields=fields,
        sheet=sheet,
        category_names=names,
        recommendation=recommendation,
        check=check,
        tiers=tiers,
        comparison=_comparison(recommendation, sheet, lang),
        generated=f"{recommendation.model_version}",
    )


def sheet_notes(doc: SheetDocument) -> list[str]:
    """The sheet's notes in the document's language, from its structured fields.

    The English ``notes`` of the served sheet are for the API; every other note is
    already a row of the document's tables.
    """
    s = doc.sheet
    lang = doc.lang
    notes: list[str] = []
    if s.method == "demand_coefficient" and len(s.rows) == 1:
        notes.append(word(lang, "note_single_group"))
    if any(line.duty_cycle is not None for line in s.lines):
        notes.append(word(lang, "note_duty"))
    if s.single_phase is not None:
        notes.append(word(lang, "note_single_phase"))
    if s.density_outside_range and s.installed_w_m2 is not None and s.installed_w_m2_range:
        lo, hi = s.installed_w_m2_range
        notes.append(word(lang, "note_density", w=s.installed_w_m2, lo=lo, hi=hi))
    if s.motor_start is not None and s.motor_start.exceeds:
        notes.append(word(lang, "note_motor"))
    return notes


def verdict_text(lang: str, verdict: str, yearly_difference_yuan: float = 0.0) -> str:
    """The planner verdict; an appropriate proposal that costs more says so, in yuan."""
    text = word(lang, f"verdict_{verdict}")
    if verdict == "appropriate" and yearly_difference_yuan >= 0.5:
        text += word(lang, "verdict_costs_more", yuan=yearly_difference_yuan)
    return text


SIGNATURE_ROLES = ("designer", "checker", "reviewer")
"""The signing roles, in order (their printed names are the header labels)."""


def signature_headers(doc: SheetDocument) -> list[str]:
    """Heads of the signature table: role, name, signature, date."""
    return ["", *(word(doc.lang, k) for k in ("sign_name", "sign_signature", "sign_date"))]


def signature_rows(doc: SheetDocument) -> list[list[str]]:
    """Designer / checker / reviewer with the names of the header, blank signature and date."""
    return [
        [word(doc.lang, f"hdr_{role}"), doc.fields.get(role, ""), "", ""]
        for role in SIGNATURE_ROLES
    ]


def standards(doc: SheetDocument) -> list[str]:
    """The standards the sheet follows (依据), said in the document's language."""
    return [standard(doc.lang, text) for text in doc.sheet.standards]


def group_label(code: str, doc: SheetDocument) -> str:
    """The calculation group of a line: a category, the single-phase load, or not counted."""
    return word(doc.lang, "excluded_group") if code == "excluded" else category_label(code, doc)


def duty_text(line: SheetLine) -> str:
    """εN→ε_ref of an intermittent-duty line ('' when it has none)."""
    if line.duty_cycle is None or line.reference_duty is None:
        return ""
    return f"{line.duty_cycle:.0%}→{line.reference_duty:.0%}"


def line_rows(doc: SheetDocument) -> list[list[str]]:
    """The equipment-line table as text cells (shared by the PDF and the docx)."""
    rows = []
    for line in doc.sheet.lines:
        rows.append(
            [
                str(line.index + 1),
                line.name or "",
                category_label(line.category, doc),
                f"{line.rated_kw:g}",
                str(line.quantity),
                duty_text(line),
                line.phase or word(doc.lang, "three_phase"),
                f"{line.installed_kw:.2f}",
                group_label(line.group, doc),
            ]
        )
    return rows


_LINE_KEYS = (
    "col_no",
    "col_name",
    "col_category",
    "col_rated",
    "col_quantity",
    "col_duty",
    "col_phase",
    "col_pe",
    "col_group",
)
_GROUP_KEYS = ("col_group", "col_pe", "col_kx", "col_cos", "col_tan", "col_pjs", "col_qjs")


def line_headers(doc: SheetDocument) -> list[str]:
    """Heads of the equipment-line table."""
    return [word(doc.lang, k) for k in _LINE_KEYS]


def group_headers(doc: SheetDocument) -> list[str]:
    """Heads of the group table."""
    return [word(doc.lang, k) for k in _GROUP_KEYS]


def group_rows(doc: SheetDocument) -> list[list[str]]:
    """The group table as text cells; overridden coefficients are starred."""
    out = []
    for row in doc.sheet.rows:
        out.append(
            [
                category_label(row.category, doc)
                + (
                    word(doc.lang, "phase_suffix", name=row.name)
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
    lang = doc.lang

    def w(key: str, **params: object) -> str:
        return word(lang, key, **params)

    rows: list[tuple[str, str]] = []
    if s.method == "area_density" and s.design_w_m2 is not None and s.floor_area_m2:
        rows.append(
            (
                w("sum_method"),
                w(
                    "sum_method_area",
                    w=s.design_w_m2,
                    area=s.floor_area_m2,
                    cos=s.config.area_cos_phi,
                ),
            )
        )
    if s.installed_kw is not None:
        rows.append((w("sum_installed"), f"{s.installed_kw:.2f} kW"))
    rows += [
        (w("sum_pq"), f"{s.sum_p_kw:.2f} kW / {s.sum_q_kvar:.2f} kvar"),
        (w("sum_k"), f"{s.k_sum_p:g} / {s.k_sum_q:g}"),
        (w("sum_p30"), f"{s.p30_kw:.2f} kW"),
        (w("sum_q30"), f"{s.q30_kvar:.2f} kvar"),
        (w("sum_s30"), f"{s.s30_kva:.2f} kVA"),
        (w("sum_i30"), w("sum_i30_value", i=s.i30_a, u=s.config.voltage_kv)),
        (
            w("sum_cos1"),
            f"{s.cos_phi_natural:.3f}" if s.cos_phi_natural is not None else "—",
        ),
        (w("sum_cos2"), f"{s.target_cos_phi:g}"),
        (w("sum_qc"), f"{s.qc_kvar:.1f} kvar"),
    ]
    if s.qc_bank_kvar is not None and s.capacitor_step_kvar:
        rows.append(
            (
                w("sum_bank"),
                w(
                    "sum_bank_value",
                    steps=s.qc_bank_kvar / s.capacitor_step_kvar,
                    step=s.capacitor_step_kvar,
                    total=s.qc_bank_kvar,
                ),
            )
        )
    rows += [
        (w("sum_s30c"), f"{s.s30_comp_kva:.2f} kVA / {s.i30_comp_a:.1f} A"),
    ]
    return rows


def supply_rows(doc: SheetDocument) -> list[tuple[str, str]]:
    """Load class, transformers, load rate, voltage, tariff and motor start."""
    s = doc.sheet
    lang = doc.lang

    def w(key: str, **params: object) -> str:
        return word(lang, key, **params)

    rows: list[tuple[str, str]] = []
    plan = s.supply
    if plan is not None:
        rows.append((w("sup_class"), w("sup_class_value", c=plan.load_class)))
        if s.growth_pct:
            rows.append(
                (w("sup_growth"), w("sup_growth_value", g=s.growth_pct, kva=plan.design_kva))
            )
        rows.append(
            (
                w("sup_transformer"),
                f"{plan.transformer_count} × {plan.unit_kva:g} kVA = {plan.total_kva:g} kVA"
                + (w("sup_sources", n=plan.sources) if plan.transformer_count > 1 else ""),
            )
        )
        rows.append(
            (w("sup_rate"), w("sup_rate_value", r=plan.normal_load_rate, limit=s.max_load_rate))
        )
        if plan.contingency_load_rate is not None:
            rows.append(
                (
                    w("sup_one_out"),
                    w(
                        "sup_one_out_value",
                        kva=plan.critical_kva,
                        r=plan.contingency_load_rate,
                    ),
                )
            )
    rows += [
        (w("sup_voltage"), s.supply_voltage),
        (
            w("sup_tariff"),
            w("sup_two_part", y=s.capacity_charge_yuan_month)
            if s.two_part_tariff
            else w("sup_single_part"),
        ),
    ]
    m = s.motor_start
    if m is not None:
        rows.append(
            (
                w("sup_motor"),
                w(
                    "sup_motor_value",
                    cat=category_label(m.category, doc),
                    kw=m.motor_kw,
                    kva=m.starting_kva,
                    v=m.voltage_during_start,
                    dip=m.dip,
                    limit=m.limit,
                )
                + w("sup_motor_exceeds" if m.exceeds else "sup_motor_ok"),
            )
        )
    return rows


def model_rows(doc: SheetDocument) -> list[tuple[str, str]]:
    """The model's capacity beside the sheet's, and the proposed one with its verdict."""
    lang = doc.lang
    rec = doc.recommendation
    rows = [
        (
            word(lang, "mod_recommended"),
            word(lang, "mod_recommended_value", kva=rec.recommended_kva, version=rec.model_version),
        ),
        (word(lang, "mod_engineering"), f"{doc.sheet.transformer_kva:g} kVA"),
    ]
    if doc.check is not None:
        c = doc.check
        rows.append(
            (
                word(lang, "mod_proposed"),
                word(
                    lang,
                    "mod_proposed_value",
                    kva=c.proposed_kva,
                    verdict=verdict_text(lang, c.verdict, c.yearly_difference_yuan),
                    pa=c.p_appropriate,
                    pu=c.p_undersized,
                    po=c.p_oversized,
                    diff=c.yearly_difference_yuan,
                ),
            )
        )
    return rows


def tier_tag(doc: SheetDocument, recommended: bool, proposed: bool) -> str:
    """'推荐', '拟报装', both, or '' for a tier."""
    if recommended and proposed:
        return word(doc.lang, "tier_both")
    if recommended:
        return word(doc.lang, "tier_recommended")
    if proposed:
        return word(doc.lang, "tier_proposed")
    return ""
