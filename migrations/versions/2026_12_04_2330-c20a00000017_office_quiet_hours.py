"""office quiet hours and the last test announcement

Revision ID: c20a00000017
Revises: c19b00000016
Create Date: 2026-12-04 23:30:00

quiet_hours ("12:00-13:00,15:30-16:00", Japan time; empty: none): the displays show calls without
sound. announce_test_at: when the office's displays were last sent the test announcement (one
every few seconds, whichever process sends it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c20a00000017"
down_revision: str | None = "c19b00000016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "quiet_hours",
                sqlmodel.sql.sqltypes.AutoString(length=128),
                server_default="",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("announce_test_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.drop_column("announce_test_at")
        batch_op.drop_column("quiet_hours")
