"""task ready index: the claim walks open and leased tasks in urgency order and stops at the first

Revision ID: 5c0e7a91d2b4
Revises: a31055b2e3e6
Create Date: 2026-11-27 06:50:00

The claim's ORDER BY urgency, created_at, id LIMIT 1 had no index in that order, so every claim
read and sorted all open tasks of the municipality (a few hundred milliseconds at 100,000).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c0e7a91d2b4"
down_revision: str | None = "a31055b2e3e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READY = sa.text("status IN ('open', 'leased')")
REVIEW_READY = sa.text("status IN ('open', 'leased') AND kind = 'review'")


def upgrade() -> None:
    op.create_index(
        "ix_task_ready",
        "task",
        ["municipality_code", "urgency", "created_at", "id"],
        unique=False,
        postgresql_where=READY,
        sqlite_where=READY,
    )
    # Reviewers take only reviews: their own index, or they would walk past every entry task.
    op.create_index(
        "ix_task_review_ready",
        "task",
        ["municipality_code", "urgency", "created_at", "id"],
        unique=False,
        postgresql_where=REVIEW_READY,
        sqlite_where=REVIEW_READY,
    )


def downgrade() -> None:
    op.drop_index("ix_task_review_ready", table_name="task")
    op.drop_index("ix_task_ready", table_name="task")
