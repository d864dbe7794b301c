"""Message catalogs: answers carry codes with parameters; each language renders them here.

One catalog per language (:data:`EN`, :data:`ZH`), the same codes in both; a test checks
that every code renders in every language with the parameters its producer sends.
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


EN: dict[str, Any] = {
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

CATALOGS: dict[str, dict[str, Any]] = {"en": EN, "zh": ZH}


def render(code: str, params: dict[str, Any], lang: str) -> str:
    """The message ``code`` with ``params`` in language ``lang`` (``en`` or ``zh``).

    Raises
    ------
    KeyError
        For an unknown language or code (a programming error, never user input).
    """
    return str(CATALOGS[lang][code](params))
