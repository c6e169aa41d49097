"""A signed status list for offline verifiers: each certificate's index, the published list.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 22:39:07.613865
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_status_lists",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_status_lists")),
    )
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_idx", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_signing_certificates_revoked_at"), ["revoked_at"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_signing_certificates_status_idx"), ["status_idx"]
        )


def downgrade() -> None:
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_signing_certificates_status_idx"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_signing_certificates_revoked_at"))
        batch_op.drop_column("status_idx")

    op.drop_table("signing_status_lists")
