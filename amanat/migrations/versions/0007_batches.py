"""batches worked on by the task engine

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:17:23.547416
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "signing_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("department_code", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["signing_departments.code"],
            name=op.f("fk_signing_batches_department_code_signing_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_batches")),
        sa.UniqueConstraint("key", name=op.f("uq_signing_batches_key")),
    )
    op.create_table(
        "signing_batch_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("citizen", sa.String(length=40), nullable=False),
        sa.Column("request", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("serial", sa.String(length=24), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["signing_batches.id"],
            name=op.f("fk_signing_batch_items_batch_id_signing_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_batch_items")),
    )
    with op.batch_alter_table("signing_batch_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signing_batch_items_batch_status", ["batch_id", "status", "line"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("signing_batch_items", schema=None) as batch_op:
        batch_op.drop_index("ix_signing_batch_items_batch_status")

    op.drop_table("signing_batch_items")
    op.drop_table("signing_batches")
