"""Message catalogs: answers carry codes with parameters; each language renders them here.

One catalog per language (:data:`EN`, :data:`ZH`), the same codes in both; a test checks
that every code renders in every language with the parameters its producer sends. The web
page renders the same codes from its own catalog (``serving/web/static/i18n.js``, keys
``warn_<code>`` and the bound-rule codes); a browser test checks it has every code here.
"""

from __future__ import annotations

from typing import Any

from features.catalog import load_catalog

LANGUAGES = ("en", "zh")


def _industry(code: str, lang: str) -> str:
    ind = load_catalog().industries.get(code)
    if ind is None:
        return code
    return ind.name_zh if lang == "zh" else ind.name_en.lower()


def _scope(p: dict[str, Any], lang: str) -> str:
    """'3,412 machinery customers (shrunk towards all 20,000)' or 'all 20,000 customers'."""
    if not p.get("industry"):
        return (
            f"全部 {p['n_pooled']:,} 户客户" if lang == "zh" else f"all {p['n_pooled']:,} customers"
        )
    name = _industry(str(p["industry"]), lang)
    if lang == "zh":
        return f"{p['n']:,} 户{name}客户（向全部 {p['n_pooled']:,} 户收缩）"
    return f"{p['n']:,} {name} customers (shrunk towards all {p['n_pooled']:,})"


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _one_in(p: float, lang: str) -> str:
    """P(undersized) as a frequency: 'about 1 in 12' / '约每 12 户中有 1 户'."""
    if p < 0.005:
        return "fewer than 1 in 200" if lang == "en" else "不到 1/200"
    n = max(round(1.0 / p), 1)
    return f"about 1 in {n:,}" if lang == "en" else f"约每 {n:,} 户中有 1 户"


def _risk_en(p: dict[str, Any]) -> str:
    return (
        f"Of customers like this one, {_one_in(p['p'], 'en')} would peak above what "
        f"{p['final_kva']:g} kVA carries (P(undersized) {_pct(p['p'])})."
    )


def _risk_zh(p: dict[str, Any]) -> str:
    return (
        f"与本户类似的客户中，{_one_in(p['p'], 'zh')}的最大负荷会超过 {p['final_kva']:g} kVA "
        f"可承载的负荷（容量偏小概率 {_pct(p['p'])}）。"
    )


