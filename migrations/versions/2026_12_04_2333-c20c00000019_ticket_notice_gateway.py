"""ticket notices through the office's LINE/SMS gateway: channel, recipient, refusal

Revision ID: c20c00000019
Revises: c20b00000018
Create Date: 2026-12-04 23:30:00.000000

A resident may be told through the office's LINE/SMS gateway webhook instead of by e-mail:
``channel`` ("email", "sms", "line"), ``recipient`` (the E.164 number or the LINE id, cleared
when the day ends like the address) and ``refused`` (the gateway refused for good).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c20c00000019"
down_revision: str | None = "c20b00000018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_notice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "channel",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="email",
            )
        )
        batch_op.add_column(
            sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        )
        batch_op.add_column(
            sa.Column("refused", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    with op.batch_alter_table("ticket_notice", schema=None) as batch_op:
        batch_op.alter_column("channel", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("ticket_notice", schema=None) as batch_op:
        batch_op.drop_column("refused")
        batch_op.drop_column("recipient")
        batch_op.drop_column("channel")
