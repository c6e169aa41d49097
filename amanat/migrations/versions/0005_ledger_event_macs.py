"""ledger events carry a MAC by the key store's ledger key

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00.000000

Events written before this revision have no MAC; ``amanat db upgrade`` (and ``amanat init``)
authenticate them once, right after this revision is applied (audit.ledger.authenticate_legacy).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.add_column("audit_events", sa.Column("mac", sa.LargeBinary(length=32), nullable=True))
    op.add_column("audit_pending", sa.Column("mac", sa.LargeBinary(length=32), nullable=True))


def downgrade() -> None:

    op.drop_column("audit_pending", "mac")
    op.drop_column("audit_events", "mac")
