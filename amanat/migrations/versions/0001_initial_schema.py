"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 03:50:47.126688
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=80), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_events_seq")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_subject_seq", ["subject_id", "seq"], unique=False)

    op.create_table(
        "identity_accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("user_handle", sa.LargeBinary(length=32), nullable=False),
        sa.Column("affiliation", sa.String(length=32), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_accounts")),
        sa.UniqueConstraint("login", name=op.f("uq_identity_accounts_login")),
        sa.UniqueConstraint("user_handle", name=op.f("uq_identity_accounts_user_handle")),
    )
    op.create_table(
        "identity_rate_counters",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_identity_rate_counters")),
    )
    op.create_table(
        "identity_ceremonies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_accounts.id"],
            name=op.f("fk_identity_ceremonies_account_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_ceremonies")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_identity_ceremonies_token_hash")),
    )
    op.create_table(
        "identity_passkeys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("credential_id", sa.LargeBinary(length=1023), nullable=False),
        sa.Column("credential_data", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_accounts.id"],
            name=op.f("fk_identity_passkeys_account_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_identity_passkeys_credential_id")),
    )
    with op.batch_alter_table("identity_passkeys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_passkeys_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "identity_recovery_codes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_accounts.id"],
            name=op.f("fk_identity_recovery_codes_account_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_recovery_codes")),
    )
    with op.batch_alter_table("identity_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_recovery_codes_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "identity_sessions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_accounts.id"],
            name=op.f("fk_identity_sessions_account_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_identity_sessions_token_hash")),
    )
    with op.batch_alter_table("identity_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_sessions_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "vault_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["identity_accounts.id"],
            name=op.f("fk_vault_documents_owner_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_documents")),
    )
    with op.batch_alter_table("vault_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vault_documents_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "vault_owner_keys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("keystore", sa.String(length=64), nullable=False),
        sa.Column("master_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rewrapped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_accounts.id"],
            name=op.f("fk_vault_owner_keys_account_id_identity_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_owner_keys")),
        sa.UniqueConstraint("account_id", name=op.f("uq_vault_owner_keys_account_id")),
    )
    op.create_table(
        "vault_document_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(length=128), nullable=False),
        sa.Column(
            "owner_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["vault_documents.id"],
            name=op.f("fk_vault_document_versions_document_id_vault_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_key_id"],
            ["vault_owner_keys.id"],
            name=op.f("fk_vault_document_versions_owner_key_id_vault_owner_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_document_versions")),
        sa.UniqueConstraint(
            "document_id", "version", name=op.f("uq_vault_document_versions_document_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("vault_document_versions")
    op.drop_table("vault_owner_keys")
    with op.batch_alter_table("vault_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_documents_owner_id"))

    op.drop_table("vault_documents")
    with op.batch_alter_table("identity_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_sessions_account_id"))

    op.drop_table("identity_sessions")
    with op.batch_alter_table("identity_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_recovery_codes_account_id"))

    op.drop_table("identity_recovery_codes")
    with op.batch_alter_table("identity_passkeys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_passkeys_account_id"))

    op.drop_table("identity_passkeys")
    op.drop_table("identity_ceremonies")
    op.drop_table("identity_rate_counters")
    op.drop_table("identity_accounts")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_subject_seq")

    op.drop_table("audit_events")
