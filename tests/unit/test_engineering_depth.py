"""Engineering-method depth: duty cycle, single-phase loads, load class, growth, motor start.

Expected values are textbook worked examples (source cited per test) or hand computations
written out in the test.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError

from features.engineering import (
    DEFAULT_ENGINEERING,
    EngineeringConfig,
    duty_converted_kw,
    engineering_estimate_frame,
    groups_from_equipment,
    line_to_line_coefficients,
    motor_start_check,
    sheet_for_items,
    supply_plan,
)
from features.schemas import Application, DesignOptions, EquipmentItem, GroupOverride


def E(category: str, kw: float, n: int = 1, **kw_args: object) -> EquipmentItem:
    return EquipmentItem(category=category, rated_kw=kw, quantity=n, **kw_args)  # type: ignore[arg-type]


def ov(category: str, kx: float, cos: float) -> GroupOverride:
    return GroupOverride(category=category, kx=kx, cos_phi=cos)


# --- published worked examples ------------------------------------------------------


def test_liu_jiecai_example_single_phase_loads_with_duty_cycle() -> None:
    """刘介才《工厂供电》 ch. 2, worked example on single-phase loads (例2-4 in the 5th/6th ed.).

    A 220/380 V line feeds 220 V electric drying ovens (Kd 0.7, cos φ 1): 2 × 10 kW on
    phase A, 1 × 30 kW on B, 1 × 20 kW on C; and 380 V butt welders (Kd 0.35, cos φ 0.7):
    2 × 14 kW (ε = 100 %) on AB, 1 × 20 kW (ε = 100 %) on BC, 1 × 30 kW (ε = 60 %) on CA.
    The book converts the 60 % welder to 30·√0.6 = 23 kW, allocates the line-to-line loads
    with the table coefficients for cos φ 0.7 (0.8 / 0.2 active, 0.22 / 0.8 reactive),
    finds phase B the most loaded (P = 28.6 kW, Q = 9.38 kvar) and answers
    P30 = 3 × 28.6 = 85.7 kW, Q30 = 28.1 kvar, S30 = 90.2 kVA, I30 = 137 A.
    """
    items = [
        E("resistance_furnace", 10, 2, phase="A"),
        E("resistance_furnace", 30, phase="B"),
        E("resistance_furnace", 20, phase="C"),
        E("resistance_welder", 14, 2, phase="AB", duty_cycle=1.0),
        E("resistance_welder", 20, phase="BC", duty_cycle=1.0),
        E("resistance_welder", 30, phase="CA", duty_cycle=0.6),
    ]
    design = DesignOptions(
        overrides=[ov("resistance_furnace", 0.7, 1.0), ov("resistance_welder", 0.35, 0.7)]
    )
    sheet = sheet_for_items(items, design=design)
    assert sheet.lines[5].installed_kw == pytest.approx(23.2, abs=0.05)
    assert sheet.single_phase is not None
    assert sheet.single_phase.max_phase == "B"
    phase_b = sheet.single_phase.phases[1]
    assert phase_b.p_kw == pytest.approx(28.6, abs=0.05)
    assert phase_b.q_kvar == pytest.approx(9.38, abs=0.01)
    assert sheet.k_sum_p == 1.0  # one equivalent load: nothing to be non-simultaneous with
    assert sheet.p30_kw == pytest.approx(85.7, abs=0.1)
    assert sheet.q30_kvar == pytest.approx(28.1, abs=0.1)
    assert sheet.s30_kva == pytest.approx(90.2, abs=0.1)
    assert sheet.i30_a == pytest.approx(137, abs=0.5)
    assert [row.kind for row in sheet.rows] == ["single_phase_equivalent"]


def test_liu_jiecai_exercise_machine_repair_shop_with_crane_and_welders() -> None:
    """刘介才《工厂供电》 ch. 2 exercise: a machine-repair shop on 220/380 V.

    52 metal-cutting machine tools, 200 kW in total (Kd 0.2, cos φ 0.5); one overhead crane
    5.1 kW at ε = 15 % (Kd 0.15, cos φ 0.5); 4 fans, 5 kW in total (Kd 0.8, cos φ 0.8);
    3 spot welders, 10.5 kW in total at ε = 65 % (Kd 0.35, cos φ 0.6); K∑p 0.9, K∑q 0.95.
    By the book's method: crane Pe = 2·5.1·√0.15 = 3.95 kW (to ε = 25 %), welders
    Pe = 10.5·√0.65 = 8.47 kW (to ε = 100 %); ΣPjs = 40 + 0.59 + 4 + 2.96 = 47.56 kW,
    ΣQjs = 69.28 + 1.03 + 3 + 3.95 = 77.26 kvar; P30 = 42.8 kW, Q30 = 73.4 kvar,
    S30 = 85.0 kVA, I30 = 129 A (answer key: 42.8 kW, 73.4 kvar, 85 kVA, 129 A).
    """
    items = [
        E("machine_tool", 200 / 52, 52),
        E("crane", 5.1, duty_cycle=0.15),
        E("fan", 1.25, 4),
        E("resistance_welder", 3.5, 3, duty_cycle=0.65),
    ]
    design = DesignOptions(
        overrides=[
            ov("machine_tool", 0.2, 0.5),
            ov("crane", 0.15, 0.5),
            ov("fan", 0.8, 0.8),
            ov("resistance_welder", 0.35, 0.6),
        ],
        k_sum_p=0.9,
        k_sum_q=0.95,
    )
    sheet = sheet_for_items(items, design=design)
    pe = {row.category: row.installed_kw for row in sheet.rows}
    assert pe["crane"] == pytest.approx(3.95, abs=0.005)
    assert pe["resistance_welder"] == pytest.approx(8.47, abs=0.005)
    assert sheet.sum_p_kw == pytest.approx(47.56, abs=0.01)
    assert sheet.sum_q_kvar == pytest.approx(77.26, abs=0.01)
    assert sheet.p30_kw == pytest.approx(42.8, abs=0.05)
    assert sheet.q30_kvar == pytest.approx(73.4, abs=0.05)
    assert sheet.s30_kva == pytest.approx(85.0, abs=0.1)
    assert sheet.i30_a == pytest.approx(129, abs=0.5)
    assert all(row.kx_overridden and row.cos_phi_overridden for row in sheet.rows)
    assert sum("converted to ε" in note for note in sheet.notes) == 2


# --- each addition against hand computations -----------------------------------------


def test_duty_cycle_conversion() -> None:
    # Crane 39.6 kW at ε = 40 %: 2·39.6·√0.4 = 50.09 kW at 25 %.
    assert duty_converted_kw(39.6, 0.4, "crane") == pytest.approx(50.09, abs=0.01)
    # Welder 20 kW at ε = 60 %: 20·√0.6 = 15.49 kW at 100 %.
    assert duty_converted_kw(20, 0.6, "arc_welder") == pytest.approx(15.49, abs=0.01)
    assert duty_converted_kw(20, None, "arc_welder") == 20
    # A duty-rated load of another category is referred to continuous duty.
    assert duty_converted_kw(10, 0.25, "pump") == pytest.approx(5.0)


def test_line_to_line_coefficients_match_the_manual_table() -> None:
    # 《工业与民用供配电设计手册》 table of 相间负荷换算系数, rounded to two decimals.
    table = {
        1.0: (0.50, -0.29, 0.50, 0.29),
        0.9: (0.64, -0.05, 0.36, 0.53),
        0.8: (0.72, 0.09, 0.28, 0.67),
        0.7: (0.80, 0.22, 0.20, 0.80),
        0.5: (1.00, 0.58, 0.00, 1.16),
    }
    for cos, expected in table.items():
        assert line_to_line_coefficients(cos) == pytest.approx(expected, abs=0.011)
        p_x, q_x, p_y, q_y = line_to_line_coefficients(cos)
        assert p_x + p_y == pytest.approx(1.0)
        assert q_x + q_y == pytest.approx(math.tan(math.acos(cos)))


def test_single_phase_phase_to_neutral_is_three_times_the_largest_phase() -> None:
    items = [E("lighting", 10, phase="A"), E("lighting", 4, phase="B"), E("lighting", 6, phase="C")]
    sheet = sheet_for_items(items, design=DesignOptions(overrides=[ov("lighting", 1.0, 0.9)]))
    assert sheet.single_phase is not None and sheet.single_phase.max_phase == "A"
    assert sheet.p30_kw == pytest.approx(30.0)  # 3 × 10 kW, not the 20 kW installed
    assert sheet.q30_kvar == pytest.approx(30.0 * math.tan(math.acos(0.9)))


def test_small_single_phase_share_counts_as_balanced() -> None:
    # 10 kW single-phase beside 100 kW three-phase: 10 % ≤ 15 %, spread over the phases.
    items = [E("pump", 100), E("lighting", 10, phase="A")]
    built = groups_from_equipment(items)
    assert built.single_phase == []
    assert [(g.category, g.installed_kw) for g in built.groups] == [("pump", 100), ("lighting", 10)]
    assert [line.group for line in built.lines] == ["pump", "lighting"]
    # 20 kW is 20 % > 15 %: converted.
    built = groups_from_equipment([E("pump", 100), E("lighting", 20, phase="A")])
    assert [g.category for g in built.groups] == ["pump"]
    assert built.lines[1].group == "single_phase"
    sheet = sheet_for_items([E("pump", 100), E("lighting", 20, phase="A")])
    assert [row.kind for row in sheet.rows] == ["group", "single_phase_equivalent"]
    assert sheet.k_sum_p == DEFAULT_ENGINEERING.k_sum_p  # two loads: K∑ applies


def test_load_class_two_transformers_carry_the_critical_load_alone() -> None:
    config = DEFAULT_ENGINEERING
    # S' = 900 kVA, class II, all of it critical: one unit ≥ 900 → 1000 kVA; two run at 45 %.
    plan = supply_plan(900.0, DesignOptions(load_class="II"), config)
    assert (plan.transformer_count, plan.unit_kva, plan.total_kva, plan.sources) == (
        2,
        1000.0,
        2000.0,
        2,
    )
    assert plan.contingency_load_rate == pytest.approx(0.9)
    assert plan.normal_load_rate == pytest.approx(0.45)
    # Only 40 % critical (360 kVA): normal operation decides, 900 / (2·0.85) = 529 → 630.
    plan = supply_plan(900.0, DesignOptions(load_class="I", critical_share=0.4), config)
    assert plan.unit_kva == 630.0 and plan.critical_kva == pytest.approx(360.0)
    # Class III: one unit at ≤ 85 %: 900 / 0.85 = 1059 → 1250.
    plan = supply_plan(900.0, DesignOptions(), config)
    assert (plan.transformer_count, plan.total_kva, plan.contingency_load_rate) == (1, 1250, None)


def test_sheet_with_load_class_and_growth() -> None:
    items = [E("pump", 100, 4), E("fan", 50, 2)]
    base = sheet_for_items(items)
    grown = sheet_for_items(items, design=DesignOptions(growth_pct=30))
    assert grown.supply is not None and base.supply is not None
    assert grown.supply.design_kva == pytest.approx(base.s30_comp_kva * 1.3)
    assert grown.transformer_kva >= base.transformer_kva
    assert grown.s30_comp_kva == pytest.approx(base.s30_comp_kva)  # today's load unchanged
    class_ii = sheet_for_items(items, design=DesignOptions(load_class="II"))
    assert class_ii.supply is not None and class_ii.supply.transformer_count == 2
    assert class_ii.transformer_kva == 2 * class_ii.supply.unit_kva
    assert class_ii.capacity_charge_yuan_month == pytest.approx(class_ii.transformer_kva * 22)
    assert any("Load class II" in note for note in class_ii.notes)


def test_default_sheet_transformer_equals_the_vectorised_choice() -> None:
    # With class III and no growth the supply plan is the _finish transformer choice.
    sheet = sheet_for_items([E("pump", 100, 4), E("fan", 50, 2)])
    assert sheet.supply is not None and sheet.supply.transformer_count == 1
    # P30 = 0.9·0.75·500 = 337.5 kW; compensated to cos φ 0.9, S' = 337.5 / 0.9 = 375 kVA;
    # 375 / 0.85 = 441 kVA → 500 kVA.
    assert sheet.s30_comp_kva == pytest.approx(375.0)
    assert sheet.transformer_kva == 500.0
    frame = engineering_estimate_frame(
        pd.DataFrame(
            {
                "customer_id": ["c", "c"],
                "category": ["pump", "fan"],
                "rated_kw": [100.0, 50.0],
                "quantity": [4, 2],
            }
        ),
        pd.DataFrame({"customer_id": ["c"], "industry": ["machinery"]}),
    )
    assert frame.loc["c", "eng_kva"] == sheet.transformer_kva


def test_motor_start_check_against_hand_computation() -> None:
    # 500 kVA at uk 4 %: S_k = 12,500 kVA; 75 kW at 6× / 0.8: S_st = 562.5 kVA; Q_L 100 kvar.
    check = motor_start_check(75, "pump", 500, 100, 0.15, DEFAULT_ENGINEERING)
    assert check.short_circuit_kva == pytest.approx(12_500)
    assert check.starting_kva == pytest.approx(562.5)
    assert check.voltage_during_start == pytest.approx(12_500 / 13_162.5)
    assert check.dip == pytest.approx(0.0503, abs=1e-4)
    assert not check.exceeds
    # 250 kW on a 630 kVA unit: S_k 15,750, S_st 1,875 → dip 1875/17,625 = 10.6 %, over 10 %.
    check = motor_start_check(250, "chiller", 630, 0, 0.10, DEFAULT_ENGINEERING)
    assert check.dip == pytest.approx(1875 / 17_625)
    assert check.exceeds
    # Above 630 kVA the larger uk (6 %) applies.
    assert motor_start_check(75, "pump", 800, 0, 0.15, DEFAULT_ENGINEERING).uk == 0.06


def test_sheet_flags_a_large_motor_on_a_small_transformer() -> None:
    items = [E("air_compressor", 90), E("lighting", 5)]
    sheet = sheet_for_items(items, design=DesignOptions(max_start_dip=0.05))
    assert sheet.motor_start is not None
    assert sheet.motor_start.motor_kw == 90 and sheet.motor_start.category == "air_compressor"
    assert sheet.motor_start.transformer_kva == sheet.transformer_kva
    assert sheet.motor_start.exceeds
    assert any("soft starter" in note for note in sheet.notes)
    # Lighting only: no motor, no check.
    assert sheet_for_items([E("lighting", 50)]).motor_start is None


def test_capacitor_steps_round_up() -> None:
    sheet = sheet_for_items(
        [E("machine_tool", 100, 4)], design=DesignOptions(capacitor_step_kvar=30)
    )
    assert sheet.qc_kvar > 0 and sheet.qc_bank_kvar is not None
    assert sheet.qc_bank_kvar == 30 * math.ceil(sheet.qc_kvar / 30)
    assert sheet.qc_bank_kvar - sheet.qc_kvar < 30


def test_design_overrides_apply_per_category() -> None:
    items = [E("pump", 100), E("fan", 50)]
    sheet = sheet_for_items(items, design=DesignOptions(overrides=[ov("pump", 0.5, 0.9)]))
    pump, fan = sheet.rows
    assert pump.kx == 0.5 and pump.cos_phi == 0.9 and pump.kx_overridden
    assert not fan.kx_overridden
    assert sheet.sum_p_kw == pytest.approx(50 + fan.kx * 50)


def test_application_carries_design_and_item_fields() -> None:
    app = Application.model_validate(
        {
            "industry": "machinery",
            "equipment": [
                {"category": "crane", "rated_kw": 20, "duty_cycle": 0.4},
                {"category": "arc_welder", "rated_kw": 10, "phase": "AB", "duty_cycle": 0.6},
            ],
            "design": {"load_class": "II", "growth_pct": 10, "k_sum_p": 0.85},
        }
    )
    assert app.design is not None and app.design.load_class == "II"
    assert app.equipment[1].phase == "AB"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"equipment": [{"category": "crane", "rated_kw": 20, "duty_cycle": 1.5}]}, "duty_cycle"),
        ({"equipment": [{"category": "crane", "rated_kw": 20, "phase": "D"}]}, "phase"),
        ({"design": {"load_class": "IV"}}, "load_class"),
        ({"design": {"growth_pct": -5}}, "growth_pct"),
        ({"design": {"overrides": [{"category": "nope", "kx": 0.5}]}}, "category"),
        (
            {"design": {"overrides": [{"category": "pump", "kx": 0.5}, {"category": "pump"}]}},
            "overrides",
        ),
    ],
)
def test_bad_design_input_names_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Application.model_validate({"industry": "machinery", **body})
    assert field in str(info.value)


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValidationError):
        EngineeringConfig(max_start_dip=1.5)
