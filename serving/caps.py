"""The contract's hard limits on every answer (kVA, kW), whatever the model says.

The contract bounds what an application may declare (``features.contract``: floor area,
ratings, quantities) and what a capacity or a peak may be (``CAPACITY_KVA_MAX``,
``PEAK_KW_MAX``). Inputs inside their limits can still combine into an answer outside
them: an absurd but valid floor area answered area-only once gave 22,005,000 kVA (484 M
yuan a month). Such an answer is not served: a single request gets a 400 naming the
inputs to check, a batch row is rejected with the same reason (never silently capped,
never dropped).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from features.contract import CAPACITY_KVA_MAX, PEAK_KW_MAX

ANSWER_CAPS: tuple[tuple[str, float, str], ...] = (
    ("recommended_kva", CAPACITY_KVA_MAX, "kVA"),
    ("engineering_kva", CAPACITY_KVA_MAX, "kVA"),
    ("predicted_peak_kw", PEAK_KW_MAX, "kW"),
    ("peak_high90_kw", PEAK_KW_MAX, "kW"),
    ("peak_high_kw", PEAK_KW_MAX, "kW"),
)
"""Answer fields and their contract limit (a field an answer does not have is skipped)."""


_CAPPED_FIELDS = tuple(field for field, _, _ in ANSWER_CAPS)


def over_caps(answer: Mapping[str, Any]) -> list[tuple[str, float, float, str]]:
    """``(field, value, limit, unit)`` of every answer field above its contract limit."""
    out = []
    for field, limit, unit in ANSWER_CAPS:
        value = answer.get(field)
        if isinstance(value, int | float) and math.isfinite(value) and value > limit:
            out.append((field, float(value), limit, unit))
    return out


def cap_message(over: list[tuple[str, float, float, str]]) -> str:
    """One sentence naming what is over its limit and what to check."""
    parts = ", ".join(f"{f} {v:,.0f} {u} (limit {lim:,.0f} {u})" for f, v, lim, u in over)
    return (
        f"the answer would exceed the contract's limits: {parts}; check the floor area "
        f"and the equipment list (ratings, quantities)"
    )


def cap_errors(answer: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Error items for an answer (a Recommendation or a mapping) above the limits."""
    # A model's own fields, not a dump of the whole answer (every /recommend checks it).
    values = (
        {name: getattr(answer, name, None) for name in (*_CAPPED_FIELDS, "basis")}
        if hasattr(answer, "model_dump")
        else dict(answer)
    )
    over = over_caps(values)
    if not over:
        return []
    basis = values.get("basis")
    field = {"area": "floor_area_m2", "equipment": "equipment"}.get(str(basis), "(application)")
    return [
        {
            "field": f"{prefix}{field}",
            "value": values.get("recommended_kva"),
            "expected": f"an application whose answer stays within {CAPACITY_KVA_MAX:,.0f} kVA "
            f"and {PEAK_KW_MAX:,.0f} kW (the contract's limits)",
            "message": cap_message(over),
            "code": "answer_over_contract_limit",
            "params": {"limit_kva": CAPACITY_KVA_MAX, "limit_kw": PEAK_KW_MAX},
        }
    ]


def capped_rows(rows: list[dict[str, Any]]) -> list[int]:
    """Positions of the batch rows (summary answers) above the contract's limits."""
    return [k for k, row in enumerate(rows) if over_caps(row)]
