"""The exported documents' words, one catalog per language (the page's language decides).

Every heading, label, unit phrase and sentence of the PDF, Word and Excel sheet is a
template here (``str.format`` with named parameters; number formats inside the
template), the same keys in both languages (a test checks it). The answer's message
codes stay in :mod:`serving.messages`; these are the documents' own words.
"""

from __future__ import annotations

from typing import Literal

DocLang = Literal["zh", "en"]

ZH: dict[str, str] = {
    # Title, title block, page furniture
    "title_demand": "用电负荷计算书（需要系数法）",
    "title_area": "用电负荷计算书（单位面积负荷密度法）",
    "running_head": "用电负荷计算书",
    "page_before": "第 ",
    "page_middle": " 页 / 共 ",
    "page_after": " 页",
    "file_stem": "负荷计算书",
    "hdr_project_name": "工程名称",
    "hdr_account_no": "户号",
    "hdr_address": "用电地址",
    "hdr_applicant": "申请单位",
    "hdr_designer": "设计",
    "hdr_checker": "校对",
    "hdr_reviewer": "审核",
    "hdr_date": "日期",
    "item": "项目",
    "entry": "内容",
    "value": "数值",
    # Sections
    "h_lines": "一、设备清单（每台设备及其计算组）",
    "h_single_phase": "单相负荷换算",
    "h_groups": "二、分组计算（{method}）",
    "method_demand": "需要系数法",
    "method_area": "单位面积负荷密度法",
    "h_loads": "三、计算负荷与无功补偿",
    "h_supply": "四、变压器选择与供电方案",
    "h_model": "五、模型推荐与差异说明",
    "h_tiers": "六、容量档对比",
    "h_standards": "七、依据",
    "h_sign": "八、签署",
    # Equipment lines and groups
    "col_no": "序号",
    "col_name": "设备名称",
    "col_category": "类别",
    "col_rated": "单台 PN/kW",
    "col_quantity": "台数",
    "col_duty": "暂载率 ε",
    "col_phase": "相别",
    "col_pe": "Pe/kW",
    "col_group": "计算组",
    "col_group_code": "组代码",
    "col_kx": "Kx",
    "col_cos": "cos φ",
    "col_tan": "tan φ",
    "col_pjs": "Pjs/kW",
    "col_qjs": "Qjs/kvar",
    "col_phase_name": "相",
    "col_p": "P/kW",
    "col_q": "Q/kvar",
    "three_phase": "三相",
    "single_phase_group": "单相负荷（等效三相）",
    "excluded_group": "不计入（备用/消防）",
    "phase_suffix": "（{name} 相）",
    "group_note": "* 设计人员修改的系数。Pjs = Kx·Pe，Qjs = Pjs·tan φ。",
    "single_phase_note": "等效三相负荷 = 3 × 最大相（{phase} 相）：{p:.2f} kW，{q:.2f} kvar",
    # Totals and compensation
    "sum_method": "计算方法",
    "sum_method_area": (
        "单位面积负荷密度法：P30 = {w:g} W/m² × {area:g} m² / 1000，自然功率因数 {cos:g}"
    ),
    "sum_installed": "设备容量 ΣPe",
    "sum_pq": "ΣPjs / ΣQjs",
    "sum_k": "同时系数 K∑p / K∑q",
    "sum_p30": "有功计算负荷 P30",
    "sum_q30": "无功计算负荷 Q30",
    "sum_s30": "视在计算负荷 S30",
    "sum_i30": "计算电流 I30",
    "sum_i30_value": "{i:.1f} A（U = {u:g} kV）",
    "sum_cos1": "自然功率因数 cos φ1",
    "sum_cos2": "补偿目标 cos φ2",
    "sum_qc": "无功补偿 Qc",
    "sum_bank": "电容器组",
    "sum_bank_value": "{steps:.0f} 步 × {step:g} kvar = {total:g} kvar",
    "sum_s30c": "补偿后 S30′ / I30′",
    # Supply plan
    "sup_class": "负荷等级",
    "sup_class_value": "{c} 级",
    "sup_growth": "发展裕量",
    "sup_growth_value": "{g:g} %，按 {kva:.1f} kVA 选择",
    "sup_transformer": "变压器",
    "sup_sources": "（{n} 路电源）",
    "sup_rate": "正常负荷率",
    "sup_rate_value": "{r:.1%}（上限 {limit:.0%}）",
    "sup_one_out": "一台退出时",
    "sup_one_out_value": "另一台带一、二级负荷 {kva:.1f} kVA，负荷率 {r:.1%}",
    "sup_voltage": "供电电压",
    "sup_tariff": "电价",
    "sup_two_part": "两部制，基本电费 {y:,.0f} 元/月",
    "sup_single_part": "单一制",
    "sup_motor": "最大电动机起动",
    "sup_motor_value": (
        "{cat} {kw:g} kW，起动容量 {kva:.0f} kVA，母线电压 {v:.1%}，压降 {dip:.1%}（限值 {limit:.0%}）"
    ),
    "sup_motor_exceeds": "：超限",
    "sup_motor_ok": "：满足",
    # The model beside the sheet
    "mod_recommended": "模型推荐容量",
    "mod_recommended_value": "{kva:g} kVA（{version}）",
    "mod_engineering": "需要系数法容量",
    "mod_proposed": "拟报装容量",
    "mod_proposed_value": (
        "{kva:g} kVA：{verdict}（合适 {pa:.0%}，偏小 {pu:.0%}，偏大 {po:.0%}），"
        "年基本电费差 {diff:+,.0f} 元"
    ),
    "cmp_demand": (
        "需要系数法：P30 = {p30:.1f} kW，补偿后 S30 = {s30c:.1f} kVA，选 {kva:g} kVA"
        "（负荷率 {rate:.0%}）。"
    ),
    "cmp_model": (
        "模型推荐 {kva:g} kVA：预测最大负荷 {peak:.1f} kW（80 % 区间 {lo:.1f}–{hi:.1f} kW），"
        "合适概率 {p:.0%}，预计负荷率 {rate:.0%}。"
    ),
    "cmp_same": "两者一致。",
    "cmp_smaller": "模型比需要系数法小 {diff:g} kVA。",
    "cmp_larger": "模型比需要系数法大 {diff:g} kVA。",
    "cmp_why": (
        "需要系数取设计手册典型值（偏于保守的设计值），模型按同类用户实测最大负荷学习；"
        "差异主要来自："
    ),
    "cmp_driver": "{label}：贡献 {kw:.1f} kW，其中相对需要系数基准的修正 {corr:+.1f} kW",
    "cmp_clamp": "合理性边界：{rule}",
    "verdict_appropriate": "容量合适",
    "verdict_undersized": "容量偏小",
    "verdict_oversized": "容量偏大",
    "verdict_costs_more": "，但每年比建议容量多付基本电费 {yuan:,.0f} 元",
    # Tiers and chart
    "tier_capacity": "容量/kVA",
    "tier_p": "合适概率",
    "tier_yearly": "年基本电费/元",
    "tier_recommended": "推荐",
    "tier_proposed": "拟报装",
    "tier_both": "推荐=拟报装",
    "tier_tag": "（{tag}）",
    "chart_title": "各容量档“容量合适”的概率",
    "chart_axis": "容量 kVA",
    "chart_note_more": "拟报装 {kva:g} kVA：{verdict}，比推荐 {rec:g} kVA 每年基本电费多 {yuan:,.0f} 元",
    "chart_note_less": "拟报装 {kva:g} kVA：{verdict}，比推荐 {rec:g} kVA 每年基本电费少 {yuan:,.0f} 元",
    # Notes
    "notes": "说明：",
    "note_single_group": "仅一个计算组：同时系数 K∑p = K∑q = 1。",
    "note_duty": (
        "断续周期工作设备按暂载率换算：Pe = PN·√(εN/ε)，起重机换算到 ε = 25 %，"
        "电焊机换算到 ε = 100 %。"
    ),
    "note_single_phase": (
        "单相负荷超过三相负荷的 15 %：按最大相负荷的 3 倍换算为等效三相负荷；"
        "线间负荷按相间换算系数分配到相。"
    ),
    "note_density": (
        "设备容量密度 {w:.0f} W/m² 远超出本行业范围 {lo:g}–{hi:g} W/m²："
        "请核对设备清单和建筑面积（人工复核）。"
    ),
    "note_motor": (
        "最大电动机直接起动压降超限：宜采用软起动、星三角或变频起动，或加大变压器容量。"
    ),
    # Signature
    "sign_name": "姓名",
    "sign_signature": "签字",
    "sign_date": "日期",
    "stamp": "编制单位（盖章）",
    # Workbook
    "sheet_calc": "计算书",
    "sheet_lines": "设备清单",
    "sheet_series": "标准容量",
    "sheet_tiers": "容量档",
    "series_head": "标准容量/kVA",
    "x_area_p": "P（面积法）/ kW",
    "x_area_q": "Q（面积法）/ kvar",
    "x_growth": "发展裕量 / %",
    "x_beta": "最高负荷率 β",
    "x_critical_share": "一、二级负荷占比",
    "x_contingency": "单台检修时最高负荷率",
    "x_need_unit": "单台所需 / kVA",
    "x_need": "所需容量 / kVA",
    "x_unit": "单台容量 / kVA（标准系列）",
    "x_total": "变压器总容量 / kVA（选定）",
    "x_load_rate": "负荷率",
    "x_transformer_value": "{n} × {unit:g} kVA（{c} 级负荷）",
    "x_cos2": "cos φ2（目标）",
    "x_recommended": "模型推荐 / kVA",
    "x_peak": "预测最大负荷 / kW",
    "x_p": "合适概率",
    "x_proposed": "拟报装 / kVA",
    "x_verdict": "结论",
    "x_yearly_diff": "年基本电费差 / 元",
    "x_tier_rec": "推荐",
    "x_tier_prop": "拟报装",
    # Standards (依据): by their number; the served sheet names them, these say them
    "std_GB 50052-2009": "GB 50052-2009《供配电系统设计规范》：负荷分级、电源",
    "std_GB 50053-2013": "GB 50053-2013《20kV及以下变电所设计规范》：一台变压器退出时另一台带一、二级负荷",
    "std_GB 51348-2019": "GB 51348-2019《民用建筑电气设计标准》：变压器负荷率约 85 %",
    "std_GB 50055-2011": "GB 50055-2011《通用用电设备配电设计规范》：电动机起动时的母线电压",
    "std_manual": "《工业与民用供配电设计手册》第4版：需要系数 Kx、cos φ、同时系数 K∑、单相负荷换算",
    "std_liu": "刘介才《工厂供电》：暂载率换算、计算示例",
}

