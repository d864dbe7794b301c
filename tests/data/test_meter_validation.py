"""Existing customers' columns and meter readings: every broken case rejected with its reason.

A customer with one broken reading is rejected whole (it would be sized from a partial
year), its other readings reported too; nothing is dropped silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.metering import summarise_readings
from features.validation import ContractError, validate_frames


def _customers(**override: list[str]) -> pd.DataFrame:
    base = {
        "customer_id": ["N1", "E1"],
        "industry": ["office", "office"],
        "floor_area_m2": ["1000", "2000"],
        "application_type": ["", "reduce"],
        "existing_capacity_kva": ["", "800"],
        "peak_demand_kw": ["60", "120"],
    }
    base.update(override)
    return pd.DataFrame(base)


def _readings(cid: str = "E1", months: int = 12, **override: object) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_id": [cid] * months,
            "period": [f"2025-{m:02d}" for m in range(1, months + 1)],
            "energy_kwh": ["50000"] * months,
            "max_demand_kw": [""] * months,
        }
    )
    for column, value in override.items():
        frame.loc[0, column] = value
    return frame


NO_EQUIPMENT = pd.DataFrame(columns=["customer_id", "category", "rated_kw", "quantity"])


def _reasons(history, file: str) -> list[str]:  # type: ignore[no-untyped-def]
    return history.rejects.loc[history.rejects["file"] == file, "reason"].tolist()


def test_a_valid_existing_customer_is_kept_with_its_meter_summary() -> None:
    history = validate_frames(_customers(), NO_EQUIPMENT, meter_readings_df=_readings())
    assert history.rejects.empty
    kept = history.customers.set_index("customer_id")
    assert kept.loc["N1", "application_type"] == "new"
    assert kept.loc["E1", "meter_months"] == 12
    # 12 × 50,000 kWh over the 8,760 hours of 2025.
    assert kept.loc["E1", "meter_mean_kw"] == pytest.approx(600_000 / 8760)
    assert np.isnan(kept.loc["N1", "meter_mean_kw"])
    assert len(history.meter_readings) == 12
    assert "meter_readings" in set(history.counts()["file"])


@pytest.mark.parametrize(
    ("override", "column", "reason"),
    [
        ({"energy_kwh": "-5"}, "energy_kwh", "energy_kwh must be >= 0"),
        ({"energy_kwh": "abc"}, "energy_kwh", "not a number"),
        ({"period": "2025-13"}, "period", "YYYY-MM"),
        ({"period": "2025/01"}, "period", "YYYY-MM"),
        # 800 kVA running flat out for 31 days is 595,200 kWh.
        ({"energy_kwh": "600000"}, "energy_kwh", "flat out"),
        ({"max_demand_kw": "2000"}, "max_demand_kw", "kW per kVA"),
        ({"max_demand_kw": "10"}, "energy_kwh", "mean demand above"),
    ],
)
def test_a_broken_reading_rejects_the_customer_whole(
    override: dict[str, str], column: str, reason: str
) -> None:
    history = validate_frames(_customers(), NO_EQUIPMENT, meter_readings_df=_readings(**override))
    meter = history.rejects[history.rejects["file"] == "meter_readings"]
    own = meter[meter["column"] == column]
    assert own["reason"].str.contains(reason, regex=False).any(), meter["reason"].tolist()
    assert "E1" not in set(history.customers["customer_id"])
    assert any(
        "some of its meter readings are invalid" in r for r in _reasons(history, "customers")
    )
    # Its 11 good readings are reported as well: nothing silently dropped.
    assert len(meter) == 12
    assert history.meter_readings.empty


def test_fewer_than_three_months_rejects_the_customer() -> None:
    history = validate_frames(_customers(), NO_EQUIPMENT, meter_readings_df=_readings(months=2))
    assert any(
        "at least 3 monthly meter readings; received 2" in r for r in _reasons(history, "customers")
    )


def test_a_month_read_twice_is_rejected() -> None:
    readings = _readings()
    readings.loc[1, "period"] = readings.loc[0, "period"]
    history = validate_frames(_customers(), NO_EQUIPMENT, meter_readings_df=readings)
    assert any("read twice" in r for r in _reasons(history, "meter_readings"))
    assert "E1" not in set(history.customers["customer_id"])


def test_readings_for_a_new_customer_are_rejected_with_the_reason() -> None:
    readings = pd.concat([_readings(), _readings("N1", months=3)], ignore_index=True)
    history = validate_frames(_customers(), NO_EQUIPMENT, meter_readings_df=readings)
    reasons = _reasons(history, "meter_readings")
    assert sum("for a new connection" in r for r in reasons) == 3
    assert set(history.customers["customer_id"]) == {"N1", "E1"}


def test_existing_customer_without_capacity_or_readings_is_rejected() -> None:
    no_cap = validate_frames(
        _customers(existing_capacity_kva=["", ""]), NO_EQUIPMENT, meter_readings_df=_readings()
    )
    assert any("existing_capacity_kva is required" in r for r in _reasons(no_cap, "customers"))
    no_file = validate_frames(_customers(), NO_EQUIPMENT)
    assert any("needs meter readings" in r for r in _reasons(no_file, "customers"))
    new_with_cap = validate_frames(
        _customers(existing_capacity_kva=["500", "800"]),
        NO_EQUIPMENT,
        meter_readings_df=_readings(),
    )
    assert any("given for a new connection" in r for r in _reasons(new_with_cap, "customers"))


def test_remove_lines_are_checked() -> None:
    equipment = pd.DataFrame(
        {
            "customer_id": ["N1", "E1"],
            "category": ["lighting", "lighting"],
            "rated_kw": ["5", "5000"],
            "quantity": ["1", "1"],
            "change": ["remove", "remove"],
        }
    )
    history = validate_frames(_customers(), equipment, meter_readings_df=_readings())
    assert any("'remove' on a new connection" in r for r in _reasons(history, "equipment"))
    # 5,000 kW taken out of an 800 kVA customer: more than it could have had.
    assert any("could have had" in r for r in _reasons(history, "customers"))
    assert history.customers.empty


def test_a_missing_meter_column_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="energy_kwh"):
        validate_frames(
            _customers(), NO_EQUIPMENT, meter_readings_df=_readings().drop(columns="energy_kwh")
        )


def test_summary_uses_the_busiest_month_and_the_demand_meter() -> None:
    hours = np.array([744.0, 672.0, 744.0])
    out = summarise_readings(
        np.array([0, 0, 0]), 2, hours, np.array([744.0, 0.0, 1488.0]), np.array([5.0, np.nan, 9.0])
    )
    assert out["meter_months"].tolist() == [3.0, 0.0]
    assert out["meter_mean_kw"][0] == pytest.approx(2232.0 / hours.sum())
    assert out["meter_max_month_kw"][0] == pytest.approx(2.0)
    assert out["meter_max_demand_kw"][0] == 9.0
    assert np.isnan(out["meter_mean_kw"][1])
