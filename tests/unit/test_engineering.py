"""The demand-coefficient calculation sheet and its vectorised twin."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from features.catalog import load_catalog
from features.contract import STANDARD_SERIES_KVA
from features.engineering import (
    ENGINEERING_COLUMNS,
    EngineeringConfig,
    GroupInput,
    calculation_sheet,
    engineering_estimate_frame,
    groups_from_equipment,
    industry_density,
    sheet_for_application,
    supply_voltage,
)
from features.schemas import Application, EquipmentItem


def g(category: str, kw: float, kx: float | None = None, cos: float | None = None) -> GroupInput:
    return GroupInput(category=category, installed_kw=kw, kx=kx, cos_phi=cos)


# --- published worked examples ------------------------------------------------------


def test_office_building_example() -> None:
    sheet = calculation_sheet(
        [
            g("chiller", 280, 0.8, 0.8),
            g("chiller", 120, 0.8, 0.8),  # the AC plant, same coefficients
            g("elevator", 45, 0.5, 0.8),
            g("lighting", 60, 0.9, 0.9),
            g("office_sockets", 85, 0.5, 0.8),
        ],
        k_sum_p=0.90,
        k_sum_q=0.95,
    )
    assert sheet.method == "demand_coefficient"
    assert sheet.sum_p_kw == pytest.approx(439.0)
    assert sheet.p30_kw == pytest.approx(395.1, abs=0.1)
    assert sheet.q30_kvar == pytest.approx(299.2, abs=0.1)
    assert sheet.s30_kva == pytest.approx(495.6, abs=0.1)


def test_liu_jiecai_example_2_1_single_machine_tool_group() -> None:
    pe = 7.5 * 3 + 4 * 8 + 3 * 17 + 1.5 * 10
    assert pe == pytest.approx(120.5)
    sheet = calculation_sheet([g("machine_tool", pe, 0.2, 0.5)])
    assert sheet.k_sum_p == 1.0 and sheet.k_sum_q == 1.0
    assert sheet.p30_kw == pytest.approx(24.1, abs=0.1)
    assert sheet.q30_kvar == pytest.approx(41.7, abs=0.1)
    assert sheet.s30_kva == pytest.approx(48.2, abs=0.1)
    assert sheet.i30_a == pytest.approx(73.2, abs=0.1)


def test_liu_jiecai_example_2_1_from_equipment_list() -> None:
    items = [
        EquipmentItem(category="machine_tool", rated_kw=kw, quantity=n)
        for kw, n in ((7.5, 3), (4, 8), (3, 17), (1.5, 10))
    ]
    built = groups_from_equipment(items)
    assert len(built.groups) == 1
    assert built.groups[0].installed_kw == pytest.approx(120.5)


def test_liu_jiecai_example_2_2_three_groups() -> None:
    sheet = calculation_sheet(
        [
            g("machine_tool", 50, 0.2, 0.5),
            g("fan", 3, 0.8, 0.8),
            g("resistance_furnace", 2, 0.7, 1.0),
        ],
        k_sum_p=0.95,
        k_sum_q=0.97,
    )
    assert sheet.rows[2].q_kvar == 0.0
    assert sheet.p30_kw == pytest.approx(13.1, abs=0.1)
    assert sheet.q30_kvar == pytest.approx(18.5, abs=0.1)
    assert sheet.s30_kva == pytest.approx(22.7, abs=0.1)
    assert sheet.i30_a == pytest.approx(34.5, abs=0.1)


def test_liu_jiecai_compensation_example() -> None:
    cos1 = 650 / math.hypot(650, 800)
    sheet = calculation_sheet(
        [g("other_motor", 650, 1.0, cos1)], EngineeringConfig(target_cos_phi=0.92)
    )
    assert sheet.p30_kw == pytest.approx(650)
    assert sheet.q30_kvar == pytest.approx(800)
    assert sheet.cos_phi_natural == pytest.approx(cos1)
    assert sheet.qc_kvar == pytest.approx(525, abs=3)
    assert sheet.s30_comp_kva == pytest.approx(704, abs=3)
    assert sheet.p30_kw / sheet.s30_comp_kva == pytest.approx(0.92)


# --- grouping, exclusions, overrides ---------------------------------------------------


def test_standby_and_fire_pumps_are_excluded_and_listed() -> None:
    items = [
        EquipmentItem(category="pump", rated_kw=30, quantity=2),
        EquipmentItem(category="pump", rated_kw=30, quantity=1, standby=True),
        EquipmentItem(category="fire_pump", rated_kw=55, quantity=2),
        EquipmentItem(category="lighting", rated_kw=5, quantity=4),
        EquipmentItem(category="pump", rated_kw=7.5, quantity=2),
    ]
    built = groups_from_equipment(items)
    assert [(gr.category, gr.installed_kw) for gr in built.groups] == [
        ("pump", 75.0),
        ("lighting", 20.0),
    ]
    assert [(e.category, e.installed_kw) for e in built.excluded] == [
        ("pump", 30.0),
        ("fire_pump", 110.0),
    ]
    assert "standby" in built.excluded[0].reason
    assert "fire" in built.excluded[1].reason
    sheet = calculation_sheet(built.groups, excluded=built.excluded)
    assert sheet.installed_kw == pytest.approx(95.0)
    assert sum("Excluded" in note for note in sheet.notes) == 2


def test_item_without_category_is_rejected() -> None:
    with pytest.raises(ValueError, match="no category"):
        groups_from_equipment([EquipmentItem(name="数控车床", rated_kw=7.5)])


def test_categories_beside_the_lines_give_the_sheet_of_lines_with_them() -> None:
    # Named lines resolved by the matcher: their categories are given beside them (no copy
    # of each line); the sheet must be the one of lines that carry those categories, a
    # motor's starting check, a duty cycle and a fire pump included.
    lines = [
        EquipmentItem(name="数控车床", rated_kw=7.5, quantity=3),
        EquipmentItem(name="行车", rated_kw=15, quantity=1, duty_cycle=0.25),
        EquipmentItem(category="pump", rated_kw=30, quantity=2),
        EquipmentItem(name="消防泵", rated_kw=45, quantity=1),
        EquipmentItem(name="空压机", rated_kw=37, quantity=1, standby=True),
    ]
    cats = ["machine_tool", "crane", "pump", "fire_pump", "air_compressor"]
    copies = [it.model_copy(update={"category": c}) for it, c in zip(lines, cats, strict=True)]
    beside = groups_from_equipment(lines, categories=cats)
    assert beside.model_dump_json() == groups_from_equipment(copies).model_dump_json()
    with pytest.raises(ValueError, match="no category"):
        groups_from_equipment(lines, categories=[*cats[:-1], None])
    with pytest.raises(ValueError, match="one per item"):
        groups_from_equipment(lines, categories=cats[:-1])


def test_catalog_defaults_and_kx_choice() -> None:
    cat = load_catalog().categories["pump"]
    for choice, expected in (("low", cat.kx_low), ("mid", cat.kx_default), ("high", cat.kx_high)):
        sheet = calculation_sheet([g("pump", 100)], EngineeringConfig(kx_choice=choice))
        row = sheet.rows[0]
        assert row.kx == pytest.approx(expected)
        assert row.cos_phi == pytest.approx(cat.cos_phi)
        assert not row.kx_overridden and not row.cos_phi_overridden
        assert sheet.p30_kw == pytest.approx(100 * expected)


def test_overrides_are_respected() -> None:
    base = calculation_sheet([g("pump", 100), g("fan", 50)])
    assert base.k_sum_p == 0.9 and base.k_sum_q == 0.95
    over = calculation_sheet(
        [g("pump", 100, kx=0.5, cos=0.6), g("fan", 50)], k_sum_p=0.8, k_sum_q=0.85
    )
    row = over.rows[0]
    assert row.kx == 0.5 and row.cos_phi == 0.6 and row.kx_overridden and row.cos_phi_overridden
    assert row.tan_phi == pytest.approx(math.tan(math.acos(0.6)))
    assert over.k_sum_p == 0.8 and over.k_sum_q == 0.85
    fan_p = over.rows[1].p_kw
    assert over.p30_kw == pytest.approx(0.8 * (50 + fan_p))
    assert over.q30_kvar == pytest.approx(0.85 * (50 * 4 / 3 + over.rows[1].q_kvar))
    # config-level simultaneity factors apply with two or more groups only
    cfg = EngineeringConfig(k_sum_p=0.7, k_sum_q=0.75)
    assert calculation_sheet([g("pump", 100), g("fan", 50)], cfg).k_sum_p == 0.7
    assert calculation_sheet([g("pump", 100)], cfg).k_sum_p == 1.0
    assert calculation_sheet([g("pump", 100)], cfg, k_sum_p=0.6).k_sum_p == 0.6


def test_invalid_inputs_are_rejected_with_clear_messages() -> None:
    with pytest.raises(ValidationError, match="did you mean 'pump'"):
        GroupInput(category="pumpp", installed_kw=1)
    with pytest.raises(ValidationError):
        GroupInput(category="pump", installed_kw=0)
    with pytest.raises(ValueError, match="k_sum_p must be in"):
        calculation_sheet([g("pump", 10)], k_sum_p=1.5)
    with pytest.raises(ValueError, match="unknown industry code 'ofice'"):
        calculation_sheet([], industry="ofice", floor_area_m2=100)
    with pytest.raises(ValidationError, match="single_phase_max_kw"):
        EngineeringConfig(single_phase_max_kw=200)


@pytest.mark.parametrize(("industry", "area"), [(None, None), ("office", None), (None, 1000.0)])
def test_empty_input_raises(industry: str | None, area: float | None) -> None:
    with pytest.raises(ValueError, match="nothing to calculate"):
        calculation_sheet([], industry=industry, floor_area_m2=area)


# --- compensation, transformer, voltage, tariff -------------------------------------


def test_no_compensation_when_already_at_target() -> None:
    sheet = calculation_sheet([g("it_equipment", 100, 1.0, 0.95)])
    assert sheet.qc_kvar == 0.0
    assert sheet.s30_comp_kva == pytest.approx(sheet.s30_kva)


def test_transformer_choice_at_085_load_rate() -> None:
    # cos φ 1.0 so S30 after compensation equals P30 exactly.
    def kva(p30: float, rate: float = 0.85) -> float:
        cfg = EngineeringConfig(max_load_rate=rate)
        return calculation_sheet([g("resistance_furnace", p30, 1.0, 1.0)], cfg).transformer_kva

    assert kva(0.85 * 400) == 400.0  # exactly at 85 % is allowed
    assert kva(0.85 * 400 + 0.5) == 500.0
    assert kva(300) == 400.0  # 300/315 = 95 % would exceed the target
    assert kva(1) == 30.0
    assert kva(0.85 * 2500 + 1) == 3750.0  # multiples of 1,250 kVA above 2,500
    assert kva(300, rate=1.0) == 315.0
    sheet = calculation_sheet([g("resistance_furnace", 300, 1.0, 1.0)])
    assert sheet.load_rate == pytest.approx(300 / 400)
    assert sheet.transformer_kva in STANDARD_SERIES_KVA


@pytest.mark.parametrize(
    ("p30", "expected"),
    [
        (8.0, "220V"),
        (10.0, "220V"),
        (10.5, "0.4kV"),
        (160.0, "0.4kV"),
        (161.0, "10kV"),
        # The 35 kV step reads the transformer (features.engineering.supply_voltage): 6,375 kW
        # at cos φ 1 needs 6,375 / 0.85 = 7,500 kVA (10 kV); 6,376 kW needs 8,750 kVA, above
        # the 8,000 kVA limit, although its S30' (6,376 kVA) is below it.
        (6375.0, "10kV"),
        (6376.0, "35kV+"),
        (8000.0, "35kV+"),
        (8001.0, "35kV+"),
    ],
)
def test_supply_voltage_thresholds(p30: float, expected: str) -> None:
    sheet = calculation_sheet([g("resistance_furnace", p30, 1.0, 1.0)])
    assert sheet.supply_voltage == expected


@pytest.mark.parametrize(
    ("peak_kw", "capacity_kva", "expected"),
    [
        (10.0, 30.0, "220V"),  # the single-phase limit itself is single-phase (≤, not <)
        (np.nextafter(10.0, 11.0), 30.0, "0.4kV"),
        (160.0, 250.0, "0.4kV"),  # the low-voltage limit itself is 0.4 kV
        (np.nextafter(160.0, 161.0), 250.0, "10kV"),
        (200.0, 8000.0, "10kV"),  # the 35 kV limit is a capacity, inclusive
        (200.0, np.nextafter(8000.0, 8001.0), "35kV+"),
        (5000.0, 7500.0, "10kV"),
        (5000.0, 8750.0, "35kV+"),
        (float("nan"), 100.0, None),
        (50.0, float("nan"), None),
    ],
)
def test_supply_voltage_boundaries(
    peak_kw: float, capacity_kva: float, expected: str | None
) -> None:
    cfg = EngineeringConfig()
    assert (cfg.single_phase_max_kw, cfg.lv_max_kw, cfg.mv_max_kva) == (10.0, 160.0, 8000.0)
    assert supply_voltage(peak_kw, capacity_kva, cfg)[0] == expected


def test_supply_voltage_is_vectorised_like_one_by_one() -> None:
    cfg = EngineeringConfig()
    peaks = np.array([5.0, 10.0, 50.0, 160.0, 300.0, 6000.0])
    kvas = np.array([30.0, 30.0, 80.0, 250.0, 400.0, 8750.0])
    many = supply_voltage(peaks, kvas, cfg)
    assert list(many) == [supply_voltage(p, c, cfg)[0] for p, c in zip(peaks, kvas, strict=True)]
    assert list(many) == ["220V", "220V", "0.4kV", "0.4kV", "10kV", "35kV+"]


def test_voltage_thresholds_follow_config() -> None:
    cfg = EngineeringConfig(single_phase_max_kw=5, lv_max_kw=100, mv_max_kva=500)
    got = [
        calculation_sheet([g("resistance_furnace", p, 1.0, 1.0)], cfg).supply_voltage
        for p in (6, 101, 501)
    ]
    assert got == ["0.4kV", "10kV", "35kV+"]


def test_two_part_tariff_and_capacity_charge() -> None:
    small = calculation_sheet([g("resistance_furnace", 200, 1.0, 1.0)])  # 200/0.85 → 250
    assert small.transformer_kva == 250.0
    assert not small.two_part_tariff and small.capacity_charge_yuan_month == 0.0
    big = calculation_sheet([g("resistance_furnace", 260, 1.0, 1.0)])  # 260/0.85 → 315
    assert big.transformer_kva == 315.0
    assert big.two_part_tariff and big.capacity_charge_yuan_month == pytest.approx(315 * 22.0)
    cfg = EngineeringConfig(capacity_price_yuan_per_kva_month=30, tariff_threshold_kva=200)
    mid = calculation_sheet([g("resistance_furnace", 200, 1.0, 1.0)], cfg)
    assert mid.two_part_tariff and mid.capacity_charge_yuan_month == pytest.approx(250 * 30)


# --- area-density method and the density plausibility check ---------------------------


def test_area_only_method() -> None:
    density = industry_density("office")
    sheet = calculation_sheet([], industry="office", floor_area_m2=5000)
    assert sheet.method == "area_density"
    assert sheet.rows == []
    assert sheet.p30_kw == pytest.approx(density.design_w_m2 * 5)
    assert sheet.cos_phi_natural == pytest.approx(0.85)
    assert sheet.s30_comp_kva == pytest.approx(sheet.p30_kw / 0.9)
    assert any("load-density" in note for note in sheet.notes)


def test_application_with_only_spares_falls_back_to_area() -> None:
    app = Application(
        industry="hotel",
        floor_area_m2=2000,
        equipment=[EquipmentItem(category="fire_pump", rated_kw=45, quantity=2)],
    )
    sheet = sheet_for_application(app)
    assert sheet.method == "area_density"
    assert len(sheet.excluded) == 1


def test_industry_densities_are_complete_and_ordered() -> None:
    catalog = load_catalog()
    for code in catalog.industry_codes:
        d = industry_density(code)
        assert 0 < d.installed_w_m2_low < d.design_w_m2 < d.installed_w_m2_high, code
    assert industry_density("data_center").design_w_m2 > 5 * industry_density("office").design_w_m2


def test_installed_density_outside_range_is_flagged() -> None:
    ok = calculation_sheet(
        [g("lighting", 30), g("office_sockets", 50)], None, None, None, "office", 1000
    )
    assert ok.installed_w_m2 == pytest.approx(80)
    assert ok.density_outside_range is False
    wild = calculation_sheet([g("it_equipment", 2000)], industry="office", floor_area_m2=1000)
    assert wild.density_outside_range is True
    assert any("manual review" in note for note in wild.notes)
    assert calculation_sheet([g("pump", 10)]).density_outside_range is None


# --- vectorised frame ----------------------------------------------------------------


def _random_history(
    n_customers: int, rows_per_customer: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    catalog = load_catalog()
    ids = np.array([f"C{i:07d}" for i in range(n_customers)], dtype=object)
    area = rng.uniform(50, 20_000, n_customers)
    area[rng.random(n_customers) < 0.3] = np.nan
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "industry": rng.choice(list(catalog.industry_codes), n_customers),
            "floor_area_m2": area,
        }
    )
    counts = rng.integers(0, 2 * rows_per_customer, n_customers)
    counts[rng.random(n_customers) < 0.1] = 0  # area-only or neither
    owner = np.repeat(ids, counts)
    n_rows = len(owner)
    equipment = pd.DataFrame(
        {
            "customer_id": owner,
            "category": rng.choice(list(catalog.category_codes), n_rows),
            "rated_kw": np.round(rng.lognormal(2.5, 1.0, n_rows), 1) + 0.1,
            "quantity": rng.integers(1, 6, n_rows),
            "standby": rng.random(n_rows) < 0.1,
        }
    )
    return equipment, customers


def _sheet_for_customer(
    equipment: pd.DataFrame, customer: pd.Series, config: EngineeringConfig
) -> dict[str, object]:
    rows = equipment[equipment["customer_id"] == customer["customer_id"]]
    items = [
        EquipmentItem(
            category=r.category, rated_kw=r.rated_kw, quantity=int(r.quantity), standby=r.standby
        )
        for r in rows.itertuples()
    ]
    area = customer["floor_area_m2"]
    area_value = None if pd.isna(area) else float(area)
    try:
        sheet = calculation_sheet(
            groups_from_equipment(items).groups,
            config,
            industry=customer["industry"],
            floor_area_m2=area_value,
        )
    except ValueError:
        return {"eng_method": None}
    return {
        "eng_p30_kw": sheet.p30_kw,
        "eng_q30_kvar": sheet.q30_kvar,
        "eng_s30_kva": sheet.s30_kva,
        "eng_s30_comp_kva": sheet.s30_comp_kva,
        "eng_kva": sheet.transformer_kva,
        "eng_method": sheet.method,
    }


@pytest.mark.parametrize("config", [EngineeringConfig(), EngineeringConfig(kx_choice="high")])
def test_vectorised_frame_matches_sheet(config: EngineeringConfig) -> None:
    equipment, customers = _random_history(400, 8, seed=7)
    frame = engineering_estimate_frame(equipment, customers, config)
    assert list(frame.columns) == list(ENGINEERING_COLUMNS)
    assert list(frame.index) == list(customers["customer_id"])
    methods = set(frame["eng_method"].dropna())
    assert methods == {"demand_coefficient", "area_density"}
    assert frame["eng_method"].isna().any()  # customers with neither
    rng = np.random.default_rng(1)
    picks = list(rng.choice(len(customers), 40, replace=False))
    # make sure each kind of customer is compared, not only the common one
    for kind in ("demand_coefficient", "area_density"):
        picks.append(int(np.flatnonzero(frame["eng_method"].to_numpy() == kind)[0]))
    picks.append(int(np.flatnonzero(frame["eng_method"].isna().to_numpy())[0]))
    for pos in picks:
        customer = customers.iloc[pos]
        expected = _sheet_for_customer(equipment, customer, config)
        got = frame.loc[customer["customer_id"]]
        assert got["eng_method"] == expected["eng_method"] or (
            expected["eng_method"] is None and pd.isna(got["eng_method"])
        )
        if expected["eng_method"] is None:
            assert got[list(ENGINEERING_COLUMNS[:5])].isna().all()
            continue
        for column in ENGINEERING_COLUMNS[:4]:
            assert got[column] == pytest.approx(expected[column], rel=1e-12), column
        assert got["eng_kva"] == expected["eng_kva"]


def test_vectorised_frame_small_cases() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "industry": ["office", "office", "machinery", "retail"],
            "floor_area_m2": [1000.0, np.nan, 500.0, 800.0],
        }
    )
    equipment = pd.DataFrame(
        {
            "customer_id": ["a", "a", "c", "c", "zz", "d"],
            "category": ["lighting", "lighting", "fire_pump", "pump", "pump", "pump"],
            "rated_kw": [10.0, 5.0, 30.0, 30.0, 1.0, 11.0],
            "quantity": [1, 2, 1, 1, 1, 1],
            "standby": [False, False, False, True, False, "false"],
        }
    )
    frame = engineering_estimate_frame(equipment, customers)
    kx = load_catalog().categories["lighting"].kx_default
    assert frame.loc["a", "eng_p30_kw"] == pytest.approx(kx * 20)  # one group → K∑ 1.0
    assert frame.loc["a", "eng_method"] == "demand_coefficient"
    assert pd.isna(frame.loc["b", "eng_kva"]) and pd.isna(frame.loc["b", "eng_method"])
    # c has only a fire pump and a standby pump: area method
    assert frame.loc["c", "eng_method"] == "area_density"
    assert frame.loc["c", "eng_p30_kw"] == pytest.approx(
        industry_density("machinery").design_w_m2 / 2
    )
    assert frame.loc["d", "eng_method"] == "demand_coefficient"  # "false" parsed strictly
    assert "zz" not in frame.index


def test_vectorised_frame_rejects_bad_input() -> None:
    customers = pd.DataFrame({"customer_id": ["a"], "industry": ["office"]})
    equipment = pd.DataFrame(
        {"customer_id": ["a"], "category": ["pumpx"], "rated_kw": [1.0], "quantity": [1]}
    )
    with pytest.raises(ValueError, match="unknown category"):
        engineering_estimate_frame(equipment, customers)
    with pytest.raises(ValueError, match="lacks column"):
        engineering_estimate_frame(equipment.drop(columns="quantity"), customers)
    with pytest.raises(ValueError, match="unique"):
        engineering_estimate_frame(equipment.iloc[:0], pd.concat([customers, customers]))
    bad_standby = equipment.assign(category="pump", standby=["maybe"])
    with pytest.raises(ValueError, match="standby must be true/false"):
        engineering_estimate_frame(bad_standby, customers)


@pytest.mark.slow
def test_vectorised_frame_scores_every_customer_of_a_large_history() -> None:
    # How fast: benchmarks/bench_throughput.py (no wall-clock assert in a test).
    equipment, customers = _random_history(200_000, 15, seed=3)
    assert len(equipment) > 2_500_000
    frame = engineering_estimate_frame(equipment, customers)
    assert len(frame) == 200_000
