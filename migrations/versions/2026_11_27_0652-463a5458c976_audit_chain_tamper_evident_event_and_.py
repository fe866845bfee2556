"""audit chain: tamper-evident event and access logs

Revision ID: 463a5458c976
Revises: 5c0e7a91d2b4
Create Date: 2026-11-27 06:52:53

Each municipality's event log and access log becomes a hash chain (app/domain/audit.py). Writers
leave chain_seq and chain_hash empty; the sealer fills them and moves audit_chain_head. Rows
already in the logs are unsealed after the upgrade and are chained by the first seal, oldest
first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "463a5458c976"
down_revision: str | None = "5c0e7a91d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSEALED = sa.text("chain_seq IS NULL")
LOGS = ("event_log", "access_log")


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("log", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sealed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipality.code"],
            name=op.f("fk_audit_chain_head_municipality_code_municipality"),
        ),
        sa.PrimaryKeyConstraint("log", "municipality_code", name=op.f("pk_audit_chain_head")),
    )
    for table in LOGS:
        # Nullable columns and new indexes only: no table rewrite on either database.
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
            batch_op.add_column(
                sa.Column("chain_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
            )
            batch_op.create_index(
                f"ix_{table}_chain", ["municipality_code", "chain_seq"], unique=True
            )
            batch_op.create_index(
                f"ix_{table}_unsealed",
                ["municipality_code", "id"],
                unique=False,
                postgresql_where=UNSEALED,
                sqlite_where=UNSEALED,
            )


def downgrade() -> None:
    for table in reversed(LOGS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(
                f"ix_{table}_unsealed", postgresql_where=UNSEALED, sqlite_where=UNSEALED
            )
            batch_op.drop_index(f"ix_{table}_chain")
            batch_op.drop_column("chain_hash")
            batch_op.drop_column("chain_seq")
    op.drop_table("audit_chain_head")
