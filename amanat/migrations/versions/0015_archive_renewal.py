"""Archives that outlive their keys: when each certificate's newest time-stamp ends, renewed copies.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 23:11:55.784273
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_certificate_copies",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["serial"],
            ["signing_certificates.serial"],
            name=op.f("fk_signing_certificate_copies_serial_signing_certificates"),
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_signing_certificate_copies")),
    )
    with op.batch_alter_table("signing_certificate_copies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_certificate_copies_serial"), ["serial"], unique=False
        )

    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("archive_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_signing_certificates_archive_expires_at"),
            ["archive_expires_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_certificates_archive_expires_at"))
        batch_op.drop_column("archive_expires_at")

    with op.batch_alter_table("signing_certificate_copies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_certificate_copies_serial"))

    op.drop_table("signing_certificate_copies")