EN: dict[str, Any] = {
    "undersized_risk": _risk_en,
    "undersized_risk_within_cap": lambda p: (
        f"{_risk_en(p)} That is within the cap of {_pct(p['cap'])} asked for."
    ),
    "undersized_risk_capped": lambda p: (
        f"{_risk_en(p)} Raised from {p['uncapped_kva']:g} kVA to keep the risk of undersizing "
        f"within the cap of {_pct(p['cap'])} asked for; the larger capacity is oversized more "
        f"often (P(oversized) {_pct(p['p_oversized'])})."
    ),
    "undersized_risk_cap_missed": lambda p: (
        f"{_risk_en(p)} That is above the cap of {_pct(p['cap'])} asked for: the sanity "
        "bounds kept the capacity lower; review manually."
    ),
    "few_customers": lambda p: (
        f"Only {p['n']:,} {_industry(str(p['industry']), 'en')} customer(s) in the history's "
        f"calibration (an industry's own calibration needs {p['min']:,}): this answer's "
        f"figures are shrunk towards all industries' ({_pct(p['weight'])} its own); "
        "review manually."
    ),
    "equipment_list_gain": lambda p: (
        "An equipment list would make this answer sharper: on "
        f"{p['n']:,.0f} customers of the history that gave both, the answer from the list was "
        f"appropriately sized {_pct(p['accuracy_with_list'])} of the time, from the floor area "
        f"alone {_pct(p['accuracy_area_only'])} (90 % interval {p['ratio_with_list']:.1f}× "
        f"vs {p['ratio_area_only']:.1f}× wide)."
    ),
    "equipment_list_gain_unmeasured": lambda p: (
        "An equipment list would make this answer sharper (the history has too few customers "
        "with both a list and a floor area to measure by how much)."
    ),
    "bound_unit": lambda p: (
        f"the largest running unit ({p['largest_kw']:g} kW) plus base load "
        f"({p['base_kw']:.1f} kW) must not overload the capacity"
    ),
    "bound_s30_high": lambda p: (
        f"in the history {_pct(p['share'])} of {_scope(p, 'en')} peaked at ≤ "
        f"{p['ratio']:.2f} × their demand-coefficient S30 (here {p['s30_kva']:.0f} kVA)"
    ),
    "bound_s30_low": lambda p: (
        f"in the history {_pct(p['share'])} of {_scope(p, 'en')} peaked at ≥ "
        f"{p['ratio']:.2f} × their demand-coefficient S30 (here {p['s30_kva']:.0f} kVA)"
    ),
    "bound_installed_high": lambda p: (
        f"in the history {_pct(p['share'])} of {_scope(p, 'en')} peaked at ≤ "
        f"{p['ratio']:.2f} × their non-standby installed kW (here {p['installed_kw']:g} kW)"
    ),
    "bound_installed_low": lambda p: (
        f"in the history {_pct(p['share'])} of {_scope(p, 'en')} peaked at ≥ "
        f"{p['ratio']:.2f} × their non-standby installed kW (here {p['installed_kw']:g} kW)"
    ),
    "clamped": lambda p: (
        f"The model's {p['policy_kva']:g} kVA fell outside the sanity bounds and was adjusted "
        f"to {p['final_kva']:g} kVA: {p['rule']}."
    ),
}

ZH: dict[str, Any] = {
    "undersized_risk": _risk_zh,
    "undersized_risk_within_cap": lambda p: (
        f"{_risk_zh(p)}在所要求的偏小风险上限 {_pct(p['cap'])} 以内。"
    ),
    "undersized_risk_capped": lambda p: (
        f"{_risk_zh(p)}为使偏小风险不超过所要求的上限 {_pct(p['cap'])}，已由 "
        f"{p['uncapped_kva']:g} kVA 调高；容量加大后偏大的概率增加（偏大概率 "
        f"{_pct(p['p_oversized'])}）。"
    ),
    "undersized_risk_cap_missed": lambda p: (
        f"{_risk_zh(p)}超过所要求的偏小风险上限 {_pct(p['cap'])}：合理范围规则限制了容量，"
        "请人工复核。"
    ),
    "few_customers": lambda p: (
        f"历史校准数据中仅有 {p['n']:,} 户{_industry(str(p['industry']), 'zh')}客户（行业单独校准需 "
        f"{p['min']:,} 户）：本结果的数据向全部行业收缩（自身权重 {_pct(p['weight'])}），请人工复核。"
    ),
    "equipment_list_gain": lambda p: (
        f"提供设备清单可使结果更准确：历史数据中同时提供清单和面积的 {p['n']:,.0f} 户客户，"
        f"按清单推荐的容量合适率为 {_pct(p['accuracy_with_list'])}，仅按面积为 "
        f"{_pct(p['accuracy_area_only'])}（90 % 区间宽度 {p['ratio_with_list']:.1f} 倍对 "
        f"{p['ratio_area_only']:.1f} 倍）。"
    ),
    "equipment_list_gain_unmeasured": lambda p: (
        "提供设备清单可使结果更准确（历史数据中同时提供清单和面积的客户太少，无法量化提升幅度）。"
    ),
    "bound_unit": lambda p: (
        f"最大单台运行设备（{p['largest_kw']:g} kW）加基础负荷（{p['base_kw']:.1f} kW）不得使容量过载"
    ),
    "bound_s30_high": lambda p: (
        f"历史数据中 {_scope(p, 'zh')} 有 {_pct(p['share'])} 的最大负荷不超过其需要系数法 S30 的 "
        f"{p['ratio']:.2f} 倍（本申请 S30 为 {p['s30_kva']:.0f} kVA）"
    ),
    "bound_s30_low": lambda p: (
        f"历史数据中 {_scope(p, 'zh')} 有 {_pct(p['share'])} 的最大负荷不低于其需要系数法 S30 的 "
        f"{p['ratio']:.2f} 倍（本申请 S30 为 {p['s30_kva']:.0f} kVA）"
    ),
    "bound_installed_high": lambda p: (
        f"历史数据中 {_scope(p, 'zh')} 有 {_pct(p['share'])} 的最大负荷不超过其非备用装机容量的 "
        f"{p['ratio']:.2f} 倍（本申请装机 {p['installed_kw']:g} kW）"
    ),
    "bound_installed_low": lambda p: (
        f"历史数据中 {_scope(p, 'zh')} 有 {_pct(p['share'])} 的最大负荷不低于其非备用装机容量的 "
        f"{p['ratio']:.2f} 倍（本申请装机 {p['installed_kw']:g} kW）"
    ),
    "clamped": lambda p: (
        f"模型建议 {p['policy_kva']:g} kVA 超出合理范围，已按规则调整为 {p['final_kva']:g} kVA："
        f"{p['rule']}。"
    ),
}


