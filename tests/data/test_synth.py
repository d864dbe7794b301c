"""The synthetic history generator: contract conformance, determinism and realism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.catalog import load_catalog
from features.contract import (
    CLIMATE_ZONES,
    CUSTOMER_COLUMN_NAMES,
    EQUIPMENT_COLUMN_NAMES,
    is_standard_capacity,
    load_rate,
)
from training.synth.history import SynthConfig, SyntheticHistory, generate_history, write_history

N = 2000
SEED = 7


@pytest.fixture(scope="module")
def history() -> SyntheticHistory:
    return generate_history(SynthConfig(n=N, seed=SEED))


def _dirty(history: SyntheticHistory, file: str, kind: str | None = None) -> set[int]:
    rows = history.dirty_rows[history.dirty_rows["file"] == file]
    if kind is not None:
        rows = rows[rows["kind"] == kind]
    return set(rows["row_number"].astype(int))


def _clean_customers(history: SyntheticHistory) -> pd.DataFrame:
    dirty = _dirty(history, "customers.csv")
    keep = [i for i in range(len(history.customers)) if i not in dirty]
    return history.customers.iloc[keep]


def _clean_equipment(history: SyntheticHistory) -> pd.DataFrame:
    dirty = _dirty(history, "equipment.csv")
    keep = [i for i in range(len(history.equipment)) if i not in dirty]
    eq = history.equipment.iloc[keep].copy()
    eq["rated_kw"] = eq["rated_kw"].astype(float)
    return eq


def _installed_running_kw(history: SyntheticHistory) -> pd.Series:
    eq = _clean_equipment(history)
    running = ~eq["standby"].fillna(False).astype(bool)
    kw = eq["rated_kw"] * eq["quantity"].astype(float)
    return kw[running].groupby(eq.loc[running, "customer_id"]).sum()


def test_columns_follow_the_contract_order(history: SyntheticHistory) -> None:
    assert tuple(history.customers.columns) == CUSTOMER_COLUMN_NAMES
    assert tuple(history.equipment.columns) == EQUIPMENT_COLUMN_NAMES
    assert list(history.oracle.columns) == ["customer_id", "oracle_peak_kw"]
    assert list(history.dirty_rows.columns) == ["file", "row_number", "kind"]


def test_codes_are_catalog_codes_except_deliberately_dirty_rows(
    history: SyntheticHistory,
) -> None:
    catalog = load_catalog()
    assert set(history.customers["industry"]) <= set(catalog.industry_codes)
    zones = history.customers["climate_zone"].dropna()
    assert set(zones) <= set(CLIMATE_ZONES)

    flagged = _dirty(history, "equipment.csv", "unknown_category")
    assert flagged, "the default dirty rate must produce misspelled categories"
    category = history.equipment["category"]
    bad = {i for i, c in enumerate(category) if c not in catalog.category_codes}
    # Exactly the flagged rows are outside the catalog: the flag is informative.
    assert bad == flagged


def test_every_industry_is_present_with_a_realistic_mix(history: SyntheticHistory) -> None:
    counts = _clean_customers(history)["industry"].value_counts()
    assert set(counts.index) == set(load_catalog().industry_codes)
    assert counts["machinery"] > 3 * counts["data_center"]
    assert counts["plastics"] > counts["irrigation"]
    assert counts["office"] > counts["data_center"]


def test_values_are_within_contract_ranges_except_dirty_rows(
    history: SyntheticHistory,
) -> None:
    cust = _clean_customers(history)
    assert cust["customer_id"].is_unique
    assert (cust["floor_area_m2"].dropna() > 0).all()
    assert (cust["employees"].dropna() >= 0).all()
    assert cust["shifts"].dropna().isin([1, 2, 3]).all()
    assert (cust["peak_demand_kw"] > 0).all()
    applied = cust["applied_capacity_kva"].dropna()
    assert all(is_standard_capacity(float(c)) for c in applied)

    eq = _clean_equipment(history)
    assert (eq["rated_kw"] > 0).all()
    assert (eq["quantity"] >= 1).all()
    assert set(eq["customer_id"]) <= set(history.customers["customer_id"])
    # Fire pumps never run in normal operation.
    fire = eq[eq["category"] == "fire_pump"]
    assert len(fire) > 0
    assert fire["standby"].eq(True).all()


def test_dirty_rows_are_what_the_log_says(history: SyntheticHistory) -> None:
    cust = history.customers
    dup_rows = _dirty(history, "customers.csv", "duplicate_customer_id")
    assert dup_rows
    assert all(
        cust["customer_id"].iloc[list(dup_rows)].isin(cust["customer_id"].drop(sorted(dup_rows)))
    )
    bad_shift = _dirty(history, "customers.csv", "shifts_out_of_range")
    assert not cust["shifts"].iloc[list(bad_shift)].isin([1, 2, 3]).any()

    eq = history.equipment
    rated = pd.to_numeric(eq["rated_kw"], errors="coerce")
    text_rows = set(np.flatnonzero(rated.isna().to_numpy()))
    assert text_rows == _dirty(history, "equipment.csv", "nonnumeric_rated_kw")
    nonpositive = set(np.flatnonzero((rated <= 0).to_numpy()))
    assert nonpositive == _dirty(history, "equipment.csv", "nonpositive_rated_kw")
    orphans = set(np.flatnonzero((~eq["customer_id"].isin(cust["customer_id"])).to_numpy()))
    assert orphans == _dirty(history, "equipment.csv", "orphan_customer_id")


@pytest.mark.parametrize("rate", [0.005, 0.02])
def test_dirty_row_rate_matches_the_configuration(rate: float) -> None:
    h = generate_history(SynthConfig(n=1500, seed=3, dirty_row_rate=rate))
    for file, frame in (("customers.csv", h.customers), ("equipment.csv", h.equipment)):
        share = len(_dirty(h, file)) / len(frame)
        assert share == pytest.approx(rate, rel=0.25), file


def test_no_dirty_rows_when_the_rate_is_zero() -> None:
    h = generate_history(SynthConfig(n=800, seed=3, dirty_row_rate=0.0))
    assert h.dirty_rows.empty
    assert h.customers["customer_id"].is_unique
    assert (pd.to_numeric(h.equipment["rated_kw"]) > 0).all()
    assert set(h.equipment["category"]) <= set(load_catalog().category_codes)


def test_missing_optional_fields_occur_at_small_rates(history: SyntheticHistory) -> None:
    cust = _clean_customers(history)
    for column in ("climate_zone", "floor_area_m2", "employees", "shifts", "applied_capacity_kva"):
        share = cust[column].isna().mean()
        assert 0.005 < share < 0.15, column
    standby_blank = history.equipment["standby"].isna().mean()
    assert 0.03 < standby_blank < 0.2
    names_blank = history.equipment["name"].isna().mean()
    assert 0.03 < names_blank < 0.2


def test_area_only_share_and_floor_area(history: SyntheticHistory) -> None:
    cust = _clean_customers(history)
    with_equipment = set(history.equipment["customer_id"])
    area_only = ~cust["customer_id"].isin(with_equipment)
    assert 0.03 < area_only.mean() < 0.09
    assert cust.loc[area_only, "floor_area_m2"].notna().all()
    buildings = cust["industry"].isin(["office", "retail", "school"])
    assert area_only[buildings].mean() > 1.5 * area_only[~buildings].mean()


def test_equipment_lists_look_like_applications(history: SyntheticHistory) -> None:
    eq = _clean_equipment(history)
    lines = eq.groupby("customer_id").size()
    installed = _installed_running_kw(history)
    small = lines[installed[installed < 150].index]
    large = lines[installed[installed > 3000].index]
    assert 3 <= small.median() <= 8
    assert large.median() >= 15
    assert large.max() >= 30
    spares = eq[(eq["category"] != "fire_pump") & eq["standby"].eq(True)]
    assert {"pump", "air_compressor"} <= set(spares["category"])
    names = eq["name"].dropna()
    chinese = names.str.contains(r"[\u4e00-\u9fff]", regex=True)
    assert chinese.mean() > 0.95
    # Several unit models per category, not one.
    assert eq.loc[eq["category"] == "machine_tool", "rated_kw"].nunique() >= 5


def test_installed_kw_scales_with_floor_area(history: SyntheticHistory) -> None:
    cust = _clean_customers(history).set_index("customer_id")
    installed = _installed_running_kw(history)
    joined = cust.join(installed.rename("installed"), how="inner").dropna(subset=["floor_area_m2"])
    for industry in ("machinery", "office", "plastics"):
        part = joined[joined["industry"] == industry]
        r = np.corrcoef(np.log(part["floor_area_m2"]), np.log(part["installed"]))[0, 1]
        assert 0.6 < r < 0.98, industry


def test_peak_rarely_exceeds_running_installed_kw(history: SyntheticHistory) -> None:
    cust = _clean_customers(history).set_index("customer_id")
    installed = _installed_running_kw(history)
    joined = cust.join(installed.rename("installed"), how="inner")
    above = (joined["peak_demand_kw"] > joined["installed"]).mean()
    assert above < 0.02
    # ...but the peak is a real fraction of it, not a constant.
    ratio = joined["peak_demand_kw"] / joined["installed"]
    assert 0.25 < ratio.median() < 0.7
    assert ratio.std() > 0.1


def test_oracle_tracks_the_peak_without_being_it(history: SyntheticHistory) -> None:
    cust = _clean_customers(history).merge(history.oracle, on="customer_id")
    log_ratio = np.log((cust["peak_demand_kw"] / cust["oracle_peak_kw"]).to_numpy(dtype=float))
    assert abs(log_ratio.mean()) < 0.05
    assert 0.08 < float(np.median(np.abs(log_ratio))) < 0.3
    corr = np.corrcoef(np.log(cust["peak_demand_kw"]), np.log(cust["oracle_peak_kw"]))[0, 1]
    assert corr > 0.8
    # Irreducible noise is real: a sizeable share of peaks sit 20 % or more off the oracle.
    assert (np.abs(log_ratio) > np.log(1.2)).mean() > 0.2


def test_oracle_ignores_the_latent_noise() -> None:
    quiet = generate_history(SynthConfig(n=600, seed=11, noise_sigma=0.05))
    noisy = generate_history(SynthConfig(n=600, seed=11, noise_sigma=0.3))
    pd.testing.assert_frame_equal(quiet.equipment, noisy.equipment)
    pd.testing.assert_frame_equal(quiet.oracle, noisy.oracle)
    assert not quiet.customers["peak_demand_kw"].equals(noisy.customers["peak_demand_kw"])


def _expected_log_uniform(low: float, high: float) -> float:
    return (high * np.log(high) - low * np.log(low)) / (high - low) - 1.0


def test_never_ramps_up_follows_the_documented_defaults(history: SyntheticHistory) -> None:
    # Same seed with ramp_up_scale = 0 consumes the same draws, so the two histories differ
    # only by the ramp-up factor: half the table probabilities (about 5 % mix-weighted),
    # reaching U(0.45, 0.80) of the expected peak.
    full = generate_history(SynthConfig(n=N, seed=SEED, ramp_up_scale=0.0))
    pd.testing.assert_frame_equal(full.equipment, history.equipment)
    peak = history.customers.drop_duplicates("customer_id").set_index("customer_id")
    peak0 = full.customers.drop_duplicates("customer_id").set_index("customer_id")
    ratio = (peak["peak_demand_kw"] / peak0["peak_demand_kw"])[peak0["peak_demand_kw"] > 20]
    lowered = ratio < 0.99
    assert ratio[~lowered].between(0.995, 1.005).all()  # only 0.1 kW rounding
    assert 0.03 < lowered.mean() < 0.07
    assert ratio[lowered].min() > 0.44
    assert ratio[lowered].max() < 0.81
    # The oracle discounts by p_ramp * E[log U(0.45, 0.80)], p_ramp = 0.5 x the table value.
    oracle = history.oracle.set_index("customer_id")["oracle_peak_kw"]
    oracle0 = full.oracle.set_index("customer_id")["oracle_peak_kw"]
    industry = peak0["industry"]
    discount = np.log(oracle / oracle0)[oracle0 > 20]
    for code, table_p in (("data_center", 0.28), ("office", 0.16), ("machinery", 0.08)):
        expected = 0.5 * table_p * _expected_log_uniform(0.45, 0.80)
        part = discount[industry[discount.index] == code]
        assert len(part) > 10, code
        assert np.allclose(part, expected, atol=0.002), code


def test_status_quo_reproduces_todays_oversizing(history: SyntheticHistory) -> None:
    cust = _clean_customers(history).dropna(subset=["applied_capacity_kva"])
    rho = load_rate(cust["peak_demand_kw"].to_numpy(), cust["applied_capacity_kva"].to_numpy())
    assert 0.2 < float(np.median(rho)) < 0.45
    assert (rho < 0.4).mean() > 0.4
    # Some applicants size sensibly.
    assert ((rho >= 0.4) & (rho <= 1.0)).mean() > 0.15


def _read_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    cfg = SynthConfig(n=500, seed=5)
    write_history(generate_history(cfg), tmp_path / "a")
    write_history(generate_history(cfg), tmp_path / "b")
    write_history(generate_history(SynthConfig(n=500, seed=6)), tmp_path / "c")
    a, b, c = (_read_bytes(tmp_path / x) for x in "abc")
    assert set(a) == {"customers.csv", "equipment.csv", "oracle.csv", "dirty_rows.csv"}
    assert a == b
    assert a["customers.csv"] != c["customers.csv"]
    assert a["equipment.csv"] != c["equipment.csv"]


def test_written_files_read_back_as_the_contract_says(tmp_path: Path) -> None:
    h = generate_history(SynthConfig(n=500, seed=5))
    paths = write_history(h, tmp_path)
    text = paths["equipment"].read_text(encoding="utf-8").splitlines()
    assert text[0] == ",".join(EQUIPMENT_COLUMN_NAMES)
    standby = pd.read_csv(paths["equipment"], dtype=str, keep_default_na=False)["standby"]
    assert set(standby) <= {"true", "false", ""}
    assert {"true", "false", ""} <= set(standby)
    customers = pd.read_csv(paths["customers"])
    assert tuple(customers.columns) == CUSTOMER_COLUMN_NAMES
    assert len(customers) == len(h.customers)
    areas = customers["floor_area_m2"].dropna()
    assert (areas == areas.round()).all()
    rated = pd.to_numeric(pd.read_csv(paths["equipment"])["rated_kw"], errors="coerce")
    assert (rated.dropna() == rated.dropna().round(3)).all()


def test_twenty_thousand_customers_have_one_oracle_row_each() -> None:
    # How fast: benchmarks/bench_throughput.py (no wall-clock assert in a test).
    h = generate_history(SynthConfig(n=20_000, seed=1))
    assert h.oracle["customer_id"].nunique() == 20_000


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        SynthConfig(n=0)
    with pytest.raises(ValueError):
        SynthConfig(n=10, dirty_row_rate=0.5)


def test_cli_synth_writes_the_files(tmp_path: Path) -> None:
    from training.cli.app import app

    result = CliRunner().invoke(app, ["synth", "--n", "300", "--seed", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("customers.csv", "equipment.csv", "oracle.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    oracle = pd.read_csv(tmp_path / "oracle.csv")
    assert len(oracle) == 300
    assert "customers.csv" in result.output
