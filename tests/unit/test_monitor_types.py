"""The monitor reports existing customers' realised accuracy apart from new connections'."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from training.monitor.report import realised_by_type


def _logged(kinds: list[str], peaks: list[float], kva: list[float]) -> pd.DataFrame:
    requests = [
        json.dumps({"industry": "office", **({"application_type": k} if k != "new" else {})})
        for k in kinds
    ]
    # A planner check logs its application inside the request.
    requests[-1] = json.dumps({"application": json.loads(requests[-1]), "proposed_kva": 100.0})
    return pd.DataFrame(
        {"request_json": requests, "metered_peak_kw": peaks, "recommended_kva": kva}
    )


def test_each_type_is_counted_with_its_own_outcomes() -> None:
    # 100 kVA carries 36-90 kW appropriately (0.40-1.00 at pf 0.9).
    logged = _logged(
        ["new", "new", "reduce", "reduce", "increase"],
        [50.0, 95.0, 60.0, 20.0, 80.0],
        [100.0] * 5,
    )
    per = realised_by_type(logged).set_index("application_type")
    assert per.loc["new", "n"] == 2 and per.loc["new", "accuracy"] == 0.5
    assert per.loc["new", "undersized"] == 0.5
    assert per.loc["reduce", "oversized"] == 0.5
    assert per.loc["increase", "accuracy"] == 1.0
    assert np.all(per["ci_low"] <= per["accuracy"])


def test_new_connections_only_give_no_table() -> None:
    assert realised_by_type(_logged(["new", "new"], [50.0, 60.0], [100.0, 100.0])) is None
    outcomes_missing = _logged(["reduce"], [50.0], [100.0]).assign(metered_peak_kw=np.nan)
    assert realised_by_type(outcomes_missing) is None
