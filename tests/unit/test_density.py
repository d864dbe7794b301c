"""One installed-density rule (features.density) for validation, the sheet and the decision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.catalog import load_catalog
from features.density import density_outside_range, installed_w_m2
from features.engineering import GroupInput, calculation_sheet, industry_density
from features.validation import FLAG_DENSITY, validate_frames
from serving.model.decision import _density_outside

AREA = 1000.0


def test_the_range_itself_is_inside_and_anything_beyond_it_is_outside() -> None:
    # Range 20-450 W/m2 on 1,000 m2: 20 kW and 450 kW are the bounds themselves.
    kw = np.array([19.99, 20.0, 200.0, 450.0, 450.01])
    got = density_outside_range(kw, AREA, 20.0, 450.0)
    assert got.tolist() == [True, False, False, False, True]
    np.testing.assert_allclose(installed_w_m2(kw, AREA), kw)


@pytest.mark.parametrize(
    ("kw", "area", "low", "high"),
    [
        (0.0, AREA, 20.0, 450.0),  # nothing installed: an area-only application is legal
        (5000.0, 0.0, 20.0, 450.0),  # no floor area
        (5000.0, float("nan"), 20.0, 450.0),
        (5000.0, AREA, float("nan"), float("nan")),  # no range for the industry
    ],
)
def test_rows_that_cannot_be_judged_are_never_flagged(
    kw: float, area: float, low: float, high: float
) -> None:
    assert not density_outside_range(kw, area, low, high).any()


def test_validation_sheet_and_decision_agree_at_the_bounds() -> None:
    d = industry_density("office")
    lo, hi = d.installed_w_m2_low, d.installed_w_m2_high
    kws = [lo * AREA / 1000 * 0.999, lo * AREA / 1000, hi * AREA / 1000, hi * AREA / 1000 * 1.001]
    expected = [True, False, False, True]

    sheet = [
        calculation_sheet(
            [GroupInput(category="fan", installed_kw=kw)], industry="office", floor_area_m2=AREA
        ).density_outside_range
        for kw in kws
    ]
    assert sheet == expected

    ids = [f"C{i}" for i in range(len(kws))]
    customers = pd.DataFrame(
        {"customer_id": ids, "industry": "office", "floor_area_m2": [str(AREA)] * len(kws)}
    )
    equipment = pd.DataFrame(
        {
            "customer_id": ids,
            "category": "fan",
            "rated_kw": [repr(kw) for kw in kws],
            "quantity": "1",
        }
    )
    history = validate_frames(customers, equipment, catalog=load_catalog())
    flagged = set(history.flags.loc[history.flags["flag"] == FLAG_DENSITY, "customer_id"])
    assert [i in flagged for i in ids] == expected

    decided = _density_outside(
        np.array(["office"] * len(kws), dtype=object), np.array(kws), np.full(len(kws), AREA)
    )
    assert decided.tolist() == expected


def test_the_decision_skips_an_unknown_industry() -> None:
    got = _density_outside(
        np.array(["office", "no_such_industry"], dtype=object),
        np.array([1e6, 1e6]),
        np.array([AREA, AREA]),
    )
    assert got.tolist() == [True, False]
