"""Loads most peers of an industry list and an application does not (from the bundle).

The statistics are built at fit time (:mod:`training.completeness`) and stored in the
bundle's ``peers.json`` under ``"completeness"``; a bundle without them reports nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MIN_SHARE = 0.6
"""A category is expected when at least this share of the industry's customers list it."""
MIN_CUSTOMERS = 15
"""Industries with fewer listing customers in the history say nothing."""
MIN_RATIO = 0.03
"""Additions below this share of the application's running load are not worth a question."""
MAX_ITEMS = 3
FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"chiller", "split_ac"}),
    frozenset({"ev_charger_dc", "ev_charger_ac"}),
)
"""Categories that stand in for each other: a list with split AC does not lack cooling."""


@dataclass(frozen=True)
class Missing:
    """A category most peers list and the application does not."""

    category: str
    share: float
    typical_kw: float


def missing_loads(
    peers: dict[str, Any],
    industry: str,
    listed: Iterable[str],
    running_kw: float,
    *,
    min_share: float = MIN_SHARE,
    min_customers: int = MIN_CUSTOMERS,
) -> list[Missing]:
    """The expected categories absent from ``listed``, likeliest first (at most three).

    Parameters
    ----------
    peers
        The bundle's peer document (``CapacityModel.peers``).
    industry
        The application's industry code.
    listed
        Categories on the application's list (running lines).
    running_kw
        The application's running installed kW; the typical addition is the peers'
        median ratio of the category to their other running load times this, or the
        peers' median kW when the ratio is unknown.

    Returns
    -------
    list of Missing
        Empty for an unknown industry, too few peers, or a bundle without the statistics.
    """
    doc = (peers.get("completeness") or {}).get("industries", {}).get(industry)
    if not doc or int(doc.get("n", 0)) < min_customers:
        return []
    have = set(listed)
    for family in FAMILIES:
        if have & family:
            have |= family
    out = []
    for category, stats in doc.get("categories", {}).items():
        share = float(stats.get("share", 0.0))
        if category in have or share < min_share:
            continue
        ratio = stats.get("median_ratio")
        typical = (
            float(ratio) * running_kw
            if ratio is not None and running_kw > 0
            else float(stats.get("median_kw") or 0.0)
        )
        if typical > 0 and (running_kw <= 0 or typical >= MIN_RATIO * running_kw):
            out.append(Missing(category, share, typical))
    out.sort(key=lambda m: (-m.share, m.category))
    return out[:MAX_ITEMS]
