"""ledger tree, organisations and consents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 06:14:56.899702
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_keys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kid", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("master_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(length=128), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_audit_keys_kid")),
    )
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tree_nodes")),
    )
    op.create_table(
        "identity_organisations",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_ur", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_identity_organisations")),
    )
    op.create_table(
        "audit_tree_heads",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], ["audit_keys.id"], name=op.f("fk_audit_tree_heads_key_id_audit_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tree_heads")),
    )
    with op.batch_alter_table("audit_tree_heads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_tree_heads_tree_size"), ["tree_size"], unique=False
        )

    op.create_table(
        "identity_api_keys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["identity_organisations.code"],
            name=op.f("fk_identity_api_keys_organisation_code_identity_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_api_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_identity_api_keys_key_id")),
    )
    with op.batch_alter_table("identity_api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_api_keys_organisation_code"),
            ["organisation_code"],
            unique=False,
        )

    op.create_table(
        "vault_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=True),
        sa.Column("link_secret_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_fetches", sa.Integer(), nullable=True),
        sa.Column("fetch_count", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("challenge", sa.LargeBinary(length=32), nullable=False),
        sa.Column("credential_data", sa.LargeBinary(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["identity_organisations.code"],
            name=op.f("fk_vault_grants_organisation_code_identity_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["identity_accounts.id"],
            name=op.f("fk_vault_grants_owner_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_grants")),
    )
    with op.batch_alter_table("vault_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_grants_organisation_code"), ["organisation_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vault_grants_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "vault_grant_documents",
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["vault_documents.id"],
            name=op.f("fk_vault_grant_documents_document_id_vault_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["vault_grants.id"],
            name=op.f("fk_vault_grant_documents_grant_id_vault_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("grant_id", "document_id", name=op.f("pk_vault_grant_documents")),
    )
    with op.batch_alter_table("vault_grant_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_grant_documents_document_id"), ["document_id"], unique=False
        )

    # Events written before this revision become leaves of the Merkle tree when `amanat init` or
    # `amanat db upgrade` runs audit.ledger.rebuild_tree_nodes (the kernel imports nothing above).


def downgrade() -> None:

    with op.batch_alter_table("vault_grant_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_grant_documents_document_id"))

    op.drop_table("vault_grant_documents")
    with op.batch_alter_table("vault_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_grants_owner_id"))
        batch_op.drop_index(batch_op.f("ix_vault_grants_organisation_code"))

    op.drop_table("vault_grants")
    with op.batch_alter_table("identity_api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_api_keys_organisation_code"))

    op.drop_table("identity_api_keys")
    with op.batch_alter_table("audit_tree_heads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_tree_heads_tree_size"))

    op.drop_table("audit_tree_heads")
    op.drop_table("identity_organisations")
    op.drop_table("audit_tree_nodes")
    op.drop_table("audit_keys")