def _names(p: dict[str, Any]) -> str:
    return "、".join(str(n) for n in p.get("names", []))


def _names_en(p: dict[str, Any]) -> str:
    return ", ".join(str(n) for n in p.get("names", []))


_ASSUMED = {
    "other_motor": ("其他电动机负荷", "other motor load"),
    "other_heating": ("其他电热负荷", "other heating load"),
}

# Warnings of an answer (codes of serving.schemas.Warning_).
EN.update(
    {
        "area_only": lambda p: (
            "No (recognisable) equipment list: estimated from industry and floor area only, "
            "with wider uncertainty."
        ),
        "industry_only": lambda p: (
            "Neither an equipment list nor a floor area: estimated from the industry's typical "
            "customer only; add data and review manually."
        ),
        "unknown_industry": lambda p: (
            "The training history has no customer of this industry: the answer relies on "
            "general patterns; review manually."
        ),
        "industry_not_listed": lambda p: (
            "The industry is not in the list: the answer uses all industries' figures and "
            "needs a planner's review (the utility will contact you)."
        ),
        "unmatched_assumed": lambda p: (
            f"{p['n']} equipment name(s) could not be recognised and were counted as "
            f"{_ASSUMED[p['as']][1]}: {_names_en(p)}. Choose a category for a closer answer."
        ),
        "few_peers": lambda p: (
            f"Few historical customers of the same industry and scale ({p['n']}); the "
            "comparison is indicative only."
        ),
        "outside_peers": lambda p: (
            "The predicted peak is outside the range of most same-industry, same-scale "
            "customers; review manually."
        ),
        "implausible_density": lambda p: (
            "Installed kW per m² is far outside this industry's usual range: check the "
            "equipment list and floor area; manual review needed."
        ),
        "missing_load": lambda p: (
            f"{_pct(p['share'])} of similar {_industry(str(p['industry']), 'en')} customers list "
            f"{p['category_en']}, this list has none; such customers typically add about "
            f"{p['typical_kw']:,.0f} kW. The recommendation does not include it."
        ),
    }
)
ZH.update(
    {
        "area_only": lambda p: "未提供（可识别的）设备清单：按行业和建筑面积估算，不确定性较大。",
        "industry_only": lambda p: (
            "既无设备清单也无建筑面积：仅按行业典型值估算，请补充资料并人工复核。"
        ),
        "unknown_industry": lambda p: "历史数据中没有该行业的客户：结果依赖通用规律，请人工复核。",
        "industry_not_listed": lambda p: (
            "行业不在列表中：按全部行业的规律估算，需供电公司人工复核（将与您联系）。"
        ),
        "unmatched_assumed": lambda p: (
            f"{p['n']} 项设备名称无法识别，已按“{_ASSUMED[p['as']][0]}”计入：{_names(p)}。"
            "选择设备类别可使结果更准确。"
        ),
        "few_peers": lambda p: f"同行业同规模的历史客户较少（{p['n']} 户），对比仅供参考。",
        "outside_peers": lambda p: "预测负荷超出大多数同行业同规模客户的范围，请人工复核。",
        "implausible_density": lambda p: (
            "单位面积设备容量远超出该行业的常见范围，请核对设备清单和面积，需人工复核。"
        ),
        "missing_load": lambda p: (
            f"{_pct(p['share'])} 的同类{_industry(str(p['industry']), 'zh')}客户列有"
            f"“{p['category_zh']}”，本清单没有；这类客户通常另有约 {p['typical_kw']:,.0f} kW。"
            "本推荐未包含这部分负荷。"
        ),
    }
)


