"""security: token expiry and names, tenants' proposed facts, decided_by as role and name

Revision ID: 0006_security
Revises: 0001_foundation, 0003_vouchers
Create Date: 2026-12-02 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_security"
down_revision = ("0001_foundation", "0003_vouchers")
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("name", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "tenant_proposals",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("proposed_by", sa.String(length=250), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_proposals_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_proposals")),
    )
    for table in ("voucher_applications", "purchase_claims"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("decided_by", type_=sa.String(length=250), existing_nullable=True)


def downgrade() -> None:
    for table in ("voucher_applications", "purchase_claims"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("decided_by", type_=sa.String(length=64), existing_nullable=True)
    op.drop_table("tenant_proposals")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("name")
