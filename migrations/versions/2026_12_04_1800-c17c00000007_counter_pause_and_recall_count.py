"""counter pause and recall count: counters can be paused; tickets count their recalls

Revision ID: c17c00000007
Revises: c16e0d000003
Create Date: 2026-12-04 18:00:00

A paused counter stays open but call-next refuses it; the lobby display shows it paused.
Each recall of a ticket is counted (shown on the counter board and in the ticket JSON).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c17c00000007"
down_revision: str | None = "c16e0d000003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("counter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recall_count", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("recall_count")
    with op.batch_alter_table("counter", schema=None) as batch_op:
        batch_op.drop_column("paused")
