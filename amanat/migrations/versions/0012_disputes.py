"""disputes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 18:11:01.056876
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "citizen_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("party_code", sa.String(length=32), nullable=True),
        sa.Column("access", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_accounts.id"],
            name=op.f("fk_signing_disputes_citizen_id_identity_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_disputes")),
    )
    with op.batch_alter_table("signing_disputes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signing_disputes_citizen", ["citizen_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_signing_disputes_party", ["party_kind", "party_code", "status"], unique=False
        )

    op.create_table(
        "signing_dispute_steps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("side", sa.String(length=12), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["signing_disputes.id"],
            name=op.f("fk_signing_dispute_steps_dispute_id_signing_disputes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_dispute_steps")),
    )


def downgrade() -> None:
    op.drop_table("signing_dispute_steps")
    with op.batch_alter_table("signing_disputes", schema=None) as batch_op:
        batch_op.drop_index("ix_signing_disputes_party")
        batch_op.drop_index("ix_signing_disputes_citizen")

    op.drop_table("signing_disputes")
