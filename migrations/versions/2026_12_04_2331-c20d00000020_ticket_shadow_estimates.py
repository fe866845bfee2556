"""ticket shadow estimates: each wait model's estimate for a ticket at issue

Revision ID: c20d00000020
Revises: c20a00000017
Create Date: 2026-12-04 23:30:00.000000

Every new ticket keeps, beside the estimate it was shown (``estimate_min``), each model's
estimate in minutes (``ticket.estimates``, JSON: ``{"mean_open": 12, "median_configured": 9,
"fixed_default": 14}``), so the daily estimate report compares the models on the same tickets.
Tickets issued before have none and are left out of that report.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c20d00000020"
down_revision: str | None = "c20a00000017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estimates", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("estimates")
