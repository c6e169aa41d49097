"""A revoked department key's invalidity date: since when it is held compromised.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 14:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_department_certs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invalid_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signing_department_certs", schema=None) as batch_op:
        batch_op.drop_column("invalid_since")
