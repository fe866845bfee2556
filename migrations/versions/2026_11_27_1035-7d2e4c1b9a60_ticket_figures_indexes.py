"""ticket figures indexes: a category's waiting count and its latest service times, read directly

Revision ID: 7d2e4c1b9a60
Revises: 463a5458c976
Create Date: 2026-11-27 10:35:00

Every lobby event carries its category's waiting count and the wait estimate made from the
category's latest service times. The count read every waiting ticket of the office and kept
those of the category; the service times read every ticket the category ever had (all days,
every status) to rank the finished ones, so each kiosk press got slower as the year went on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d2e4c1b9a60"
down_revision: str | None = "463a5458c976"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("status = 'waiting'")
DONE = sa.text("status = 'done'")


def upgrade() -> None:
    op.create_index(
        "ix_ticket_waiting",
        "ticket",
        ["office_id", "business_day", "category_id", "queued_at"],
        unique=False,
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )
    op.create_index(
        "ix_ticket_done",
        "ticket",
        ["category_id", "finished_at"],
        unique=False,
        postgresql_where=DONE,
        sqlite_where=DONE,
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_done", table_name="ticket")
    op.drop_index("ix_ticket_waiting", table_name="ticket")
