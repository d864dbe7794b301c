"""Simulated months of applications in a recommendation log, to see the monitor work.

:func:`log_month` draws fresh synthetic applicants (:mod:`training.synth.history`, a seed the
history was not drawn with), optionally keeps only some industries (an industry mix
unlike the history: a new industrial park, a campaign for charging stations), answers
them through :class:`serving.core.Recommender` and logs each answer with a
``created_at`` spread over the month; with ``outcomes`` it also records the metered peak
(the synthetic label) as an imported outcome would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from serving.logbook import Logbook, LogbookSettings, RecommendationEntry


def log_month(
    log_settings: LogbookSettings,
    model_dir: Path,
    *,
    n: int,
    seed: int,
    month_start: datetime,
    industries: Sequence[str] | None = None,
    outcomes: bool = False,
    peak_factor: float = 1.0,
) -> list[str]:
    """Log ``n`` simulated applications created in the 30 days from ``month_start``.

    Parameters
    ----------
    industries
        Keep only applicants of these industries (drawn until ``n`` are found).
    outcomes
        Also record each applicant's metered peak (times ``peak_factor``: above 1 the
        customers use more than their history suggests) with granted = recommended.

    Returns
    -------
    list of str
        The logged recommendation ids.
    """
    from features.validation import validate_frames
    from serving.core import Recommender
    from serving.model.bundle import load_bundle, version_label
    from training.pilot.simulate import applications_from_frames
    from training.synth.history import SynthConfig, generate_history

    if month_start.tzinfo is None:
        raise ValueError(f"month_start must be timezone-aware; received {month_start!r}")
    draw = n if industries is None else n * 16
    while True:  # draw more applicants until enough of the wanted industries are found
        history = generate_history(SynthConfig(n=draw, seed=seed, dirty_row_rate=0.0))
        valid = validate_frames(history.customers, history.equipment, require_label=True)
        customers = valid.customers
        if industries is not None:
            customers = customers[customers["industry"].isin(set(industries))]
        if len(customers) >= n or draw >= 64 * n:
            break
        draw *= 4
    customers = customers.head(n).reset_index(drop=True)
    equipment = valid.equipment[valid.equipment["customer_id"].isin(set(customers["customer_id"]))]
    apps, ids, _ = applications_from_frames(customers, equipment)
    model, _, _ = load_bundle(model_dir)
    answers = Recommender(model, version_label(model_dir, "capacity-recommender")).recommend_many(
        apps
    )
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0, 30 * 86400, size=len(apps)))
    entries = [
        RecommendationEntry.from_answer(
            app,
            rec,
            source="cli",
            batch_id=f"monitor-sim-{seed}",
            created_at=month_start + timedelta(seconds=float(s)),
        )
        for app, rec, s in zip(apps, answers, offsets, strict=True)
    ]
    peak = customers.set_index(customers["customer_id"].astype(str))["peak_demand_kw"]
    with Logbook.open(log_settings) as logbook:
        rec_ids = logbook.record_many(entries)
        if outcomes:
            for rid, cid, rec in zip(rec_ids, ids, answers, strict=True):
                logbook.record_outcome(
                    rid,
                    granted_kva=rec.recommended_kva,
                    metered_peak_kw=float(peak[cid]) * peak_factor,
                    source="import",
                )
    return list(rec_ids)


def month(year: int, month_: int) -> datetime:
    """The first instant of a month, UTC."""
    from datetime import UTC

    return datetime(year, month_, 1, tzinfo=UTC)
