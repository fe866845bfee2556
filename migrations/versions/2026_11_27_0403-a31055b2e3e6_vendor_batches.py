"""vendor batches: sealed items, CP932 hold-backs, contract-bound vendor tokens

Revision ID: a31055b2e3e6
Revises: 838f6265b08e
Create Date: 2026-11-27 04:03:25.120407

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a31055b2e3e6"
down_revision: str | None = "838f6265b08e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendor_batch",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("contract_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("procedure", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("field_allow_list", sa.JSON(), nullable=False),
        sa.Column("include_my_number", sa.Boolean(), nullable=False),
        sa.Column("legal_basis", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("encodings", sa.JSON(), nullable=False),
        sa.Column("has_my_number", sa.Boolean(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("sealed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("lease_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lease_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("leased_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("leased_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("lease_count", sa.Integer(), nullable=False),
        sa.Column("results_count", sa.Integer(), nullable=False),
        sa.Column("returned_count", sa.Integer(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["vendor_contract.id"],
            name=op.f("fk_vendor_batch_contract_id_vendor_contract"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipality.code"],
            name=op.f("fk_vendor_batch_municipality_code_municipality"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_batch")),
    )
    with op.batch_alter_table("vendor_batch", schema=None) as batch_op:
        batch_op.create_index(
            "ix_vendor_batch_contract", ["contract_id", "state", "sealed_at"], unique=False
        )

    op.create_table(
        "vendor_batch_item",
        sa.Column("batch_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("application_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("result_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("result_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["vendor_batch.id"],
            name=op.f("fk_vendor_batch_item_batch_id_vendor_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipality.code"],
            name=op.f("fk_vendor_batch_item_municipality_code_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_vendor_batch_item_task_id_task")
        ),
        sa.PrimaryKeyConstraint("batch_id", "seq", name=op.f("pk_vendor_batch_item")),
        sa.UniqueConstraint(
            "batch_id", "task_id", name=op.f("uq_vendor_batch_item_batch_id_task_id")
        ),
    )
    op.create_table(
        "vendor_holdback",
        sa.Column("contract_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("application_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["vendor_contract.id"],
            name=op.f("fk_vendor_holdback_contract_id_vendor_contract"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipality.code"],
            name=op.f("fk_vendor_holdback_municipality_code_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_vendor_holdback_task_id_task")
        ),
        sa.PrimaryKeyConstraint("contract_id", "task_id", name=op.f("pk_vendor_holdback")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contract_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_api_token_contract_id_vendor_contract"),
            "vendor_contract",
            ["contract_id"],
            ["id"],
        )

    with op.batch_alter_table("vendor_contract", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_seal_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )

    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_seal",
            ["municipality_code", "procedure", "queue", "kind", "status", "urgency", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_seal")

    with op.batch_alter_table("vendor_contract", schema=None) as batch_op:
        batch_op.drop_column("last_seal_at")

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_api_token_contract_id_vendor_contract"), type_="foreignkey"
        )
        batch_op.drop_column("contract_id")

    op.drop_table("vendor_holdback")
    op.drop_table("vendor_batch_item")
    with op.batch_alter_table("vendor_batch", schema=None) as batch_op:
        batch_op.drop_index("ix_vendor_batch_contract")

    op.drop_table("vendor_batch")
