"""daily counts of folded ledger events (verifications, refused accesses)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_tallies",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "day", name=op.f("pk_audit_tallies")),
    )


def downgrade() -> None:

    op.drop_table("audit_tallies")
