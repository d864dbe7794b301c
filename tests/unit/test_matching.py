"""The free-text equipment-name matcher."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from features.catalog import load_catalog
from features.matching import (
    TYPE_NEUTRAL_CHARGER_ALIASES,
    MatchResult,
    NameMatcher,
    default_matcher,
    normalise,
    parse_power_kw,
)


@pytest.fixture(scope="module")
def matcher() -> NameMatcher:
    return NameMatcher()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("数控车床 CK6140 7.5kW", "machine_tool"),
        ("CNC lathe", "machine_tool"),
        ("车床", "machine_tool"),
        ("铣床", "machine_tool"),
        ("CNC", "machine_tool"),
        ("lathe", "machine_tool"),
        ("螺杆空压机 37kW", "air_compressor"),
        ("空压机", "air_compressor"),
        ("10t 行车", "crane"),
        ("天车", "crane"),
        ("LED照明", "lighting"),
        ("消防泵", "fire_pump"),
        ("喷淋泵", "fire_pump"),
        ("循环水泵", "pump"),
        ("chiller", "chiller"),
        ("screw air compresor", "air_compressor"),
        ("冲床", "hot_working_machine"),
        ("冷却塔风机", "fan"),
        ("冷却水泵", "pump"),
        ("消防循环水泵", "fire_pump"),
        ("消防排烟风机", "fan"),
        ("点焊机", "resistance_welder"),
        ("二保焊机 NBC-350", "arc_welder"),
        ("中频炉 500kW", "induction_furnace"),
        ("中央空调冷水机组", "chiller"),
        ("多联机VRV", "split_ac"),
        ("5吨电动葫芦", "crane"),
        ("Y2-132M-4 电机 5.5KW", "other_motor"),
        ("卧式加工中心 VMC850", "machine_tool"),
        ("electric heater", "other_heating"),
        ("lathes", "machine_tool"),
        ("CT机", "medical_imaging"),
        ("交流充电桩 7kW", "ev_charger_ac"),
        ("直流快充桩 120kW", "ev_charger_dc"),
    ],
)
def test_examples(matcher: NameMatcher, text: str, expected: str) -> None:
    result = matcher.match(text)
    assert result.category == expected, result.reason
    assert result.text == text
    assert 0.5 <= result.confidence <= 1.0
    assert result.matched_alias is not None


@pytest.mark.parametrize(
    "text", ["xyz123", "变压器", "qwerty asdfgh", "", "   ", "7.5kW", "grinder"]
)
def test_unknown_text_has_no_category(matcher: NameMatcher, text: str) -> None:
    result = matcher.match(text)
    assert result.category is None
    assert result.matched_alias is None
    assert result.confidence < matcher.threshold
    assert result.method == "none"
    assert "cannot match" in result.reason


def test_exact_code_and_exact_alias_are_certain(matcher: NameMatcher) -> None:
    code = matcher.match("machine_tool")
    assert (code.category, code.confidence, code.method) == ("machine_tool", 1.0, "code")
    alias = matcher.match("空压机")
    assert (alias.category, alias.confidence, alias.method) == ("air_compressor", 1.0, "exact")
    assert alias.reason == "exact alias '空压机'"


def test_every_catalog_alias_matches_its_own_category_exactly(matcher: NameMatcher) -> None:
    # Chargers that do not say AC or DC are the one exception: without a power they are
    # only assumed AC.
    neutral = {normalise(a) for a in TYPE_NEUTRAL_CHARGER_ALIASES}
    for cat in load_catalog().categories.values():
        for alias in cat.aliases:
            result = matcher.match(alias)
            certain = normalise(alias) not in neutral
            assert result.category == cat.code, (alias, result)
            assert (result.confidence == 1.0) is certain, (alias, result)


def test_confidence_orders_exact_contained_fuzzy(matcher: NameMatcher) -> None:
    exact = matcher.match("数控车床")
    contained = matcher.match("大型数控车床")
    fuzzy = matcher.match("screw air compresor")
    assert (exact.method, contained.method, fuzzy.method) == ("exact", "contained", "fuzzy")
    assert exact.confidence == 1.0
    assert 0.8 <= contained.confidence <= 0.95
    assert exact.confidence > contained.confidence > fuzzy.confidence >= matcher.threshold


def test_longer_contained_alias_gives_higher_confidence(matcher: NameMatcher) -> None:
    long_alias = matcher.match("大型数控车床")
    short_alias = matcher.match("大型车床")
    assert long_alias.matched_alias == "数控车床"
    assert short_alias.matched_alias == "车床"
    assert long_alias.confidence > short_alias.confidence


def test_tie_between_categories_lowers_confidence(matcher: NameMatcher) -> None:
    tie = matcher.match("空调水泵")
    clear = matcher.match("大型水泵")
    assert tie.category == clear.category == "pump"
    assert tie.confidence < clear.confidence
    assert "split_ac" in tie.reason


def test_nested_and_catch_all_aliases_lose(matcher: NameMatcher) -> None:
    assert matcher.match("中频点焊机").category == "resistance_welder"
    assert matcher.match("水泵电机").category == "pump"
    assert matcher.match("电加热烘箱").category == "resistance_furnace"
    assert matcher.match("搅拌机减速电机").category == "mixer_crusher"


def test_latin_aliases_need_word_boundaries(matcher: NameMatcher) -> None:
    # 'ct' (medical imaging) ends 'product' and sits inside 'electric'; 'dr' starts 'drill'.
    assert matcher.match("big electric boiler").category == "other_heating"
    assert matcher.match("product testing").category != "medical_imaging"
    assert matcher.match("drilling rig").category != "medical_imaging"
    assert matcher.match("CT scanner room").category == "medical_imaging"


def test_type_neutral_charger_is_decided_by_power(matcher: NameMatcher) -> None:
    assert matcher.match("充电桩 120kW").category == "ev_charger_dc"
    assert matcher.match("充电桩 7kW").category == "ev_charger_ac"
    assert matcher.match("充电桩", rated_kw=60.0).category == "ev_charger_dc"
    unknown = matcher.match("充电桩")
    assert unknown.category == "ev_charger_ac"
    assert unknown.confidence < 1.0
    assert "assumed AC" in unknown.reason


def test_type_neutral_charger_aliases_are_catalog_aliases() -> None:
    ac = {normalise(a) for a in load_catalog().categories["ev_charger_ac"].aliases}
    assert {normalise(a) for a in TYPE_NEUTRAL_CHARGER_ALIASES} <= ac


@pytest.mark.parametrize(
    ("text", "kw"),
    [
        ("数控车床 CK6140 7.5kW", 7.5),
        ("7.5 KW", 7.5),
        ("7.5千瓦 电机", 7.5),
        ("LED 750W", 0.75),
        ("７．５ｋＷ", 7.5),
        ("螺杆空压机 37kW", 37.0),
        ("CK6140", None),
        ("380V 50Hz", None),
        ("电机 0kW", None),
        ("天车", None),
    ],
)
def test_rated_kw_hint(matcher: NameMatcher, text: str, kw: float | None) -> None:
    assert parse_power_kw(text) == kw
    assert matcher.match(text).rated_kw_hint == kw


def test_a_kva_figure_becomes_kw_with_the_categorys_power_factor(matcher: NameMatcher) -> None:
    # kVA is not kW: without a category there is no kW, with one its cos φ converts it
    # and the figures say so (issue 25: '60kVA' was taken as 60 kW).
    assert parse_power_kw("UPS 100kVA") is None
    m = matcher.match("UPS 100kVA")
    pf = matcher.catalog.categories[m.category].cos_phi
    assert m.rated_kw_hint == pytest.approx(100 * pf)
    assert m.figures is not None and m.figures.power_factor == pf
    assert any(n.code == "kva_converted" for n in m.figures.notes)


@pytest.mark.parametrize("text", ["充电桩, 120 kW × 10", "充电桩 120千瓦 10台", "充电桩 150kVA"])
def test_a_power_written_in_the_name_decides_dc(matcher: NameMatcher, text: str) -> None:
    assert matcher.match(text).category == "ev_charger_dc"


def test_the_lines_rating_decides_dc_over_a_neutral_name(matcher: NameMatcher) -> None:
    assert matcher.match("充电桩", rated_kw=120.0).category == "ev_charger_dc"
    assert matcher.match("充电桩", rated_kw=7.0).category == "ev_charger_ac"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("数控车床 CK6140 7.5kW", "数控车床"),
        ("ZW-3/7 空压机", "空压机"),
        ("10t 行车", "行车"),
        ("Screw  Air-Compressor", "screw air compressor"),
        ("ＬＥＤ 照明", "led照明"),
        ("xyz123", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_threshold_is_configurable() -> None:
    strict = NameMatcher(threshold=0.9)
    result = strict.match("空调水泵")
    assert result.category is None
    assert "below the threshold" in result.reason
    assert strict.match("数控车床").category == "machine_tool"


@pytest.mark.parametrize("threshold", [-0.1, 1.5])
def test_threshold_out_of_range_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        NameMatcher(threshold=threshold)


def test_non_string_is_refused(matcher: NameMatcher) -> None:
    with pytest.raises(TypeError, match="received int"):
        matcher.match(42)  # type: ignore[arg-type]


def test_result_is_frozen(matcher: NameMatcher) -> None:
    result = matcher.match("天车")
    assert isinstance(result, MatchResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.category = "fan"  # type: ignore[misc]


def test_match_many_keeps_order_and_checks_lengths(matcher: NameMatcher) -> None:
    names = ["天车", "xyz123", "充电桩"]
    results = matcher.match_many(names)
    assert [r.text for r in results] == names
    assert [r.category for r in results] == ["crane", None, "ev_charger_ac"]
    with_power = matcher.match_many(names, rated_kw=[None, None, 120.0])
    assert with_power[2].category == "ev_charger_dc"
    with pytest.raises(ValueError, match="received 1 values for 3 names"):
        matcher.match_many(names, rated_kw=[1.0])


def test_five_hundred_names(matcher: NameMatcher) -> None:
    # Speed sanity, not a timing assertion: a full equipment list goes through in one call.
    base = ["数控车床 CK6140 7.5kW", "螺杆空压机 37kW", "10t 行车", "LED照明", "消防泵"]
    names = [f"{name} #{i}" for i, name in enumerate(base * 100)]
    results = NameMatcher().match_many(names)
    assert len(results) == 500
    assert all(r.category is not None for r in results)


def test_default_matcher_is_cached_and_not_built_at_import() -> None:
    assert default_matcher() is default_matcher()
    code = (
        "import features.matching as m; "
        "print(m.default_matcher.cache_info().currsize, "
        "m.load_catalog.cache_info().currsize)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    assert out.split() == ["0", "0"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("冰箱", "refrigeration_compressor"),
        ("啤酒冷柜 800W 3台", "refrigeration_compressor"),
        ("冰箱压缩机", "refrigeration_compressor"),
        ("抽油烟机 1.5kW", "fan"),
        ("油烟净化器", "kitchen_equipment"),
        ("收银机 200W 6台", "office_sockets"),
        ("加油机 0.75kW 8台", "pump"),
        ("模温机 9kW", "other_heating"),
    ],
)
def test_everyday_commercial_appliances_do_not_block_a_restaurant(
    matcher: NameMatcher, text: str, expected: str
) -> None:
    # Issue 25: 冰箱, 抽油烟机, 啤酒冷柜 matched nothing (guesses: hot-working machines, welders).
    assert matcher.match(text).category == expected