def _existing_en(p: dict[str, Any]) -> str:
    # A demand meter records the peak; energy alone gives the busiest month's average,
    # which is lower than the peak (said so, not called a peak).
    what = (
        f"a maximum demand of {p['measured_kw']:,.0f} kW"
        if p.get("demand_metered")
        else f"the busiest month averaging {p['measured_kw']:,.0f} kW (the peak is higher)"
    )
    head = (
        f"Your meter shows {what} over {p['months']} months: "
        f"{_pct(p['measured_rate'])} of today's {p['existing_kva']:,.0f} kVA. "
    )
    diff = float(p["yearly_difference_yuan"])
    if p["recommended_kva"] < p["existing_kva"]:
        return head + (
            f"{p['recommended_kva']:,.0f} kVA would carry the load after the change: about "
            f"{-diff:,.0f} yuan a year less in capacity charges (基本电费), with a "
            f"{_pct(p['p_undersized'])} risk that the peak of the next 12 months exceeds it "
            f"(today's capacity: {_pct(p['p_undersized_today'])})."
        )
    if p["recommended_kva"] > p["existing_kva"]:
        return head + (
            f"After the change the peak is expected to need {p['recommended_kva']:,.0f} kVA: "
            f"keeping {p['existing_kva']:,.0f} kVA has a {_pct(p['p_undersized_today'])} risk "
            f"of overload; the increase costs about {diff:,.0f} yuan a year in capacity charges."
        )
    return head + (
        f"Today's {p['existing_kva']:,.0f} kVA remains the right size after the change "
        f"({_pct(p['p_undersized'])} risk of overload)."
    )


def _existing_zh(p: dict[str, Any]) -> str:
    what = (
        f"最大需量约 {p['measured_kw']:,.0f} kW"
        if p.get("demand_metered")
        else f"用电最多的月份平均负荷约 {p['measured_kw']:,.0f} kW（最大负荷会更高）"
    )
    head = (
        f"电表显示：近 {p['months']} 个月{what}，"
        f"为现有 {p['existing_kva']:,.0f} kVA 的 {_pct(p['measured_rate'])}。"
    )
    diff = float(p["yearly_difference_yuan"])
    if p["recommended_kva"] < p["existing_kva"]:
        return head + (
            f"变更后 {p['recommended_kva']:,.0f} kVA 即可满足负荷：每年约少交基本电费 "
            f"{-diff:,.0f} 元；未来 12 个月负荷超过该容量的风险约 {_pct(p['p_undersized'])}"
            f"（保持现有容量：{_pct(p['p_undersized_today'])}）。"
        )
    if p["recommended_kva"] > p["existing_kva"]:
        return head + (
            f"变更后预计需要 {p['recommended_kva']:,.0f} kVA：保持 {p['existing_kva']:,.0f} kVA "
            f"有 {_pct(p['p_undersized_today'])} 的过载风险；增容每年约多交基本电费 {diff:,.0f} 元。"
        )
    return head + (
        f"变更后现有 {p['existing_kva']:,.0f} kVA 仍然合适（过载风险约 {_pct(p['p_undersized'])}）。"
    )


