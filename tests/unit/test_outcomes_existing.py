"""An existing customer's outcome is retrained on as an existing customer, readings included."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.validation import load_history
from training.pilot.outcomes_export import OutcomeExport, merge_history, merged_meter_path


def _history(root: Path) -> tuple[Path, Path, Path]:
    c = root / "customers.csv"
    e = root / "equipment.csv"
    m = root / "meter_readings.csv"
    pd.DataFrame(
        {
            "customer_id": ["H1", "H2"],
            "industry": ["office", "office"],
            "floor_area_m2": [1000.0, 2000.0],
            "application_type": ["new", "reduce"],
            "existing_capacity_kva": [None, 800.0],
            "peak_demand_kw": [60.0, 120.0],
        }
    ).to_csv(c, index=False)
    pd.DataFrame(columns=["customer_id", "category", "rated_kw", "quantity"]).to_csv(e, index=False)
    pd.DataFrame(
        {
            "customer_id": ["H2"] * 3,
            "period": ["2025-01", "2025-02", "2025-03"],
            "energy_kwh": [50000.0] * 3,
            "max_demand_kw": [None] * 3,
        }
    ).to_csv(m, index=False)
    return c, e, m


def test_merged_history_keeps_both_kinds_and_all_readings(tmp_path: Path) -> None:
    c, e, m = _history(tmp_path)
    export = OutcomeExport(
        customers=pd.DataFrame(
            {
                "customer_id": ["rec-1"],
                "industry": ["office"],
                "application_type": ["increase"],
                "existing_capacity_kva": [500.0],
                "peak_demand_kw": [300.0],
            }
        ),
        equipment=pd.DataFrame(
            {
                "customer_id": ["rec-1"],
                "category": ["machine_tool"],
                "rated_kw": [30.0],
                "quantity": [2],
                "change": ["add"],
            }
        ),
        n_outcomes=1,
        meter_readings=pd.DataFrame(
            {
                "customer_id": ["rec-1"] * 3,
                "period": ["2025-04", "2025-05", "2025-06"],
                "energy_kwh": [90000.0] * 3,
                "max_demand_kw": [250.0] * 3,
            }
        ),
    )
    out = tmp_path / "merged"
    customers, equipment, appended = merge_history(c, e, export, out, m)
    assert appended == 1
    meter = merged_meter_path(out)
    history = load_history(customers, equipment, meter_readings_path=meter, require_label=True)
    assert history.rejects.empty, history.rejects.to_dict("records")
    kept = history.customers.set_index("customer_id")
    assert kept.loc["rec-1", "application_type"] == "increase"
    assert kept.loc["rec-1", "meter_months"] == 3
    assert kept.loc["H2", "meter_months"] == 3
    assert set(history.equipment["change"]) == {"add"}