EN: dict[str, str] = {
    "title_demand": "Electrical load calculation (demand-coefficient method)",
    "title_area": "Electrical load calculation (area load-density method)",
    "running_head": "Electrical load calculation",
    "page_before": "Page ",
    "page_middle": " of ",
    "page_after": "",
    "file_stem": "load-calculation",
    "hdr_project_name": "Project",
    "hdr_account_no": "Account no.",
    "hdr_address": "Supply address",
    "hdr_applicant": "Applicant",
    "hdr_designer": "Designed by",
    "hdr_checker": "Checked by",
    "hdr_reviewer": "Approved by",
    "hdr_date": "Date",
    "item": "Item",
    "entry": "Entry",
    "value": "Value",
    "h_lines": "1. Equipment list (every unit and its group)",
    "h_single_phase": "Single-phase load conversion",
    "h_groups": "2. Group calculation ({method})",
    "method_demand": "demand-coefficient method",
    "method_area": "area load-density method",
    "h_loads": "3. Calculated load and reactive compensation",
    "h_supply": "4. Transformer choice and supply plan",
    "h_model": "5. The model's recommendation and the difference explained",
    "h_tiers": "6. Capacity tiers compared",
    "h_standards": "7. Standards followed",
    "h_sign": "8. Signatures",
    "col_no": "No.",
    "col_name": "Equipment",
    "col_category": "Category",
    "col_rated": "Unit PN/kW",
    "col_quantity": "Qty",
    "col_duty": "Duty cycle ε",
    "col_phase": "Phase",
    "col_pe": "Pe/kW",
    "col_group": "Group",
    "col_group_code": "group code",
    "col_kx": "Kx",
    "col_cos": "cos φ",
    "col_tan": "tan φ",
    "col_pjs": "Pjs/kW",
    "col_qjs": "Qjs/kvar",
    "col_phase_name": "Phase",
    "col_p": "P/kW",
    "col_q": "Q/kvar",
    "three_phase": "3-phase",
    "single_phase_group": "single-phase load (equivalent 3-phase)",
    "excluded_group": "not counted (standby / fire)",
    "phase_suffix": " (phase {name})",
    "group_note": "* Coefficient changed by the designer. Pjs = Kx·Pe, Qjs = Pjs·tan φ.",
    "single_phase_note": (
        "Equivalent 3-phase load = 3 × the most loaded phase (phase {phase}): "
        "{p:.2f} kW, {q:.2f} kvar"
    ),
    "sum_method": "Method",
    "sum_method_area": (
        "Area load density: P30 = {w:g} W/m² × {area:g} m² / 1000, natural power factor {cos:g}"
    ),
    "sum_installed": "Installed capacity ΣPe",
    "sum_pq": "ΣPjs / ΣQjs",
    "sum_k": "Simultaneity factors K∑p / K∑q",
    "sum_p30": "Active calculated load P30",
    "sum_q30": "Reactive calculated load Q30",
    "sum_s30": "Apparent calculated load S30",
    "sum_i30": "Calculated current I30",
    "sum_i30_value": "{i:.1f} A (U = {u:g} kV)",
    "sum_cos1": "Natural power factor cos φ1",
    "sum_cos2": "Target power factor cos φ2",
    "sum_qc": "Reactive compensation Qc",
    "sum_bank": "Capacitor bank",
    "sum_bank_value": "{steps:.0f} steps × {step:g} kvar = {total:g} kvar",
    "sum_s30c": "After compensation S30′ / I30′",
    "sup_class": "Load class",
    "sup_class_value": "class {c}",
    "sup_growth": "Growth margin",
    "sup_growth_value": "{g:g} %, chosen for {kva:.1f} kVA",
    "sup_transformer": "Transformers",
    "sup_sources": " ({n} sources)",
    "sup_rate": "Normal load rate",
    "sup_rate_value": "{r:.1%} (limit {limit:.0%})",
    "sup_one_out": "With one unit out",
    "sup_one_out_value": "the other carries the class I/II load of {kva:.1f} kVA at {r:.1%}",
    "sup_voltage": "Supply voltage",
    "sup_tariff": "Tariff",
    "sup_two_part": "two-part, capacity charge {y:,.0f} yuan/month",
    "sup_single_part": "single-part",
    "sup_motor": "Largest motor start",
    "sup_motor_value": (
        "{cat} {kw:g} kW, starting {kva:.0f} kVA, bus voltage {v:.1%}, dip {dip:.1%} "
        "(limit {limit:.0%})"
    ),
    "sup_motor_exceeds": ": exceeds the limit",
    "sup_motor_ok": ": within the limit",
    "mod_recommended": "Model's recommended capacity",
    "mod_recommended_value": "{kva:g} kVA ({version})",
    "mod_engineering": "Demand-coefficient capacity",
    "mod_proposed": "Proposed capacity",
    "mod_proposed_value": (
        "{kva:g} kVA: {verdict} (appropriate {pa:.0%}, undersized {pu:.0%}, oversized "
        "{po:.0%}), yearly capacity-charge difference {diff:+,.0f} yuan"
    ),
    "cmp_demand": (
        "Demand-coefficient method: P30 = {p30:.1f} kW, S30 after compensation = {s30c:.1f} "
        "kVA, {kva:g} kVA chosen (load rate {rate:.0%})."
    ),
    "cmp_model": (
        "The model recommends {kva:g} kVA: predicted peak {peak:.1f} kW (80 % interval "
        "{lo:.1f}–{hi:.1f} kW), probability appropriate {p:.0%}, expected load rate {rate:.0%}."
    ),
    "cmp_same": "Both agree.",
    "cmp_smaller": "The model is {diff:g} kVA below the demand-coefficient method.",
    "cmp_larger": "The model is {diff:g} kVA above the demand-coefficient method.",
    "cmp_why": (
        "Demand coefficients are the design manual's typical (conservative) values; the model "
        "learns from the measured peaks of similar customers. The difference comes mainly from:"
    ),
    "cmp_driver": (
        "{label}: {kw:.1f} kW, of which {corr:+.1f} kW corrects the demand-coefficient baseline"
    ),
    "cmp_clamp": "Sanity bounds: {rule}",
    "verdict_appropriate": "appropriate",
    "verdict_undersized": "undersized",
    "verdict_oversized": "oversized",
    "verdict_costs_more": (
        ", but costs {yuan:,.0f} yuan a year more in capacity charges than the recommendation"
    ),
    "tier_capacity": "Capacity/kVA",
    "tier_p": "P(appropriate)",
    "tier_yearly": "Capacity charge/yuan a year",
    "tier_recommended": "recommended",
    "tier_proposed": "proposed",
    "tier_both": "recommended = proposed",
    "tier_tag": " ({tag})",
    "chart_title": "Probability that each capacity is appropriate",
    "chart_axis": "Capacity kVA",
    "chart_note_more": (
        "Proposed {kva:g} kVA: {verdict}; {yuan:,.0f} yuan/year more than the recommended "
        "{rec:g} kVA"
    ),
    "chart_note_less": (
        "Proposed {kva:g} kVA: {verdict}; {yuan:,.0f} yuan/year less than the recommended "
        "{rec:g} kVA"
    ),
    "notes": "Notes: ",
    "note_single_group": "One group only: simultaneity factors K∑p = K∑q = 1. ",
    "note_duty": (
        "Intermittent-duty equipment converted by duty cycle: Pe = PN·√(εN/ε), cranes to "
        "ε = 25 %, welders to ε = 100 %. "
    ),
    "note_single_phase": (
        "Single-phase load above 15 % of the 3-phase load: converted to an equivalent 3-phase "
        "load of 3 × the most loaded phase; line-to-line loads allocated to phases by the "
        "conversion factors. "
    ),
    "note_density": (
        "Installed density {w:.0f} W/m² is far outside this industry's range {lo:g}–{hi:g} "
        "W/m²: check the equipment list and the floor area (manual review). "
    ),
    "note_motor": (
        "The largest motor's direct-on-line start dips the voltage beyond the limit: use a "
        "soft starter, star-delta or a variable-frequency drive, or a larger transformer. "
    ),
    "sign_name": "Name",
    "sign_signature": "Signature",
    "sign_date": "Date",
    "stamp": "Issuing organisation (stamp)",
    "sheet_calc": "Calculation",
    "sheet_lines": "Equipment",
    "sheet_series": "Standard sizes",
    "sheet_tiers": "Tiers",
    "series_head": "Standard size/kVA",
    "x_area_p": "P (area method) / kW",
    "x_area_q": "Q (area method) / kvar",
    "x_growth": "Growth margin / %",
    "x_beta": "Maximum load rate β",
    "x_critical_share": "Class I/II share",
    "x_contingency": "Maximum load rate with one unit out",
    "x_need_unit": "Needed per unit / kVA",
    "x_need": "Needed / kVA",
    "x_unit": "Unit size / kVA (standard series)",
    "x_total": "Transformer capacity / kVA (chosen)",
    "x_load_rate": "Load rate",
    "x_transformer_value": "{n} × {unit:g} kVA (class {c} load)",
    "x_cos2": "cos φ2 (target)",
    "x_recommended": "Model's recommendation / kVA",
    "x_peak": "Predicted peak / kW",
    "x_p": "P(appropriate)",
    "x_proposed": "Proposed / kVA",
    "x_verdict": "Verdict",
    "x_yearly_diff": "Yearly capacity-charge difference / yuan",
    "x_tier_rec": "recommended",
    "x_tier_prop": "proposed",
    "std_GB 50052-2009": (
        "GB 50052-2009 Code for design of electric power supply systems: load classes, sources"
    ),
    "std_GB 50053-2013": (
        "GB 50053-2013 Code for design of 20 kV and below substations: one transformer "
        "carries the class I/II load with the other out"
    ),
    "std_GB 51348-2019": (
        "GB 51348-2019 Standard for electrical design of civil buildings: transformer load "
        "rate about 85 %"
    ),
    "std_GB 50055-2011": (
        "GB 50055-2011 Code for design of electric distribution of general-purpose "
        "utilisation equipment: bus voltage during motor start"
    ),
    "std_manual": (
        "Industrial and Civil Power Supply and Distribution Design Manual, 4th ed.: demand "
        "coefficients Kx, cos φ, K∑, single-phase conversion"
    ),
    "std_liu": "Liu Jiecai, Factory Power Supply: duty-cycle conversion, worked examples",
}

WORDS: dict[str, dict[str, str]] = {"zh": ZH, "en": EN}

_STANDARD_KEYS: tuple[tuple[str, str], ...] = (
    ("GB 50052-2009", "std_GB 50052-2009"),
    ("GB 50053-2013", "std_GB 50053-2013"),
    ("GB 51348-2019", "std_GB 51348-2019"),
    ("GB 50055-2011", "std_GB 50055-2011"),
    ("《工业与民用供配电设计手册》", "std_manual"),
    ("刘介才《工厂供电》", "std_liu"),
)
"""How a served standard (``features.engineering.STANDARDS``) is found: by its start."""


def word(lang: str, key: str, **params: object) -> str:
    """The document text ``key`` in ``lang`` ('zh' or 'en') with its parameters.

    Raises
    ------
    KeyError
        For an unknown language or key (a programming error, never user input).
    """
    return WORDS[lang][key].format(**params)


def standard(lang: str, served: str) -> str:
    """A standard the sheet follows, said in ``lang`` (unknown ones as served)."""
    for start, key in _STANDARD_KEYS:
        if served.startswith(start):
            return WORDS[lang][key]
    return served
