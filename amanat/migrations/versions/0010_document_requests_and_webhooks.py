"""document requests and webhooks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:19:54.693728
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_webhook_secrets",
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["identity_organisations.code"],
            name=op.f("fk_signing_webhook_secrets_organisation_code_identity_organisations"),
        ),
        sa.PrimaryKeyConstraint("organisation_code", name=op.f("pk_signing_webhook_secrets")),
    )
    op.create_table(
        "signing_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("max_fetches", sa.Integer(), nullable=True),
        sa.Column("cnic", sa.String(length=15), nullable=True),
        sa.Column(
            "citizen_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("callback_url", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("grant_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_accounts.id"],
            name=op.f("fk_signing_requests_citizen_id_identity_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["vault_grants.id"],
            name=op.f("fk_signing_requests_grant_id_vault_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["identity_organisations.code"],
            name=op.f("fk_signing_requests_organisation_code_identity_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_requests")),
    )
    with op.batch_alter_table("signing_requests", schema=None) as batch_op:
        batch_op.create_index("ix_signing_requests_citizen", ["citizen_id"], unique=False)
        batch_op.create_index("ix_signing_requests_cnic", ["cnic"], unique=False)
        batch_op.create_index(
            "ix_signing_requests_organisation", ["organisation_code", "created_at"], unique=False
        )

    op.create_table(
        "signing_webhook_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["signing_requests.id"],
            name=op.f("fk_signing_webhook_deliveries_request_id_signing_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_webhook_deliveries")),
    )
    with op.batch_alter_table("signing_webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signing_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "signing_webhook_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["signing_webhook_deliveries.id"],
            name=op.f("fk_signing_webhook_attempts_delivery_id_signing_webhook_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_webhook_attempts")),
    )


def downgrade() -> None:
    op.drop_table("signing_webhook_attempts")
    with op.batch_alter_table("signing_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_signing_webhook_deliveries_due")

    op.drop_table("signing_webhook_deliveries")
    with op.batch_alter_table("signing_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_signing_requests_organisation")
        batch_op.drop_index("ix_signing_requests_cnic")
        batch_op.drop_index("ix_signing_requests_citizen")

    op.drop_table("signing_requests")
    op.drop_table("signing_webhook_secrets")
