"""audit row MAC: each event and access log row carries its writer's keyed MAC

Revision ID: c16e0d000003
Revises: c15a1e000001
Create Date: 2026-12-04 14:00:00

The sealer chains only rows whose HMAC-SHA256 (key in the service's settings, never in the
database) matches; a row inserted with SQL is refused and listed by `madoguchi audit verify`.
Rows sealed before this revision carry no MAC: each chain's head records how far they go
(unkeyed_upto), and verification accepts a missing MAC only up to there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c16e0d000003"
down_revision: str | None = "c15a1e000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("event_log", "access_log"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("mac", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
            )
            batch_op.add_column(
                sa.Column("mac_key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
            )
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unkeyed_upto", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.execute("UPDATE audit_chain_head SET unkeyed_upto = last_seq")


def downgrade() -> None:
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_column("unkeyed_upto")
    for table in ("access_log", "event_log"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("mac_key")
            batch_op.drop_column("mac")
