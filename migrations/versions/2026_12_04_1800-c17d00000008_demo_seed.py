"""demo seed: one random secret per demo municipality, its demo tokens and passwords derive from it

Revision ID: c17d00000008
Revises: c17c00000007
Create Date: 2026-12-04 18:00:00

`seed-demo` and `serve --demo` print the same tokens and passwords on every run instead of
issuing new ones; production settings refuse to seed a demo.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c17d00000008"
down_revision: str | None = "c17c00000007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "demo_seed",
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("municipality_code"),
    )


def downgrade() -> None:
    op.drop_table("demo_seed")
