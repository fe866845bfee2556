"""staff people and their sessions

Revision ID: c15a1e000001
Revises: 7d2e4c1b9a60
Create Date: 2026-12-04 13:39:52

Staff are people: a person signs in to the consoles with a password (argon2id) or through the
city's SSO proxy and gets a session; staff tokens may name their person, so two tokens or a
token and a session of one person count as one person for the four-eyes rule.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c15a1e000001"
down_revision: str | None = "7d2e4c1b9a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("staff_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("employer", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("office_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("contract_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("qualifications", sa.JSON(), nullable=True),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("sso_subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["vendor_contract.id"],
            name=op.f("fk_staff_contract_id_vendor_contract"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipality.code"],
            name=op.f("fk_staff_municipality_code_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_staff_office_id_office")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint(
            "municipality_code", "staff_id", name=op.f("uq_staff_municipality_code_staff_id")
        ),
        sa.UniqueConstraint("sso_subject", name=op.f("uq_staff_sso_subject")),
    )
    op.create_table(
        "staff_session",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("staff_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("session_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipality.code"],
            name=op.f("fk_staff_session_municipality_code_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_session_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_staff_session_session_hash")),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_staff_id"), ["staff_id"], unique=False)

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("staff_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_api_token_staff_id"), ["staff_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_token_staff_id_staff"), "staff", ["staff_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_token_staff_id_staff"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_token_staff_id"))
        batch_op.drop_column("staff_id")

    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_staff_id"))

    op.drop_table("staff_session")
    op.drop_table("staff")
