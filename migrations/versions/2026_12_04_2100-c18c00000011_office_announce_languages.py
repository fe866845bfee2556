"""office announce languages: the languages an office's calls are said in

Revision ID: c18c00000011
Revises: c18b00000010
Create Date: 2026-12-04 21:00:00

Empty (the default) announces in Japanese and in each ticket's own language; "ja,en" limits the
second language to English.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c18c00000011"
down_revision: str | None = "c18b00000010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "announce_languages",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                server_default="",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.drop_column("announce_languages")
