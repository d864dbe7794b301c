"""Idempotency keys of batch requests.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``batch_requests``: key, body hash, batch id and the ids in request order."""
    op.create_table(
        "batch_requests",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("ids_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_batch_requests"),
    )
    op.create_index("ix_batch_requests_created_at", "batch_requests", ["created_at"])


def downgrade() -> None:
    """Drop ``batch_requests``."""
    op.drop_index("ix_batch_requests_created_at", table_name="batch_requests")
    op.drop_table("batch_requests")