EN["existing_customer"] = _existing_en
ZH["existing_customer"] = _existing_zh

CATALOGS: dict[str, dict[str, Any]] = {"en": EN, "zh": ZH}


def render(code: str, params: dict[str, Any], lang: str) -> str:
    """The message ``code`` with ``params`` in language ``lang`` (``en`` or ``zh``).

    Raises
    ------
    KeyError
        For an unknown language or code (a programming error, never user input).
    """
    return str(CATALOGS[lang][code](params))


# --------------------------------------------------------------------------------------
# Rejected rows of an upload (codes of features.validation's reject report)
# --------------------------------------------------------------------------------------

FILE_NAMES: dict[str, tuple[str, str]] = {
    "customers": ("客户表", "customers file"),
    "equipment": ("设备表", "equipment file"),
    "meter_readings": ("电费表", "meter readings file"),
}
"""A contract file in words (zh, en), for row numbers and reasons."""

COLUMN_NAMES: dict[str, tuple[str, str]] = {
    "customer_id": ("客户编号", "customer id"),
    "industry": ("行业", "industry"),
    "climate_zone": ("气候区", "climate zone"),
    "floor_area_m2": ("建筑面积", "floor area"),
    "employees": ("人数", "employees"),
    "shifts": ("班次", "shifts"),
    "applied_capacity_kva": ("申请容量", "applied capacity"),
    "application_type": ("申请类型", "application type"),
    "existing_capacity_kva": ("现有容量", "existing capacity"),
    "peak_demand_kw": ("最大负荷", "peak demand"),
    "category": ("设备类别", "category"),
    "name": ("设备名称", "name"),
    "rated_kw": ("额定功率", "rated kW"),
    "quantity": ("数量", "quantity"),
    "standby": ("备用", "standby"),
    "change": ("变更", "change"),
    "duty_cycle": ("暂载率", "duty cycle"),
    "phase": ("相数", "phase"),
    "period": ("月份", "month"),
    "energy_kwh": ("用电量", "energy"),
    "max_demand_kw": ("最大需量", "maximum demand"),
    "meter_readings": ("电费数据", "meter readings"),
    "installed_kw_total": ("装机合计", "installed total"),
    "installed_kw_per_m2": ("单位面积装机", "installed kW per m²"),
    "removed_kw_total": ("拆除设备合计", "removed total"),
    "equipment": ("设备清单", "equipment list"),
}
"""Contract columns in words (zh, en); a column not listed is shown by its name."""


def _col(p: dict[str, Any], lang: str) -> str:
    column = str(p.get("column", ""))
    names = COLUMN_NAMES.get(column)
    return column if names is None else names[0 if lang == "zh" else 1]


def _n(x: Any) -> str:
    return f"{float(x):,.10g}" if isinstance(x, int | float) else str(x)


def _suggested(p: dict[str, Any], lang: str) -> str:
    """The suggested code in words: an industry's or a category's name, else the code."""
    code = str(p.get("suggestion") or "")
    catalog = load_catalog()
    if p.get("column") == "industry" and code in catalog.industries:
        return _industry(code, lang)
    cat = catalog.categories.get(code) if p.get("column") == "category" else None
    if cat is not None:
        return cat.name_zh if lang == "zh" else cat.name_en
    return code


def _range_en(p: dict[str, Any]) -> str:
    low, high = p.get("min"), p.get("max")
    if low is not None and high is not None:
        return f"between {_n(low)} and {_n(high)}"
    if low is not None:
        return f"{'greater than' if p.get('exclusive') else 'at least'} {_n(low)}"
    return f"at most {_n(high)}"


