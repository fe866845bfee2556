"""follow-ups of a move: the procedures an approved move makes due in other departments

Revision ID: c18a00000009
Revises: c17d00000008
Create Date: 2026-12-04 20:12:41

One row per application, person (their place on the form) and kind, so approving a move again
adds none twice; no names or numbers are copied. And a ticket's plan of stops (``ticket.stops``):
the categories it moves to, in order, as each stop finishes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c18a00000009"
down_revision: str | None = "c17d00000008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "follow_up",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("application_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("member", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_follow_up_application_id_application"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipality.code"],
            name=op.f("fk_follow_up_municipality_code_municipality"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
        sa.UniqueConstraint(
            "municipality_code",
            "application_id",
            "member",
            "kind",
            name=op.f("uq_follow_up_municipality_code_application_id_member_kind"),
        ),
    )
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.create_index("ix_follow_up_application", ["application_id"], unique=False)
        batch_op.create_index(
            "ix_follow_up_queue",
            ["municipality_code", "department", "status", "due_on"],
            unique=False,
        )

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stops", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("stops")
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_up_queue")
        batch_op.drop_index("ix_follow_up_application")

    op.drop_table("follow_up")
