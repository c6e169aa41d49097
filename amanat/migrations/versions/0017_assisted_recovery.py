"""Assisted recovery at a service centre: an officer starts it, the citizen may refuse

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 03:03:53.598354
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_assisted_recoveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "officer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("officer_name", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_accounts.id"],
            name=op.f("fk_identity_assisted_recoveries_account_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["identity_accounts.id"],
            name=op.f("fk_identity_assisted_recoveries_officer_id_identity_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_assisted_recoveries")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_identity_assisted_recoveries_token_hash")),
    )
    with op.batch_alter_table("identity_assisted_recoveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_assisted_recoveries_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_assisted_recoveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_assisted_recoveries_account_id"))

    op.drop_table("identity_assisted_recoveries")
