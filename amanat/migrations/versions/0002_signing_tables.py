"""signing tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:14:13.036416
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_crls",
        sa.Column("ca", sa.String(length=16), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ca", name=op.f("pk_signing_crls")),
    )
    op.create_table(
        "signing_departments",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_ur", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_signing_departments")),
    )
    op.create_table(
        "signing_pki_keys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("storage", sa.String(length=16), nullable=False),
        sa.Column("master_version", sa.Integer(), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(length=128), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_pki_keys")),
        sa.UniqueConstraint("label", name=op.f("uq_signing_pki_keys_label")),
    )
    op.create_table(
        "signing_authorities",
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("cert_der", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["signing_pki_keys.id"],
            name=op.f("fk_signing_authorities_key_id_signing_pki_keys"),
        ),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_signing_authorities")),
    )
    op.create_table(
        "signing_department_certs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("department_code", sa.String(length=16), nullable=False),
        sa.Column("cert_der", sa.LargeBinary(), nullable=False),
        sa.Column("serial_hex", sa.String(length=64), nullable=False),
        sa.Column("kid", sa.LargeBinary(length=8), nullable=False),
        sa.Column("key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["signing_departments.code"],
            name="fk_signing_department_certs_department",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["signing_pki_keys.id"],
            name=op.f("fk_signing_department_certs_key_id_signing_pki_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_department_certs")),
        sa.UniqueConstraint("serial_hex", name=op.f("uq_signing_department_certs_serial_hex")),
    )
    with op.batch_alter_table("signing_department_certs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_department_certs_department_code"),
            ["department_code"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_signing_department_certs_kid"), ["kid"], unique=False)

    op.create_table(
        "signing_certificates",
        sa.Column("serial", sa.String(length=24), nullable=False),
        sa.Column("department_code", sa.String(length=16), nullable=False),
        sa.Column("type_code", sa.String(length=32), nullable=False),
        sa.Column(
            "holder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("holder_name", sa.String(length=120), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column(
            "department_cert_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("batch_key", sa.String(length=120), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_cert_id"],
            ["signing_department_certs.id"],
            name="fk_signing_certificates_department_cert",
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["signing_departments.code"],
            name=op.f("fk_signing_certificates_department_code_signing_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_accounts.id"],
            name=op.f("fk_signing_certificates_holder_id_identity_accounts"),
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_signing_certificates")),
        sa.UniqueConstraint("batch_key", name=op.f("uq_signing_certificates_batch_key")),
    )
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signing_certificates_department_issued",
            ["department_code", "issued_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_signing_certificates_holder_id"), ["holder_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_certificates_holder_id"))
        batch_op.drop_index("ix_signing_certificates_department_issued")

    op.drop_table("signing_certificates")
    with op.batch_alter_table("signing_department_certs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_department_certs_kid"))
        batch_op.drop_index(batch_op.f("ix_signing_department_certs_department_code"))

    op.drop_table("signing_department_certs")
    op.drop_table("signing_authorities")
    op.drop_table("signing_pki_keys")
    op.drop_table("signing_departments")
    op.drop_table("signing_crls")