def _range_zh(p: dict[str, Any]) -> str:
    low, high = p.get("min"), p.get("max")
    if low is not None and high is not None:
        return f"应在 {_n(low)} 到 {_n(high)} 之间"
    if low is not None:
        return f"应{'大于' if p.get('exclusive') else '不小于'} {_n(low)}"
    return f"不能大于 {_n(high)}"


_KINDS_ZH = {"increase": "增容", "reduce": "减容", "suspend": "暂停"}

REJECT_EN: dict[str, Any] = {
    "reject_required": lambda p: f"{_col(p, 'en')} is required but empty",
    "reject_not_a_number": lambda p: (
        f"{_col(p, 'en')} '{p['value']}' is not a number (a plain number such as 7.5, "
        "without units)"
    ),
    "reject_not_finite": lambda p: f"{_col(p, 'en')} '{p['value']}' is not a finite number",
    "reject_not_whole": lambda p: f"{_col(p, 'en')} '{p['value']}' is not a whole number",
    "reject_out_of_range": lambda p: f"{_col(p, 'en')} {p['value']} must be {_range_en(p)}",
    "reject_below_limit": lambda p: (
        f"{_col(p, 'en')} {p['value']} is below the plausible {_n(p['limit'])}"
    ),
    "reject_above_limit": lambda p: (
        f"{_col(p, 'en')} {p['value']} is above the plausible {_n(p['limit'])}"
    ),
    "reject_not_boolean": lambda p: (
        f"{_col(p, 'en')} '{p['value']}' is not yes or no (yes/no, true/false, 1/0, 是/否; "
        "empty = no)"
    ),
    "reject_unknown_code": lambda p: (
        f"{_col(p, 'en')} '{p['value']}' is not in the list"
        + (f"; did you mean '{_suggested(p, 'en')}'?" if p.get("suggestion") else "")
    ),
    "reject_duplicate_customer_id": lambda p: (
        f"customer id {p['value']} appears more than once in the customers file: every row "
        "with it is rejected"
    ),
    "reject_unknown_customer": lambda p: f"customer id {p['value']} is not in the customers file",
    "reject_with_duplicate_customer": lambda p: (
        "rejected with its customer (the customer id appears more than once in the customers file)"
    ),
    "reject_with_invalid_customer": lambda p: (
        "rejected with its customer (see the customer's other reasons)"
    ),
    "reject_with_implausible_customer": lambda p: (
        "rejected with its customer (installed kW beyond a plausibility limit)"
    ),
    "reject_with_incomplete_customer": lambda p: (
        "rejected with its customer (other equipment lines of it were rejected)"
    ),
    "reject_lines_rejected": lambda p: (
        f"{p['n']} of {p['of']} equipment lines rejected: answered on the rest the list "
        "would be incomplete and the capacity too small"
    ),
    "reject_total_kw_over": lambda p: (
        f"installed {p['value']} kW in total, above the limit of {_n(p['limit'])} kW for one "
        "customer"
    ),
    "reject_density_over": lambda p: (
        f"installed {p['value']} kW per m², above the limit of {_n(p['limit'])} kW/m² "
        "(check the floor area and the ratings)"
    ),
    "reject_existing_capacity_required": lambda p: (
        "an existing customer (increase, reduce, suspend) needs its existing capacity (kVA)"
    ),
    "reject_existing_capacity_for_new": lambda p: (
        "an existing capacity is given for a new connection: leave it empty, or give the "
        "application type (increase, reduce, suspend)"
    ),
    "reject_removals_too_large": lambda p: (
        f"the lines to remove install {p['value']} kW, more than a customer of this existing "
        f"capacity could have had (at most {_n(p['ratio'])} kW per kVA)"
    ),
    "reject_remove_on_new": lambda p: (
        "'remove' on a new connection: a new customer has nothing to take out of service"
    ),
    "reject_meter_readings_needed": lambda p: (
        f"an application of type {p['kind']} needs at least {p['min']} months of meter "
        "readings; none were given"
    ),
    "reject_meter_period": lambda p: (
        f"'{p['value']}' is not a billing month: write it like 2026-07"
    ),
    "reject_meter_readings_for_new": lambda p: (
        "meter readings for a new connection: readings belong to an existing customer"
    ),
    "reject_meter_duplicate_period": lambda p: (
        f"the month {p['value']} is read twice for this customer"
    ),
    "reject_meter_energy_absurd": lambda p: (
        f"{p['value']} kWh is more than the existing capacity could deliver running flat "
        "out for the month"
    ),
    "reject_meter_demand_absurd": lambda p: (
        f"maximum demand {p['value']} kW is more than {_n(p['ratio'])} kW per kVA of the "
        "existing capacity"
    ),
    "reject_meter_mean_above_max": lambda p: (
        f"{p['value']} kWh means an average above the month's maximum demand"
    ),
    "reject_meter_readings_invalid": lambda p: (
        f"{p['n']} of its {p['of']} meter readings are invalid: an existing customer is "
        "sized from all its months or not at all"
    ),
    "reject_meter_too_few_months": lambda p: (
        f"an application of type {p['kind']} needs at least {p['min']} months of meter "
        f"readings; {p['n']} were given"
    ),
    "reject_meter_too_many_months": lambda p: (
        f"{p['n']} months of meter readings; expected the {p['max']} months before the application"
    ),
    "reject_answer_over_contract_limit": lambda p: (
        f"the answer would exceed the contract's limits ({_n(p['limit_kva'])} kVA, "
        f"{_n(p['limit_kw'])} kW): check the floor area and the equipment list"
    ),
    "reject_unclosed_quote": lambda p: (
        'the line has a quote (") that is never closed, so it could not be read'
    ),
}

