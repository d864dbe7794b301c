"""Small statistics shared across training's reports (a leaf: imports nothing of training).

:func:`wilson_interval` is used by the pilot metrics (``training/pilot/metrics.py``), the
monitoring report (``training/monitor/report.py``) and the model card (``training/registry/model_card.py``);
living here, none of them imports another's package for it (no arrow pointing up once
``training/`` is grouped into packages). ``training.pilot`` re-exports it.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["wilson_interval"]


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes
        Number of successes, ``0 <= successes <= n``.
    n
        Number of trials, ``> 0``.
    confidence
        Two-sided confidence level, strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(low, high)`` within [0, 1]; ``low`` is exactly 0 when ``successes == 0`` and
        ``high`` exactly 1 when ``successes == n``.

    Raises
    ------
    ValueError
        ``n`` is not positive, ``successes`` is outside ``[0, n]`` or ``confidence`` is
        outside ``(0, 1)``.
    """
    for name, value in (("successes", successes), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be an integer; received {value!r}")
    if n <= 0:
        raise ValueError(
            f"n must be > 0 for a Wilson interval; received n={n} (no trials, no interval)"
        )
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within [0, n={n}]; received {successes}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1; received {confidence}")
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    # The bounds are exactly 0 and 1 at the extremes; pin them so rounding cannot leave
    # a 1e-17 lower bound or exceed 1.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high
