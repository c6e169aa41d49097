"""Emergency access: a trusted contact reads chosen documents unless the citizen refuses in time

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 03:12:13.349115
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_emergency_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("contact_name", sa.String(length=120), nullable=False),
        sa.Column("wait_days", sa.Integer(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("challenge", sa.LargeBinary(length=32), nullable=False),
        sa.Column("credential_data", sa.LargeBinary(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["identity_accounts.id"],
            name=op.f("fk_vault_emergency_contacts_contact_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["identity_accounts.id"],
            name=op.f("fk_vault_emergency_contacts_owner_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_emergency_contacts")),
    )
    with op.batch_alter_table("vault_emergency_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_emergency_contacts_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vault_emergency_contacts_owner_id"), ["owner_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vault_emergency_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_emergency_contacts_owner_id"))
        batch_op.drop_index(batch_op.f("ix_vault_emergency_contacts_contact_id"))

    op.drop_table("vault_emergency_contacts")