REJECT_ZH: dict[str, Any] = {
    "reject_required": lambda p: f"{_col(p, 'zh')}为必填项，但未填写",
    "reject_not_a_number": lambda p: (
        f"{_col(p, 'zh')}“{p['value']}”不是数字（请只填数字，如 7.5，不带单位）"
    ),
    "reject_not_finite": lambda p: f"{_col(p, 'zh')}“{p['value']}”不是有限的数字",
    "reject_not_whole": lambda p: f"{_col(p, 'zh')}“{p['value']}”应为整数",
    "reject_out_of_range": lambda p: f"{_col(p, 'zh')} {p['value']} {_range_zh(p)}",
    "reject_below_limit": lambda p: f"{_col(p, 'zh')} {p['value']} 低于合理下限 {_n(p['limit'])}",
    "reject_above_limit": lambda p: f"{_col(p, 'zh')} {p['value']} 超过合理上限 {_n(p['limit'])}",
    "reject_not_boolean": lambda p: (
        f"{_col(p, 'zh')}“{p['value']}”应为“是”或“否”（也可写 yes/no、true/false、1/0；空 = 否）"
    ),
    "reject_unknown_code": lambda p: (
        f"{_col(p, 'zh')}“{p['value']}”不在列表中"
        + (f"；是否是“{_suggested(p, 'zh')}”？" if p.get("suggestion") else "")
    ),
    "reject_duplicate_customer_id": lambda p: (
        f"客户编号 {p['value']} 在客户表中出现了不止一次：这些行都被拒绝"
    ),
    "reject_unknown_customer": lambda p: f"客户编号 {p['value']} 不在客户表中",
    "reject_with_duplicate_customer": lambda p: "随所属客户一并拒绝（该客户编号在客户表中重复）",
    "reject_with_invalid_customer": lambda p: "随所属客户一并拒绝（原因见该客户的其他原因）",
    "reject_with_implausible_customer": lambda p: "随所属客户一并拒绝（装机容量超出合理上限）",
    "reject_with_incomplete_customer": lambda p: "随所属客户一并拒绝（该客户的其他设备行被拒绝）",
    "reject_lines_rejected": lambda p: (
        f"{p['of']} 行设备中有 {p['n']} 行被拒绝：只按其余设备计算，清单不完整，容量会偏小"
    ),
    "reject_total_kw_over": lambda p: (
        f"装机合计 {p['value']} kW，超过单个客户的上限 {_n(p['limit'])} kW"
    ),
    "reject_density_over": lambda p: (
        f"单位面积装机 {p['value']} kW/m²，超过上限 {_n(p['limit'])} kW/m²（请核对建筑面积和额定功率）"
    ),
    "reject_existing_capacity_required": lambda p: (
        "已有用户（增容、减容、暂停）请填写现有容量（kVA）"
    ),
    "reject_existing_capacity_for_new": lambda p: (
        "新装用户不需要填写现有容量：请留空，或填写申请类型（增容、减容、暂停）"
    ),
    "reject_removals_too_large": lambda p: (
        f"要拆除的设备共 {p['value']} kW，超过了该现有容量的用户可能装有的设备"
        f"（每 kVA 最多约 {_n(p['ratio'])} kW）"
    ),
    "reject_remove_on_new": lambda p: "新装用户没有可拆除的设备：请把“拆除”改为“新增”",
    "reject_meter_readings_needed": lambda p: (
        f"{_KINDS_ZH.get(str(p['kind']), p['kind'])}申请需要至少 {p['min']} 个月的电费数据，"
        "但没有提供"
    ),
    "reject_meter_period": lambda p: f"“{p['value']}”不是月份，请写成 2026-07 这样的格式",
    "reject_meter_readings_for_new": lambda p: "新装用户的电费数据：电费数据只用于已有用户",
    "reject_meter_duplicate_period": lambda p: f"{p['value']} 这个月填了两次",
    "reject_meter_energy_absurd": lambda p: (
        f"{p['value']} 千瓦时超过了现有容量满负荷运行一整个月的用电量"
    ),
    "reject_meter_demand_absurd": lambda p: (
        f"最大需量 {p['value']} kW 超过现有容量每 kVA {_n(p['ratio'])} kW"
    ),
    "reject_meter_mean_above_max": lambda p: f"{p['value']} 千瓦时折算的平均负荷超过了当月最大需量",
    "reject_meter_readings_invalid": lambda p: (
        f"{p['of']} 个月的电费数据中有 {p['n']} 个无效：已有用户须按全部月份计算"
    ),
    "reject_meter_too_few_months": lambda p: (
        f"{_KINDS_ZH.get(str(p['kind']), p['kind'])}申请需要至少 {p['min']} 个月的电费数据，"
        f"目前只有 {p['n']} 个月"
    ),
    "reject_meter_too_many_months": lambda p: (
        f"电费数据有 {p['n']} 个月，应为申请前的 {p['max']} 个月"
    ),
    "reject_answer_over_contract_limit": lambda p: (
        f"结果会超出合同限值（{_n(p['limit_kva'])} kVA、{_n(p['limit_kw'])} kW）：请核对建筑面积和设备清单"
    ),
    "reject_unclosed_quote": lambda p: '这一行有未闭合的引号（"），无法读取',
}

REJECT_CATALOGS: dict[str, dict[str, Any]] = {"en": REJECT_EN, "zh": REJECT_ZH}
"""The reasons of rejected rows, per language (the page's keys are the same codes)."""


def render_reject(code: str, params: dict[str, Any], value: Any, lang: str) -> str:
    """A reject reason ``code`` with ``params`` and the rejected ``value`` in ``lang``.

    Raises
    ------
    KeyError
        For an unknown language or code (a programming error, never user input).
    """
    return str(REJECT_CATALOGS[lang][code]({**params, "value": "" if value is None else value}))
