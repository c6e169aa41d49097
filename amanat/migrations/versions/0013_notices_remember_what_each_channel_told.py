"""notices remember what each channel told

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 18:58:25.353780
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vault_notice_prefs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vault_notice_prefs", schema=None) as batch_op:
        batch_op.drop_column("delivered")
