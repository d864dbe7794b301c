"""The installed-density plausibility rule: installed W/m² outside the industry's range.

One rule for its three users: contract validation flags a history row
(``features.validation``, flag ``density_outside_industry_range``), the calculation sheet
notes it for a planner (``features.engineering.calculation_sheet``) and the served decision
sends the answer to manual review (``serving.model.decision``). Each looks the range up its
own way (the validated catalog, or :func:`features.engineering.industry_density`); the
comparison is this module's only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ArrayLike = np.ndarray | Sequence[float] | float


def installed_w_m2(installed_kw: ArrayLike, floor_area_m2: ArrayLike) -> np.ndarray:
    """Installed density, W per m² of floor area (``inf``/NaN where the area is 0 or missing)."""
    kw = np.asarray(installed_kw, dtype=float)
    area = np.asarray(floor_area_m2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(kw * 1000.0 / area, dtype=float)


def density_outside_range(
    installed_kw: ArrayLike,
    floor_area_m2: ArrayLike,
    low_w_m2: ArrayLike,
    high_w_m2: ArrayLike,
) -> np.ndarray:
    """Whether the installed density is outside ``[low_w_m2, high_w_m2]`` (both inclusive).

    The range is already the plausible envelope of the industry, so "far outside" means
    outside it, with no extra margin. Rows that cannot be judged are never flagged: nothing
    installed (an area-only application is legal), no positive floor area, or no range
    (NaN bounds, an industry whose catalog row has none).

    Parameters
    ----------
    installed_kw
        Non-standby installed total, kW.
    floor_area_m2
        Floor area, m².
    low_w_m2, high_w_m2
        The industry's plausible installed-density range, W/m² (NaN: no range).

    Returns
    -------
    numpy.ndarray
        Boolean array, broadcast over the inputs.
    """
    kw = np.asarray(installed_kw, dtype=float)
    area = np.asarray(floor_area_m2, dtype=float)
    low = np.asarray(low_w_m2, dtype=float)
    high = np.asarray(high_w_m2, dtype=float)
    w_m2 = installed_w_m2(kw, area)
    judged = (kw > 0) & (area > 0) & np.isfinite(w_m2)
    with np.errstate(invalid="ignore"):
        return np.asarray(judged & ((w_m2 < low) | (w_m2 > high)), dtype=bool)
