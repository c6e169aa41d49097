"""Closing an account: erasures, erased ledger events, a register that outlives its holder

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 02:40:31.926929
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_erasures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("token_sealed", sa.LargeBinary(length=128), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certificate", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_accounts.id"],
            name=op.f("fk_signing_erasures_account_id_identity_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_erasures")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signing_erasures_token_hash")),
    )
    with op.batch_alter_table("signing_erasures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_erasures_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_signing_erasures_due", ["status", "due_at"], unique=False)

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redaction", sa.LargeBinary(length=32), nullable=True))

    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.alter_column(
            "holder_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.alter_column(
            "holder_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("redaction")

    with op.batch_alter_table("signing_erasures", schema=None) as batch_op:
        batch_op.drop_index("ix_signing_erasures_due")
        batch_op.drop_index(batch_op.f("ix_signing_erasures_account_id"))

    op.drop_table("signing_erasures")
