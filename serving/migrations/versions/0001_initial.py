"""Initial schema: recommendations and outcomes.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``recommendations`` and ``outcomes`` with their indexes."""
    op.create_table(
        "recommendations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("industry", sa.String(64), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("recommended_kva", sa.Float(), nullable=False),
        sa.Column("predicted_peak_kw", sa.Float(), nullable=False),
        sa.Column("engineering_kva", sa.Float(), nullable=True),
        sa.Column("status_quo_kva", sa.Float(), nullable=True),
        sa.Column("batch_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recommendations"),
        sa.CheckConstraint(
            "source IN ('api', 'batch', 'web', 'cli')", name="ck_recommendations_source"
        ),
    )
    op.create_index("ix_recommendations_created_at", "recommendations", ["created_at"])
    op.create_index("ix_recommendations_industry", "recommendations", ["industry"])
    op.create_index("ix_recommendations_batch_id", "recommendations", ["batch_id"])

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recommendation_id", sa.String(32), nullable=False),
        sa.Column("granted_kva", sa.Float(), nullable=False),
        sa.Column("metered_peak_kw", sa.Float(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outcomes"),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendations.id"],
            name="fk_outcomes_recommendation_id_recommendations",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("source IN ('api', 'import')", name="ck_outcomes_source"),
        sa.CheckConstraint("granted_kva > 0", name="ck_outcomes_granted_kva_positive"),
        sa.CheckConstraint("metered_peak_kw > 0", name="ck_outcomes_metered_peak_kw_positive"),
    )
    op.create_index("ix_outcomes_recommendation_id", "outcomes", ["recommendation_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_outcomes_recommendation_id", table_name="outcomes")
    op.drop_table("outcomes")
    op.drop_index("ix_recommendations_batch_id", table_name="recommendations")
    op.drop_index("ix_recommendations_industry", table_name="recommendations")
    op.drop_index("ix_recommendations_created_at", table_name="recommendations")
    op.drop_table("recommendations")
