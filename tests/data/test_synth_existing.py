"""Existing customers (增容 / 减容 / 暂停) in the synthetic history and the independent worlds.

What is protected: a history without existing customers stays byte for byte what it was;
with them, the contract's optional columns and ``meter_readings.csv`` follow the contract,
the application types come in the configured shares, readings look like a utility's
export (seasons, demand meters on large customers only, gaps, a zero month, a meter
change, dirty rows that the log names), and the label is the metered peak plus the change.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.contract import CUSTOMER_COLUMN_NAMES, EQUIPMENT_COLUMN_NAMES, is_standard_capacity
from training.synth.existing import DEMAND_METER_MIN_KVA, METER_COLUMNS, plan_changes
from training.synth.history import SynthConfig, SyntheticHistory, generate_history, write_history
from training.synth.worlds import World, small_groups_world, utilisation_world

N = 12_000
SEED = 11
SHARE = 0.4
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# sha256 over customers, equipment, oracle, dirty_rows of SynthConfig(n=300, seed=3),
# taken from the generator before existing customers existed (commit d4a5f3f).
NEW_ONLY_SHA256 = "9eea17cb7c4c0862f691e5debc31fa34c01b014da4de8b23b1d8ffb3348a570f"


@pytest.fixture(scope="module")
def history() -> SyntheticHistory:
    return generate_history(SynthConfig(n=N, seed=SEED, existing_share=SHARE))


def _clean(history: SyntheticHistory, file: str, frame: pd.DataFrame) -> pd.DataFrame:
    log = history.dirty_rows
    dirty = set(log.loc[log["file"] == file, "row_number"].astype(int))
    return frame[~np.isin(np.arange(len(frame)), list(dirty))]


def _defective(history: SyntheticHistory) -> set[str]:
    """Customers whose type or existing capacity was made dirty (the truth is gone)."""
    log = history.dirty_rows
    rows = log.loc[
        log["kind"].isin(["missing_existing_capacity", "unknown_application_type"]), "row_number"
    ]
    return set(history.customers["customer_id"].iloc[rows.astype(int).to_numpy()])


def _customers(history: SyntheticHistory) -> pd.DataFrame:
    # A duplicate follows its original; a bad shifts cell leaves the other fields true.
    c = history.customers.drop_duplicates("customer_id", keep="first")
    return c[~c["customer_id"].isin(_defective(history))]


def _readings(history: SyntheticHistory) -> pd.DataFrame:
    assert history.meter_readings is not None
    r = _clean(history, "meter_readings.csv", history.meter_readings)
    return r[~r["customer_id"].isin(_defective(history))]


def _equipment(history: SyntheticHistory) -> pd.DataFrame:
    eq = _clean(history, "equipment.csv", history.equipment).copy()
    eq = eq[~eq["customer_id"].isin(_defective(history))]
    eq["rated_kw"] = eq["rated_kw"].astype(float)
    return eq


def _hours(period: pd.Series) -> np.ndarray:
    return np.array(
        [calendar.monthrange(int(p[:4]), int(p[5:]))[1] * 24.0 for p in period], dtype=float
    )


def _digest(folder: Path, names: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for name in names:
        h.update((folder / name).read_bytes())
    return h.hexdigest()


# --- Without existing customers nothing changes --------------------------------------


def test_share_zero_is_byte_identical_to_the_generator_before_existing_customers(
    tmp_path: Path,
) -> None:
    paths = write_history(
        generate_history(SynthConfig(n=300, seed=3, existing_share=0.0)), tmp_path
    )
    assert set(paths) == {"customers", "equipment", "oracle", "dirty_rows"}
    assert not (tmp_path / "meter_readings.csv").exists()
    digest = _digest(tmp_path, ("customers.csv", "equipment.csv", "oracle.csv", "dirty_rows.csv"))
    assert digest == NEW_ONLY_SHA256, (
        "existing_share=0 must reproduce the new-applications-only history byte for byte; "
        "if the generator was changed on purpose, take the new hash"
    )


def test_share_zero_has_no_existing_customer_columns() -> None:
    h = generate_history(SynthConfig(n=200, seed=1))
    assert h.meter_readings is None
    assert "application_type" not in h.customers.columns
    assert "change" not in h.equipment.columns


def test_new_applicants_are_the_same_with_or_without_existing_customers() -> None:
    # The existing customers draw from a stream of their own: the others keep their peaks.
    plain = generate_history(SynthConfig(n=1500, seed=4, dirty_row_rate=0.0))
    mixed = generate_history(SynthConfig(n=1500, seed=4, dirty_row_rate=0.0, existing_share=0.5))
    new = (mixed.customers["application_type"] == "new").to_numpy()
    assert 0.4 < new.mean() < 0.6
    for column in ("industry", "floor_area_m2", "applied_capacity_kva", "peak_demand_kw"):
        pd.testing.assert_series_equal(
            plain.customers.loc[new, column], mixed.customers.loc[new, column]
        )
    pd.testing.assert_frame_equal(plain.oracle[new], mixed.oracle[new])
    assert not plain.customers.loc[~new, "peak_demand_kw"].equals(
        mixed.customers.loc[~new, "peak_demand_kw"]
    )


def test_worlds_without_existing_share_are_unchanged() -> None:
    for make in (small_groups_world, utilisation_world):
        plain, zero = make(150, 2), make(150, 2, existing_share=0.0)
        assert plain.meter_readings is None and zero.meter_readings is None
        pd.testing.assert_frame_equal(plain.customers, zero.customers)
        pd.testing.assert_frame_equal(plain.equipment, zero.equipment)
        assert "application_type" not in plain.customers.columns


# --- Columns, types and shares --------------------------------------------------------


def test_columns_are_the_contract_columns_plus_the_optional_ones(
    history: SyntheticHistory,
) -> None:
    base_c = [
        c for c in CUSTOMER_COLUMN_NAMES if c not in ("application_type", "existing_capacity_kva")
    ]
    base_e = [c for c in EQUIPMENT_COLUMN_NAMES if c != "change"]
    assert list(history.customers.columns) == [*base_c, "application_type", "existing_capacity_kva"]
    assert list(history.equipment.columns) == [*base_e, "change"]
    assert history.meter_readings is not None
    assert tuple(history.meter_readings.columns) == METER_COLUMNS


def test_application_types_come_in_the_configured_shares(history: SyntheticHistory) -> None:
    types = _customers(history)["application_type"]
    assert set(types) == {"new", "increase", "reduce", "suspend"}
    existing = types[types != "new"]
    assert abs(len(existing) / len(types) - SHARE) < 0.02
    share = existing.value_counts(normalize=True)
    for code, expected in (("increase", 0.50), ("reduce", 0.35), ("suspend", 0.15)):
        assert abs(share[code] - expected) < 0.03, (code, share[code])


def test_existing_capacity_is_standard_and_only_for_existing_customers(
    history: SyntheticHistory,
) -> None:
    c = _customers(history)
    existing = c["application_type"] != "new"
    assert c.loc[~existing, "existing_capacity_kva"].isna().all()
    kva = c.loc[existing, "existing_capacity_kva"]
    assert kva.notna().all()
    assert all(is_standard_capacity(float(v)) for v in kva)
    # Mostly oversized, a few undersized: the load rate of today's capacity before the change.
    rho = c.loc[existing, "peak_demand_kw"] / (kva * 0.9)
    reduce = c.loc[existing, "application_type"].isin(["reduce", "suspend"])
    assert rho[reduce].median() < 0.4
    assert (rho[reduce] > 1.0).mean() < 0.02
    assert 0.1 < (rho[~reduce] > 1.0).mean() < 0.5  # 增容 applicants outgrow their capacity


def test_change_lines_follow_the_application_type(history: SyntheticHistory) -> None:
    c = _customers(history).set_index("customer_id")
    eq = _equipment(history)
    kind = c.loc[eq["customer_id"], "application_type"].to_numpy()
    change = eq["change"].to_numpy()
    assert (change[kind == "new"] == "add").all()
    assert (change[kind == "increase"] == "add").all()
    assert (change[np.isin(kind, ["reduce", "suspend"])] == "remove").all()
    with_lines = set(history.equipment["customer_id"]) - _defective(history)
    increase = c.index[c["application_type"] == "increase"]
    assert all(cid in with_lines for cid in increase)
    lowering = c.index[c["application_type"].isin(["reduce", "suspend"])]
    listed = np.mean([cid in with_lines for cid in lowering])
    assert 0.15 < listed < 0.5, "most 减容 / 暂停 list no lines, some list removed ones"


def test_an_application_removes_only_what_the_customer_had() -> None:
    # Customer 0: one line of 4 units; customer 1: two lines; customer 2: area-only.
    customer = np.array([0, 1, 1])
    slot = np.array([0, 1, 2])
    quantity = np.array([4, 1, 3])
    standby = np.zeros(3, dtype=bool)
    area_only = np.array([False, False, True])
    for seed in range(40):
        rng = np.random.default_rng(seed)
        plan = plan_changes(
            rng, 1.0, (0.0, 1.0, 0.0), customer, slot, quantity, standby, area_only, 3
        )
        assert (plan.qty_after >= 0).all() and (plan.qty_after <= quantity).all()
        assert (plan.listed_qty[plan.removed] <= quantity[plan.removed]).all()
        for c in (0, 1):
            assert plan.qty_after[customer == c].sum() >= 1, "something keeps running"
        rng = np.random.default_rng(seed)
        plan = plan_changes(
            rng, 1.0, (1.0, 0.0, 0.0), customer, slot, quantity, standby, area_only, 3
        )
        assert plan.kind[2] != 1, "an area-only customer has nothing to add to"
        for c in (0, 1):
            assert plan.qty_before[customer == c].sum() >= 1, "an increase adds to a load"
            assert plan.listed_qty[customer == c].sum() >= 1, "an increase lists what it adds"


# --- Meter readings -------------------------------------------------------------------


def test_readings_are_3_to_12_months_before_the_application(history: SyntheticHistory) -> None:
    c = _customers(history).set_index("customer_id")
    r = _readings(history)
    assert r["period"].map(lambda p: bool(PERIOD.match(p))).all()
    assert (c.loc[r["customer_id"], "application_type"] != "new").all()
    existing = c.index[c["application_type"] != "new"]
    counts = r.groupby("customer_id").size().reindex(existing, fill_value=0)
    assert counts.between(3, 12).all()
    assert (counts == 12).mean() > 0.8
    assert not r.duplicated(["customer_id", "period"]).any()
    month = r["period"].str[:4].astype(int) * 12 + r["period"].str[5:].astype(int)
    span = month.groupby(r["customer_id"]).agg(lambda m: m.max() - m.min())
    assert (span <= 11).all(), "the readings are one year"
    assert (r["energy_kwh"] >= 0).all()
    assert (r["max_demand_kw"].dropna() > 0).all()


def test_demand_meters_only_on_large_customers(history: SyntheticHistory) -> None:
    c = _customers(history).set_index("customer_id")
    r = _readings(history)
    metered = r.groupby("customer_id")["max_demand_kw"].apply(lambda s: s.notna().any())
    kva = c.loc[metered.index, "existing_capacity_kva"]
    assert (kva[metered] >= DEMAND_METER_MIN_KVA).all()
    assert metered[kva >= DEMAND_METER_MIN_KVA].mean() > 0.8
    assert not metered[kva < DEMAND_METER_MIN_KVA].any()


def test_gaps_a_zero_month_and_a_meter_change_are_present(history: SyntheticHistory) -> None:
    r = _readings(history)
    counts = r.groupby("customer_id").size()
    assert 0.05 < (counts < 12).mean() < 0.2
    assert history.meter_events is not None
    events = history.meter_events
    zero = events[events["event"] == "zero_month"]
    change = events[events["event"] == "meter_change"]
    assert len(zero) > 20 and len(change) > 20
    keyed = r.set_index(["customer_id", "period"])["energy_kwh"]
    present = set(keyed.index)
    on_clean_rows = [
        k in present for k in zip(events["customer_id"], events["period"], strict=True)
    ]
    events = events[on_clean_rows]
    zero = events[events["event"] == "zero_month"]
    change = events[events["event"] == "meter_change"]
    assert (keyed.loc[list(zip(zero["customer_id"], zero["period"], strict=True))] == 0).all()
    median = r.groupby("customer_id")["energy_kwh"].median()
    partial = keyed.loc[list(zip(change["customer_id"], change["period"], strict=True))].to_numpy()
    assert np.mean(partial < 0.85 * median.loc[change["customer_id"]].to_numpy()) > 0.8
    # Outside the drawn events, a zero month is rare (only a demand-free month at 0 kWh).
    assert (r["energy_kwh"] == 0).sum() == len(zero)


def test_energy_follows_seasons_the_week_and_shifts(history: SyntheticHistory) -> None:
    c = _customers(history).set_index("customer_id")
    r = _readings(history).copy()
    r["month"] = r["period"].str[5:].astype(int)
    r["rel"] = r["energy_kwh"] / r.groupby("customer_id")["energy_kwh"].transform("median")
    who = c.loc[r["customer_id"]]
    hot = who["climate_zone"].fillna("").str.startswith("hot").to_numpy()
    cooled = who["industry"].isin(["retail", "office", "hotel"]).to_numpy()
    by_month = r[hot & cooled].groupby("month")["rel"].median()
    assert by_month[[7, 8]].mean() > 1.3 * by_month[[3, 4, 11]].mean(), "summer cooling"
    factory = r[who["industry"].isin(["machinery", "woodworking", "textile"]).to_numpy()]
    by_month = factory.groupby("month")["rel"].median()
    assert by_month[2] < 0.85 * by_month[[3, 4, 5]].mean(), "Spring Festival and short February"
    # Load factor (annual energy / (8,760 h x metered maximum)) rises with shifts.
    g = r.groupby("customer_id").agg(
        e=("energy_kwh", "sum"), n=("energy_kwh", "size"), md=("max_demand_kw", "max")
    )
    g = g[(g["n"] == 12) & g["md"].notna()]
    lf = g["e"] / 8760.0 / g["md"]
    production = c.loc[g.index, "industry"].isin(
        ["machinery", "plastics", "textile", "electronics"]
    )
    shifts = c.loc[g.index, "shifts"]
    one, three = lf[production & (shifts == 1)].median(), lf[production & (shifts == 3)].median()
    assert one < 0.32 < 0.45 < three


def test_clean_energy_stays_below_what_the_capacity_delivers_flat_out(
    history: SyntheticHistory,
) -> None:
    c = _customers(history).set_index("customer_id")
    r = _readings(history)
    # flat out at the compensated power factor 0.9: kVA x 0.9 x hours
    flat_out = (
        c.loc[r["customer_id"], "existing_capacity_kva"].to_numpy() * 0.9 * _hours(r["period"])
    )
    assert (r["energy_kwh"].to_numpy() <= flat_out).all()
    # and below the month's maximum demand running all month
    md = r["max_demand_kw"].to_numpy()
    has = ~np.isnan(md)
    assert (r["energy_kwh"].to_numpy()[has] <= md[has] * _hours(r["period"])[has] * 1.1).all()


def test_dirty_meter_rows_are_what_the_log_says(history: SyntheticHistory) -> None:
    assert history.meter_readings is not None
    r = history.meter_readings
    log = history.dirty_rows[history.dirty_rows["file"] == "meter_readings.csv"]
    kinds = set(log["kind"])
    assert kinds == {
        "negative_energy_kwh",
        "bad_period",
        "readings_for_new_customer",
        "energy_above_capacity",
    }
    c = _customers(history).set_index("customer_id")
    for kind, rows in log.groupby("kind")["row_number"]:
        part = r.iloc[rows.astype(int).to_numpy()]
        if kind == "negative_energy_kwh":
            assert (part["energy_kwh"] < 0).all()
        elif kind == "bad_period":
            assert not part["period"].map(lambda p: bool(PERIOD.match(p))).any()
        elif kind == "readings_for_new_customer":
            assert (c.loc[part["customer_id"], "application_type"] == "new").all()
        else:
            part = part[part["customer_id"].isin(c.index)]  # capacity not blanked too
            kva = c.loc[part["customer_id"], "existing_capacity_kva"].to_numpy()
            assert (part["energy_kwh"].to_numpy() > kva * _hours(part["period"])).all()
    bad = history.dirty_rows[history.dirty_rows["file"] == "customers.csv"]
    blank = history.customers.iloc[
        bad.loc[bad["kind"] == "missing_existing_capacity", "row_number"]
    ]
    assert len(blank) > 0 and blank["existing_capacity_kva"].isna().all()
    assert (blank["application_type"] != "new").all()
    slips = history.customers.iloc[bad.loc[bad["kind"] == "unknown_application_type", "row_number"]]
    assert len(slips) > 0
    assert not slips["application_type"].isin(["new", "increase", "reduce", "suspend"]).any()
    flagged = set(bad["row_number"].astype(int))
    unflagged = history.customers[~np.isin(np.arange(len(history.customers)), list(flagged))]
    assert unflagged["application_type"].isin(["new", "increase", "reduce", "suspend"]).all()
    existing = unflagged["application_type"] != "new"
    assert unflagged.loc[existing, "existing_capacity_kva"].notna().all()
    removals = history.dirty_rows[history.dirty_rows["kind"] == "remove_larger_than_capacity"]
    assert len(removals) > 0
    eq = history.equipment.iloc[removals["row_number"].astype(int).to_numpy()]
    kw = eq["rated_kw"].astype(float) * eq["quantity"].astype(float)
    assert (eq["change"] == "remove").all()
    assert (kw.to_numpy() > 4 * c.loc[eq["customer_id"], "existing_capacity_kva"].to_numpy()).all()


# --- The label: the metered peak plus the change ----------------------------------------


def test_label_is_the_metered_peak_plus_the_change(history: SyntheticHistory) -> None:
    c = _customers(history).set_index("customer_id")
    r = _readings(history)
    eq = _equipment(history)
    g = r.groupby("customer_id").agg(n=("period", "size"), md=("max_demand_kw", "max"))
    g = g[(g["n"] == 12) & g["md"].notna()]
    ratio = c.loc[g.index, "peak_demand_kw"] / g["md"]
    kind = c.loc[g.index, "application_type"]
    listed = g.index.isin(eq["customer_id"])
    # 减容 without lines: the peak after ≈ the metered maximum (growth and reading noise).
    same = ratio[(kind == "reduce") & ~listed]
    assert abs(np.log(same).median() + 0.02) < 0.04
    assert (same.between(0.7, 1.35)).mean() > 0.97
    # 增容: above the metered maximum, but by less than the added nameplate (diversity).
    added = eq[eq["change"] == "add"].assign(kw=lambda d: d["rated_kw"] * d["quantity"])
    added_kw = (
        added[~added["standby"].fillna(False).astype(bool)].groupby("customer_id")["kw"].sum()
    )
    inc = g.index[(kind == "increase").to_numpy()]
    peak = c.loc[inc, "peak_demand_kw"]
    assert (peak > g.loc[inc, "md"]).mean() > 0.85
    # Where the change is large against the growth noise, it adds a share of its nameplate.
    big = inc[(added_kw.reindex(inc).fillna(0) > 0.3 * g.loc[inc, "md"]).to_numpy()]
    share = (c.loc[big, "peak_demand_kw"] - g.loc[big, "md"]) / added_kw.loc[big]
    assert len(big) > 50
    assert (share < 1.0).mean() > 0.95
    assert 0.1 < share.median() < 0.7
    # 减容 / 暂停 with removed lines: lower than the meter, by less than the removed nameplate.
    removed = eq[eq["change"] == "remove"].assign(kw=lambda d: d["rated_kw"] * d["quantity"])
    removed_kw = removed.groupby("customer_id")["kw"].sum()
    low = g.index[(kind == "reduce").to_numpy() & listed]
    assert (c.loc[low, "peak_demand_kw"] < g.loc[low, "md"]).mean() > 0.7
    big = low[(removed_kw.reindex(low).fillna(0) > 0.3 * g.loc[low, "md"]).to_numpy()]
    share = (g.loc[big, "md"] - c.loc[big, "peak_demand_kw"]) / removed_kw.loc[big]
    assert len(big) > 20
    assert (share < 1.0).mean() > 0.95
    assert 0.05 < share.median() < 0.7


def test_oracle_is_the_expectation_of_the_existing_label(history: SyntheticHistory) -> None:
    c = _customers(history).set_index("customer_id")
    oracle = history.oracle.set_index("customer_id")["oracle_peak_kw"]
    for kind, (mu, sigma) in {
        "increase": (0, 0.08),
        "reduce": (0, 0.08),
        "suspend": (0, 0.12),
    }.items():
        ids = c.index[c["application_type"] == kind]
        log_ratio = np.log(c.loc[ids, "peak_demand_kw"] / oracle.loc[ids])
        assert abs(log_ratio.median() - mu) < 0.02, kind
        assert abs(log_ratio.std() - sigma) < 0.03, kind


# --- Determinism, files, CLI ------------------------------------------------------------


def test_same_seed_same_bytes_with_existing_customers(tmp_path: Path) -> None:
    files = ("customers.csv", "equipment.csv", "oracle.csv", "dirty_rows.csv", "meter_readings.csv")
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        write_history(
            generate_history(SynthConfig(n=400, seed=seed, existing_share=0.3)), tmp_path / name
        )
    a, b, c = (_digest(tmp_path / x, files) for x in "abc")
    assert a == b
    assert a != c
    text = (tmp_path / "a" / "meter_readings.csv").read_text(encoding="utf-8").splitlines()
    assert text[0] == ",".join(METER_COLUMNS)


def test_cli_synth_writes_meter_readings_with_an_existing_share(tmp_path: Path) -> None:
    from training.cli.app import app

    result = CliRunner().invoke(
        app,
        ["synth", "--n", "300", "--seed", "2", "--existing-share", "0.3", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    readings = pd.read_csv(tmp_path / "meter_readings.csv")
    assert len(readings) > 0
    assert "meter_readings.csv" in result.output
    customers = pd.read_csv(tmp_path / "customers.csv")
    assert set(customers["application_type"]) == {"new", "increase", "reduce", "suspend"}


def test_config_rejects_a_nonsense_type_mix() -> None:
    with pytest.raises(ValueError, match="existing_type_share"):
        SynthConfig(existing_share=0.2, existing_type_share=(-0.1, 0.5, 0.6))
    with pytest.raises(ValueError):
        SynthConfig(existing_share=1.5)


# --- The independent worlds -------------------------------------------------------------


@pytest.fixture(scope="module", params=["small_groups", "utilisation"])
def world(request: pytest.FixtureRequest) -> tuple[str, World]:
    make = {"small_groups": small_groups_world, "utilisation": utilisation_world}[request.param]
    return request.param, make(2500, 9, existing_share=SHARE)


def test_world_existing_customers_follow_the_contract(world: tuple[str, World]) -> None:
    name, w = world
    c = w.customers.set_index("customer_id")
    assert w.meter_readings is not None
    assert list(w.meter_readings.columns) == list(METER_COLUMNS)
    types = c["application_type"]
    assert abs((types != "new").mean() - SHARE) < 0.04
    existing = types != "new"
    assert c.loc[existing, "existing_capacity_kva"].map(is_standard_capacity).all()
    assert c.loc[~existing, "existing_capacity_kva"].isna().all()
    kind = c.loc[w.equipment["customer_id"], "application_type"].to_numpy()
    change = w.equipment["change"].to_numpy()
    assert (change[np.isin(kind, ["new", "increase"])] == "add").all()
    assert (change[np.isin(kind, ["reduce", "suspend"])] == "remove").all()
    r = w.meter_readings
    assert (c.loc[r["customer_id"], "application_type"] != "new").all()
    counts = r.groupby("customer_id").size().reindex(c.index[existing], fill_value=0)
    assert counts.between(3, 12).all() and (counts < 12).any()
    assert (r["energy_kwh"] >= 0).all() and (r["energy_kwh"] == 0).any()
    kva = c.loc[r["customer_id"], "existing_capacity_kva"].to_numpy()
    assert (r["energy_kwh"].to_numpy() <= kva * 0.9 * _hours(r["period"])).all()
    assert r["period"].map(lambda p: bool(PERIOD.match(p))).all()
    metered = r.groupby("customer_id")["max_demand_kw"].apply(lambda s: s.notna().any())
    threshold = {"small_groups": 315.0, "utilisation": 500.0}[name]
    kva = c.loc[metered.index, "existing_capacity_kva"]
    assert (kva[metered] >= threshold).all() and metered.any()


def test_world_label_is_the_metered_peak_plus_the_change(world: tuple[str, World]) -> None:
    _, w = world
    assert w.meter_readings is not None
    c = w.customers.set_index("customer_id")
    g = w.meter_readings.groupby("customer_id").agg(
        n=("period", "size"), md=("max_demand_kw", "max")
    )
    g = g[(g["n"] == 12) & g["md"].notna()]
    kind = c.loc[g.index, "application_type"]
    listed = g.index.isin(w.equipment["customer_id"])
    ratio = c.loc[g.index, "peak_demand_kw"] / g["md"]
    same = ratio[(kind == "reduce") & ~listed]
    assert len(same) > 20
    assert 0.85 < same.median() < 1.1
    inc = ratio[kind == "increase"]
    assert (inc > 1.0).mean() > 0.7


def test_world_split_keeps_readings_with_their_customers(world: tuple[str, World]) -> None:
    _, w = world
    first, rest = w.split(1000)
    assert w.meter_readings is not None
    assert first.meter_readings is not None and rest.meter_readings is not None
    assert set(first.meter_readings["customer_id"]) <= set(first.customers["customer_id"])
    assert set(rest.meter_readings["customer_id"]) <= set(rest.customers["customer_id"])
    assert len(first.meter_readings) + len(rest.meter_readings) == len(w.meter_readings)


def test_world_writes_meter_readings_and_repeats_itself(tmp_path: Path) -> None:
    for make in (small_groups_world, utilisation_world):
        a = make(300, 4, existing_share=0.3).write(tmp_path / f"{make.__name__}-a")
        b = make(300, 4, existing_share=0.3).write(tmp_path / f"{make.__name__}-b")
        files = ("customers.csv", "equipment.csv", "oracle.csv", "meter_readings.csv")
        assert _digest(a, files) == _digest(b, files)
        plain = make(300, 4).write(tmp_path / f"{make.__name__}-plain")
        assert not (plain / "meter_readings.csv").exists()
