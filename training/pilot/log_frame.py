"""The pilot's read of the recommendation log: recommendations joined to their latest outcome.

Offline analytics (the pilot statistics, the outcomes export, the pilot simulation), so on
the training side; the runtime store (:mod:`serving.logbook.store`) only provides a read
connection (:meth:`~serving.logbook.Logbook.reading`).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select

from serving.logbook import Logbook, latest_outcomes
from serving.logbook.schema import RECOMMENDATIONS_TABLE as REC
from serving.logbook.schema import require_aware

__all__ = ["JOINED_COLUMNS", "joined_frame"]

JOINED_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "industry",
    "recommended_kva",
    "engineering_kva",
    "status_quo_kva",
    "granted_kva",
    "metered_peak_kw",
    "predicted_peak_kw",
    "model_version",
    "response_json",
)
"""Columns of :func:`joined_frame`, in order."""


def joined_frame(logbook: Logbook, since: datetime | None = None) -> pd.DataFrame:
    """Recommendations that have an outcome, with their latest outcome.

    Parameters
    ----------
    logbook
        The open log (its queue is written first, so every issued id is seen).
    since
        Only recommendations created at or after this timezone-aware time.

    Returns
    -------
    pandas.DataFrame
        One row per recommendation with at least one outcome (the latest by
        ``recorded_at``, then by outcome id, wins), columns :data:`JOINED_COLUMNS`,
        ordered by ``created_at``; ``created_at`` is a UTC datetime column.
    """
    ranked = latest_outcomes()
    stmt = (
        select(
            REC.c.id,
            REC.c.created_at,
            REC.c.industry,
            REC.c.recommended_kva,
            REC.c.engineering_kva,
            REC.c.status_quo_kva,
            ranked.c.granted_kva,
            ranked.c.metered_peak_kw,
            REC.c.predicted_peak_kw,
            REC.c.model_version,
            REC.c.response_json,
        )
        .join(ranked, ranked.c.recommendation_id == REC.c.id)
        .order_by(REC.c.created_at, REC.c.id)
    )
    if since is not None:
        stmt = stmt.where(REC.c.created_at >= require_aware("since", since))
    with logbook.reading() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(JOINED_COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    for column in (
        "recommended_kva",
        "engineering_kva",
        "status_quo_kva",
        "granted_kva",
        "metered_peak_kw",
        "predicted_peak_kw",
    ):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    for column in ("id", "industry", "model_version", "response_json"):
        frame[column] = frame[column].astype(object)
    return frame
