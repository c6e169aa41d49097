"""applications

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:35:44.126913
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_applications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("department_code", sa.String(length=16), nullable=False),
        sa.Column("type_code", sa.String(length=32), nullable=False),
        sa.Column(
            "citizen_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "assigned_to", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("grant_ids", sa.JSON(), nullable=False),
        sa.Column("serial", sa.String(length=24), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_to"],
            ["identity_accounts.id"],
            name=op.f("fk_signing_applications_assigned_to_identity_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_accounts.id"],
            name=op.f("fk_signing_applications_citizen_id_identity_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["signing_departments.code"],
            name=op.f("fk_signing_applications_department_code_signing_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_applications")),
    )
    with op.batch_alter_table("signing_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signing_applications_citizen", ["citizen_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_signing_applications_queue",
            ["department_code", "status", "created_at"],
            unique=False,
        )

    op.create_table(
        "signing_department_offers",
        sa.Column("department_code", sa.String(length=16), nullable=False),
        sa.Column("type_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["signing_departments.code"],
            name=op.f("fk_signing_department_offers_department_code_signing_departments"),
        ),
        sa.PrimaryKeyConstraint(
            "department_code", "type_code", name=op.f("pk_signing_department_offers")
        ),
    )
    op.create_table(
        "signing_application_steps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["signing_applications.id"],
            name=op.f("fk_signing_application_steps_application_id_signing_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_application_steps")),
    )
    with op.batch_alter_table("vault_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_code", sa.String(length=16), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_vault_grants_department_code"), ["department_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vault_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_grants_department_code"))
        batch_op.drop_column("department_code")

    op.drop_table("signing_application_steps")
    op.drop_table("signing_department_offers")
    with op.batch_alter_table("signing_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_signing_applications_queue")
        batch_op.drop_index("ix_signing_applications_citizen")

    op.drop_table("signing_applications")
