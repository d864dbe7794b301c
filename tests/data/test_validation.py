"""Loading and validation of a utility's history: every broken row named, clean rows typed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors
import pytest

from features.catalog import Industry, load_catalog
from features.validation import (
    CLEAN_CUSTOMERS_SCHEMA,
    CLEAN_EQUIPMENT_SCHEMA,
    FLAG_COLUMNS,
    HISTORY_REJECT_COLUMNS,
    ContractError,
    ValidatedHistory,
    load_history,
    validate_frames,
)

# Line numbers in the comments are the spreadsheet row numbers (header = row 1).
CUSTOMER_LINES = [
    "customer_id,industry,climate_zone,floor_area_m2,employees,shifts,applied_capacity_kva,peak_demand_kw,notes",
    "C001,machinery,cold,1000,50,2,400,50,ok",  # 2 valid, 2 rejected equipment rows -> flag
    "C002,food,,,,,,,area only",  # 3 valid, everything optional empty
    "C003,,mild,500,10,1,100,40,",  # 4 empty industry
    "C004,machinary,,500,10,1,100,40,",  # 5 unknown industry -> did you mean 'machinery'
    "C005,food,cold,abc,10,1,100,40,",  # 6 non-numeric floor area
    "C006,food,,-5,10,1,100,40,",  # 7 floor area <= 0
    "C007,food,,100,-1,1,100,40,",  # 8 employees < 0
    "C008,food,,100,10,4,100,40,",  # 9 shifts > 3
    "C009,food,,100,10,2,0,40,",  # 10 applied capacity <= 0
    "C010,food,,100,10,2,100,0,",  # 11 peak <= 0
    "C011,food,arctic,100,10,2,100,40,",  # 12 unknown climate zone, no suggestion
    "C012,food,,100,10,2,100,40,",  # 13 duplicate id
    "C012,retail,,200,10,2,100,40,",  # 14 duplicate id
    "C013,machinery,cold,200,5,3,5000,7000,",  # 15 valid; peak/density/rejected-row flags (30 kW/m²: under the limit)
    "C014,office,mild,200,100,1,250,,",  # 16 valid without a label (100 W/m², in range)
    "C015,food,,100,10,2.5,100,40,",  # 17 shifts not whole
    "C016,food,,100,10,2,100,7.5kw,",  # 18 non-numeric peak
]

EQUIPMENT_LINES = [
    "customer_id,category,rated_kw,quantity,standby,name",
    "C001,machine_tool,7.5,10,false,数控车床 CK6140",  # 2 valid
    "C001,pump,15,2,是,备用水泵",  # 3 valid standby
    "C001,machine-tool,7.5,1,,",  # 4 unknown category -> did you mean 'machine_tool'
    "C001,fan,7.5kw,1,,",  # 5 non-numeric rating
    "C001,fan,0,1,,",  # 6 rating <= 0
    "C001,fan,1,0,,",  # 7 quantity < 1
    "C001,fan,1,1.5,,",  # 8 quantity not whole
    "C001,fan,1,1,maybe,",  # 9 invalid boolean
    "C999,fan,1,1,,",  # 10 unknown customer
    "C012,fan,1,1,,",  # 11 customer rejected: duplicate
    "C003,fan,1,1,,",  # 12 customer rejected: invalid row
    ",fan,1,1,,",  # 13 empty customer id
    "C013,induction_furnace,6000,1,no,",  # 14 valid, rating over 5,000 kW
    "",  # 15 blank line: skipped, row numbers below keep counting
    "C013,fan,,1,,",  # 16 empty rating
    "C014,office_sockets,20,1,0,",  # 17 valid (rejected with require_label)
    "C001,fan,2,1,YES,",  # 18 valid, standby case-insensitive
    "C001,fan,1,1,,",  # 19 valid, empty standby = false
    "C002,pump,-3,1,,",  # 20 rating <= 0: C002 is kept, flagged, with no equipment
]

# (file, row, column) -> reason (exact) or reason prefix ending in '...'
EXPECTED_REJECTS: dict[tuple[str, int, str], str] = {
    ("customers", 4, "industry"): "industry is required but empty",
    ("customers", 5, "industry"): "unknown industry 'machinary'; did you mean 'machinery'?",
    ("customers", 6, "floor_area_m2"): "floor_area_m2 is not a number...",
    ("customers", 7, "floor_area_m2"): "floor_area_m2 must be > 0",
    ("customers", 8, "employees"): "employees must be >= 0",
    ("customers", 9, "shifts"): "shifts must be between 1 and 3",
    ("customers", 10, "applied_capacity_kva"): "applied_capacity_kva must be > 0",
    ("customers", 11, "peak_demand_kw"): "peak_demand_kw must be > 0",
    ("customers", 12, "climate_zone"): "unknown climate_zone 'arctic'; expected one of...",
    ("customers", 13, "customer_id"): "duplicate customer_id...",
    ("customers", 14, "customer_id"): "duplicate customer_id...",
    ("customers", 17, "shifts"): "shifts must be a whole number",
    ("customers", 18, "peak_demand_kw"): "peak_demand_kw is not a number...",
    ("equipment", 4, "category"): "unknown category 'machine-tool'; did you mean 'machine_tool'?",
    ("equipment", 5, "rated_kw"): "rated_kw is not a number...",
    ("equipment", 6, "rated_kw"): "rated_kw must be > 0",
    ("equipment", 7, "quantity"): "quantity must be >= 1",
    ("equipment", 8, "quantity"): "quantity must be a whole number",
    ("equipment", 9, "standby"): "standby must be a boolean...",
    ("equipment", 10, "customer_id"): "unknown customer...",
    ("equipment", 11, "customer_id"): "customer rejected: duplicate customer_id...",
    ("equipment", 12, "customer_id"): "customer rejected: its customers row is invalid...",
    ("equipment", 13, "customer_id"): "customer_id is required but empty",
    ("equipment", 16, "rated_kw"): "rated_kw is required but empty",
    ("equipment", 20, "rated_kw"): "rated_kw must be > 0",
}

VALID_CUSTOMERS = ["C001", "C002", "C013", "C014"]
VALID_EQUIPMENT_ROWS = [2, 3, 14, 17, 18, 19]


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


@pytest.fixture
def broken_files(tmp_path: Path) -> tuple[Path, Path]:
    """A customers/equipment pair with one broken row of each kind at known row numbers."""
    return (
        _write(tmp_path / "customers.csv", CUSTOMER_LINES),
        _write(tmp_path / "equipment.csv", EQUIPMENT_LINES),
    )


@pytest.fixture
def history(broken_files: tuple[Path, Path]) -> ValidatedHistory:
    # Row-level checks and flags: keep the customers whose lines were rejected (the default
    # rejects them too; tests/data/test_incomplete_customers.py covers that).
    return load_history(*broken_files, drop_incomplete_customers=False)


def _matches(reason: str, expected: str) -> bool:
    if expected.endswith("..."):
        return reason.startswith(expected[:-3])
    return reason == expected


def _reject_map(history: ValidatedHistory) -> dict[tuple[str, int, str], str]:
    rejects = history.rejects
    return {
        (f, int(r), c): reason
        for f, r, c, reason in zip(
            rejects["file"],
            rejects["row_number"],
            rejects["column"],
            rejects["reason"],
            strict=True,
        )
    }


# ------------------------------------------------------------------- rejects


def test_every_broken_row_is_reported_with_row_column_and_reason(
    history: ValidatedHistory,
) -> None:
    found = _reject_map(history)
    assert set(found) == set(EXPECTED_REJECTS), (
        f"missing: {sorted(set(EXPECTED_REJECTS) - set(found))}; "
        f"unexpected: {sorted(set(found) - set(EXPECTED_REJECTS))}"
    )
    wrong = {
        key: (found[key], want)
        for key, want in EXPECTED_REJECTS.items()
        if not _matches(found[key], want)
    }
    assert not wrong
    assert len(history.rejects) == len(EXPECTED_REJECTS)  # one line per problem, no repeats
    assert list(history.rejects.columns) == list(HISTORY_REJECT_COLUMNS)


def test_rejects_carry_the_raw_value_and_customer_id(history: ValidatedHistory) -> None:
    rejects = history.rejects.set_index(["file", "row_number", "column"])
    assert rejects.loc[("equipment", 5, "rated_kw"), "value"] == "7.5kw"
    assert rejects.loc[("equipment", 5, "rated_kw"), "customer_id"] == "C001"
    assert rejects.loc[("customers", 6, "floor_area_m2"), "value"] == "abc"
    assert rejects.loc[("equipment", 10, "customer_id"), "value"] == "C999"
    assert rejects.loc[("equipment", 4, "category"), "value"] == "machine-tool"


def test_nearest_code_suggestion(history: ValidatedHistory) -> None:
    reasons = set(history.rejects["reason"])
    assert "unknown category 'machine-tool'; did you mean 'machine_tool'?" in reasons
    assert "unknown industry 'machinary'; did you mean 'machinery'?" in reasons


def test_duplicates_reject_every_row_and_their_equipment(history: ValidatedHistory) -> None:
    dup = history.rejects[history.rejects["customer_id"] == "C012"]
    assert sorted(zip(dup["file"], dup["row_number"], strict=True)) == [
        ("customers", 13),
        ("customers", 14),
        ("equipment", 11),
    ]
    assert "C012" not in set(history.customers["customer_id"])
    assert "C012" not in set(history.equipment["customer_id"])


def test_unknown_customer_is_told_apart_from_rejected_customer(history: ValidatedHistory) -> None:
    found = _reject_map(history)
    assert found[("equipment", 10, "customer_id")].startswith("unknown customer")
    assert found[("equipment", 12, "customer_id")].startswith("customer rejected")
    assert found[("equipment", 11, "customer_id")].startswith("customer rejected")


def test_require_label_rejects_unlabelled_customer_and_its_equipment(
    broken_files: tuple[Path, Path],
) -> None:
    history = load_history(*broken_files, require_label=True, drop_incomplete_customers=False)
    found = _reject_map(history)
    assert found[("customers", 3, "peak_demand_kw")].startswith("peak_demand_kw is required")
    assert found[("customers", 16, "peak_demand_kw")].startswith("peak_demand_kw is required")
    assert found[("equipment", 17, "customer_id")].startswith("customer rejected")
    assert sorted(history.customers["customer_id"]) == ["C001", "C013"]
    assert history.customers["peak_demand_kw"].notna().all()
    # Without require_label the same rows are kept.
    assert ("customers", 16, "peak_demand_kw") not in _reject_map(load_history(*broken_files))


# ------------------------------------------------------------------- clean frames


def test_valid_rows_load_with_contract_dtypes(history: ValidatedHistory) -> None:
    customers, equipment = history.customers, history.equipment
    assert sorted(customers["customer_id"]) == VALID_CUSTOMERS
    assert len(equipment) == len(VALID_EQUIPMENT_ROWS)
    assert isinstance(customers["customer_id"].dtype, pd.StringDtype)
    assert isinstance(customers["industry"].dtype, pd.StringDtype)
    assert isinstance(customers["climate_zone"].dtype, pd.StringDtype)
    for column in (
        "floor_area_m2",
        "employees",
        "shifts",
        "applied_capacity_kva",
        "peak_demand_kw",
    ):
        assert customers[column].dtype == np.float64, column
    assert equipment["rated_kw"].dtype == np.float64
    assert equipment["quantity"].dtype == np.int64
    assert equipment["standby"].dtype == bool
    assert isinstance(equipment["name"].dtype, pd.StringDtype)

    c002 = customers.set_index("customer_id").loc["C002"]
    assert pd.isna(c002["climate_zone"])
    assert np.isnan(c002["floor_area_m2"]) and np.isnan(c002["employees"])
    c001 = customers.set_index("customer_id").loc["C001"]
    assert c001["shifts"] == 2.0 and c001["floor_area_m2"] == 1000.0

    c001_eq = equipment[equipment["customer_id"] == "C001"]
    assert c001_eq["standby"].tolist() == [False, True, True, False]
    assert c001_eq["quantity"].tolist() == [10, 2, 1, 1]
    assert c001_eq["name"].tolist()[:2] == ["数控车床 CK6140", "备用水泵"]
    assert c001_eq["name"].tolist()[2:] == ["", ""]
    CLEAN_CUSTOMERS_SCHEMA.validate(customers)
    CLEAN_EQUIPMENT_SCHEMA.validate(equipment)


def test_area_only_customer_is_kept_without_equipment(history: ValidatedHistory) -> None:
    assert "C002" in set(history.customers["customer_id"])
    assert "C002" not in set(history.equipment["customer_id"])


def test_clean_schemas_refuse_wrong_dtypes(history: ValidatedHistory) -> None:
    bad = history.equipment.assign(quantity=history.equipment["quantity"].astype(float))
    with pytest.raises(pandera.errors.SchemaError):
        CLEAN_EQUIPMENT_SCHEMA.validate(bad)
    objects = history.customers.assign(customer_id=history.customers["customer_id"].astype(object))
    with pytest.raises(pandera.errors.SchemaError):
        CLEAN_CUSTOMERS_SCHEMA.validate(objects)


# ------------------------------------------------------------------- flags


def test_flags_are_reported_and_rows_kept(history: ValidatedHistory) -> None:
    flags = history.flags
    assert list(flags.columns) == list(FLAG_COLUMNS)
    got = set(
        zip(flags["file"], flags["row_number"], flags["customer_id"], flags["flag"], strict=True)
    )
    assert ("equipment", 14, "C013", "rating_over_5000kw") in got
    assert ("customers", 15, "C013", "peak_above_installed") in got
    assert ("customers", 15, "C013", "equipment_row_rejected") in got
    assert ("customers", 2, "C001", "equipment_row_rejected") in got
    # Flagged rows stay in the clean frames.
    assert (history.equipment["rated_kw"] == 6000.0).any()
    assert "C013" in set(history.customers["customer_id"])
    # C001 peaks at 50 kW under 78 kW installed: no peak flag. C002 has no valid equipment
    # (area-only now) so only its rejected row is flagged, not its peak or density.
    assert ("customers", 2, "C001", "peak_above_installed") not in got
    assert flags.loc[flags["customer_id"] == "C002", "flag"].tolist() == ["equipment_row_rejected"]
    assert not (flags["customer_id"] == "C014").any()


def test_equipment_row_rejected_flag_lists_the_rejected_rows(history: ValidatedHistory) -> None:
    flag = history.flags[
        (history.flags["customer_id"] == "C001")
        & (history.flags["flag"] == "equipment_row_rejected")
    ]
    assert len(flag) == 1
    reason = flag["reason"].iloc[0]
    assert reason.startswith("6 equipment rows rejected (equipment row 4, 5, 6, 7, 8, 9)")


def test_density_flag_from_the_packaged_catalog(history: ValidatedHistory) -> None:
    extra = load_catalog().industries["machinery"].extra
    if "installed_w_m2_low" not in extra or "installed_w_m2_high" not in extra:
        pytest.skip("industries.csv has no installed_w_m2_low/high columns yet")
    low, high = float(extra["installed_w_m2_low"]), float(extra["installed_w_m2_high"])
    # C013: 6,000 kW on 100 m^2 = 60,000 W/m^2; C001: 78 kW on 1,000 m^2 = 78 W/m^2.
    assert not low <= 60_000 <= high
    assert low <= 78 <= high
    flags = history.flags[history.flags["flag"] == "density_outside_industry_range"]
    assert flags["customer_id"].tolist() == ["C013"]
    assert flags["row_number"].tolist() == [15]


def test_density_flag_with_an_injected_range() -> None:
    catalog = load_catalog()
    industries = {
        code: Industry(
            code,
            ind.name_zh,
            ind.name_en,
            {"installed_w_m2_low": "10", "installed_w_m2_high": "20"},
        )
        for code, ind in catalog.industries.items()
    }
    custom = replace(catalog, industries=industries)
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "industry": ["food", "food", "food"],
            "floor_area_m2": ["1000", "1000", ""],
        }
    )
    equipment = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "category": ["fan", "fan", "fan"],
            "rated_kw": ["15", "100", "100"],  # 15 W/m2 inside, 100 W/m2 outside, no area
            "quantity": ["1", "1", "1"],
        }
    )
    history = validate_frames(customers, equipment, catalog=custom)
    flagged = history.flags.loc[history.flags["flag"] == "density_outside_industry_range"]
    assert flagged["customer_id"].tolist() == ["B"]
    # Without the range columns the flag is skipped silently.
    bare = replace(
        catalog,
        industries={c: replace(i, extra={}) for c, i in catalog.industries.items()},
    )
    assert validate_frames(customers, equipment, catalog=bare).flags.empty


# ------------------------------------------------------------------- report


def test_summary_counts_and_report_files(history: ValidatedHistory, tmp_path: Path) -> None:
    paths = history.write_report(tmp_path / "report")
    assert {p.name for p in paths.values()} == {"rejects.csv", "flags.csv", "rejects_summary.txt"}

    rejects = pd.read_csv(paths["rejects"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(rejects.columns) == list(HISTORY_REJECT_COLUMNS)
    assert len(rejects) == len(EXPECTED_REJECTS)
    assert "7.5kw" in set(rejects["value"])
    flags = pd.read_csv(paths["flags"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(flags.columns) == list(FLAG_COLUMNS)
    assert len(flags) == len(history.flags)

    lines = paths["summary"].read_text(encoding="utf-8").splitlines()
    reject_lines = [line for line in lines if " rejected: " in line]
    distinct = history.rejects.groupby(["file", "reason"])["row_number"].nunique()
    assert len(reject_lines) == len(distinct)  # one line per reason
    for (file, reason), n in distinct.items():
        noun = "row" if n == 1 else "rows"
        assert f"{file}: {n} {noun} rejected: {reason}" in reject_lines
    assert "equipment: 2 rows rejected: rated_kw must be > 0" in lines
    assert (
        "customers: 2 rows rejected: duplicate customer_id: every row sharing it is rejected"
        in (lines)
    )
    assert "customers: column 'notes' ignored: not in the contract" in lines
    assert "customers: 17 rows read, 4 valid, 13 rejected, 3 flagged" in lines
    assert "equipment: 19 rows read, 6 valid, 12 rejected, 1 flagged" in lines
    assert "equipment: 1 blank row skipped" in lines


def test_summary_frame_per_file_per_reason(history: ValidatedHistory) -> None:
    summary = history.summary()
    assert list(summary.columns) == ["file", "kind", "reason", "rows"]
    row = summary[
        (summary["file"] == "equipment")
        & (summary["kind"] == "rejected")
        & (summary["reason"] == "rated_kw must be > 0")
    ]
    assert row["rows"].tolist() == [2]
    flagged = summary[summary["kind"] == "flagged"].set_index(["file", "reason"])["rows"]
    assert flagged[("customers", "equipment_row_rejected")] == 3
    assert flagged[("equipment", "rating_over_5000kw")] == 1
    assert ("customers", "ignored_column", "notes") in set(
        zip(summary["file"], summary["kind"], summary["reason"], strict=True)
    )


# ------------------------------------------------------------------- formats and file errors


def test_bom_encoded_csv_loads_like_plain_utf8(tmp_path: Path, history: ValidatedHistory) -> None:
    customers = _write(tmp_path / "c.csv", CUSTOMER_LINES, encoding="utf-8-sig")
    equipment = _write(tmp_path / "e.csv", EQUIPMENT_LINES, encoding="utf-8-sig")
    assert customers.read_bytes().startswith(b"\xef\xbb\xbf")
    bom = load_history(customers, equipment, drop_incomplete_customers=False)
    pd.testing.assert_frame_equal(bom.customers, history.customers)
    pd.testing.assert_frame_equal(bom.equipment, history.equipment)
    pd.testing.assert_frame_equal(bom.rejects, history.rejects)


def test_parquet_input_with_native_dtypes(tmp_path: Path) -> None:
    customers = pd.DataFrame(
        {
            "customer_id": ["P1", "P2", "P3"],
            "industry": ["food", "office", "food"],
            "climate_zone": ["cold", None, "mild"],
            "floor_area_m2": [100.0, np.nan, -1.0],
            "employees": [10.0, np.nan, 3.0],
            "shifts": pd.array([2, None, 1], dtype="Int64"),
            "peak_demand_kw": [20.5, 30.0, 10.0],
        }
    )
    equipment = pd.DataFrame(
        {
            "customer_id": ["P1", "P1", "P2"],
            "category": ["fan", "pump", "lighting"],
            "rated_kw": [5.5, 11.0, 0.0],
            "quantity": [2, 1, 3],
            "standby": [False, True, False],
            "name": ["风机", None, "灯"],
        }
    )
    customers.to_parquet(tmp_path / "customers.parquet")
    equipment.to_parquet(tmp_path / "equipment.parquet")
    history = load_history(
        tmp_path / "customers.parquet",
        tmp_path / "equipment.parquet",
        drop_incomplete_customers=False,
    )
    assert history.customers["customer_id"].tolist() == ["P1", "P2"]
    assert history.customers["shifts"].tolist()[0] == 2.0
    assert np.isnan(history.customers["shifts"].tolist()[1])
    assert history.equipment["standby"].tolist() == [False, True]
    assert history.equipment["name"].tolist() == ["风机", ""]
    assert history.equipment["quantity"].dtype == np.int64
    assert set(zip(history.rejects["row_number"], history.rejects["column"], strict=True)) == {
        (4, "floor_area_m2"),  # P3
        (4, "rated_kw"),  # P2's lighting row
    }


def test_missing_required_column_is_a_contract_error(tmp_path: Path) -> None:
    customers = _write(tmp_path / "c.csv", CUSTOMER_LINES)
    lines = [
        ",".join(p for i, p in enumerate(line.split(",")) if i != 2) for line in EQUIPMENT_LINES
    ]
    equipment = _write(tmp_path / "e.csv", lines)
    with pytest.raises(ContractError) as info:
        load_history(customers, equipment)
    message = str(info.value)
    assert "missing required column(s) rated_kw" in message
    assert "expected columns: customer_id, category, rated_kw, quantity, standby, name" in message
    assert isinstance(info.value, ValueError)


def test_missing_column_message_suggests_a_misspelt_header(tmp_path: Path) -> None:
    customers = _write(tmp_path / "c.csv", ["Customer_ID,industry"] + [",".join(["C1", "food"])])
    equipment = _write(tmp_path / "e.csv", EQUIPMENT_LINES[:1])
    with pytest.raises(ContractError, match="'Customer_ID' looks like 'customer_id'"):
        load_history(customers, equipment)


def test_require_label_needs_the_label_column(tmp_path: Path) -> None:
    customers = _write(tmp_path / "c.csv", ["customer_id,industry", "C1,food"])
    equipment = _write(tmp_path / "e.csv", EQUIPMENT_LINES[:1])
    assert len(load_history(customers, equipment).customers) == 1
    with pytest.raises(ContractError, match="peak_demand_kw"):
        load_history(customers, equipment, require_label=True)


def test_non_utf8_file_is_a_contract_error(tmp_path: Path) -> None:
    customers = _write(tmp_path / "c.csv", CUSTOMER_LINES[:2] + ["C9,food,,,,,,,中文"], "gbk")
    equipment = _write(tmp_path / "e.csv", EQUIPMENT_LINES[:1])
    with pytest.raises(ContractError, match="not UTF-8"):
        load_history(customers, equipment)


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    customers = _write(tmp_path / "c.xlsx", CUSTOMER_LINES)
    equipment = _write(tmp_path / "e.csv", EQUIPMENT_LINES)
    with pytest.raises(ContractError, match="unsupported suffix '.xlsx'"):
        load_history(customers, equipment)
    with pytest.raises(FileNotFoundError, match="customers file not found"):
        load_history(tmp_path / "nope.csv", equipment)


def test_in_memory_frames_with_native_dtypes_and_whitespace() -> None:
    customers = pd.DataFrame(
        {"customer_id": [" A ", "B"], "industry": ["food", "food"], "floor_area_m2": [50.0, None]},
        index=[10, 20],  # a non-default index must not change row numbers
    )
    equipment = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "category": ["fan", "fan"],
            "rated_kw": [1.5, 2.0],
            "quantity": [1.0, 2.5],
            "standby": [1, 0],
        }
    )
    history = validate_frames(customers, equipment, drop_incomplete_customers=False)
    assert history.customers["customer_id"].tolist() == ["A", "B"]
    assert history.equipment["standby"].tolist() == [True]
    assert _reject_map(history) == {("equipment", 3, "quantity"): "quantity must be a whole number"}


def test_empty_files_validate_to_empty_frames() -> None:
    history = validate_frames(
        pd.DataFrame(columns=["customer_id", "industry"]),
        pd.DataFrame(columns=["customer_id", "category", "rated_kw", "quantity"]),
    )
    assert history.customers.empty and history.equipment.empty and history.rejects.empty
    CLEAN_CUSTOMERS_SCHEMA.validate(history.customers)
    CLEAN_EQUIPMENT_SCHEMA.validate(history.equipment)


# ------------------------------------------------------------------- command line


def test_validate_command_prints_counts_and_writes_report(
    broken_files: tuple[Path, Path], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from training.cli.app import app

    out = tmp_path / "cli-report"
    result = CliRunner().invoke(
        app,
        [
            "validate",
            "--customers",
            str(broken_files[0]),
            "--equipment",
            str(broken_files[1]),
            "--out",
            str(out),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "rows read" in result.output
    assert "rated_kw must be > 0" in result.output
    assert (out / "rejects.csv").is_file() and (out / "rejects_summary.txt").is_file()


def test_validate_command_reports_contract_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from training.cli.app import app

    customers = _write(tmp_path / "c.csv", ["customer_id", "C1"])
    equipment = _write(tmp_path / "e.csv", EQUIPMENT_LINES)
    args = ["validate", "--customers", str(customers), "--equipment", str(equipment)]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "industry" in result.output
    assert not (tmp_path / "out").exists()
