"""Rows logged by the CSV batch path in the application shape, like every other path.

Before this revision the CSV batch logged its request as the contract rows
(``{"customer": {…}, "equipment": [{…}]}``); the monitor read such rows as industry None
and no floor area, and the retrain skipped them as "not a valid application" (issue 24).
This data migration rewrites those requests with the one conversion the service now uses
(:func:`serving.logbook.records.application_from_contract_rows`); nothing else changes.
The rewrite keeps every field an application has (the ``customer_id`` stays in the answer
row); readers also convert such a row themselves, so a log not yet upgraded reads alike.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 2000


def upgrade() -> None:
    """Rewrite every request still in the contract-row shape (only ``source = 'batch'``)."""
    from serving.logbook.records import application_from_contract_rows, is_contract_row_request

    bind = op.get_bind()
    rec = sa.table(
        "recommendations",
        sa.column("id", sa.String),
        sa.column("source", sa.String),
        sa.column("request_json", sa.Text),
    )
    last = ""
    while True:
        rows = bind.execute(
            sa.select(rec.c.id, rec.c.request_json)
            .where(rec.c.source == "batch", rec.c.id > last)
            .order_by(rec.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            break
        last = str(rows[-1][0])
        for rid, text in rows:
            try:
                request = json.loads(text)
            except (TypeError, ValueError):
                continue
            if not (isinstance(request, dict) and is_contract_row_request(request)):
                continue
            new = application_from_contract_rows(
                request["customer"], request.get("equipment") or []
            )
            bind.execute(
                sa.update(rec)
                .where(rec.c.id == rid)
                .values(request_json=json.dumps(new, ensure_ascii=False))
            )


def downgrade() -> None:
    """Nothing to undo: the application shape is what every reader expects."""
