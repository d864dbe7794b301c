"""The monitor's one read of the recommendation log: applications, answers and outcomes in a window.

Kept to a narrow interface on purpose (the log's public names
:class:`~serving.logbook.Logbook`, :class:`~serving.logbook.LogbookSettings`,
:class:`~serving.logbook.RecommendationRow` and :class:`~serving.logbook.OutcomeRow` and
the ``engine`` property): the log's own modules can move without touching the monitor.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select

from serving.logbook import Logbook, LogbookSettings, RecommendationRow, latest_outcomes

LOGGED_COLUMNS = (
    "id",
    "created_at",
    "industry",
    "model_version",
    "recommended_kva",
    "request_json",
    "response_json",
    "granted_kva",
    "metered_peak_kw",
)


def read_logged(
    settings: LogbookSettings, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """Logged recommendations created in ``[since, until)``, with their latest outcome if any.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LOGGED_COLUMNS`, ordered by ``created_at`` (UTC); ``granted_kva``
        and ``metered_peak_kw`` are NaN where no outcome has been recorded.
    """
    rec = RecommendationRow.__table__
    latest = latest_outcomes()
    stmt = (
        select(
            rec.c.id,
            rec.c.created_at,
            rec.c.industry,
            rec.c.model_version,
            rec.c.recommended_kva,
            rec.c.request_json,
            rec.c.response_json,
            latest.c.granted_kva,
            latest.c.metered_peak_kw,
        )
        .outerjoin(latest, latest.c.recommendation_id == rec.c.id)
        .order_by(rec.c.created_at, rec.c.id)
    )
    if since is not None:
        stmt = stmt.where(rec.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(rec.c.created_at < until)
    with Logbook.open(settings) as logbook, logbook.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(LOGGED_COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    for col in ("recommended_kva", "granted_kva", "metered_peak_kw"):
        frame[col] = pd.to_numeric(frame[col]).astype(float)
    return frame
