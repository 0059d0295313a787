"""parties: parents and beneficial owners of tenants and providers; filed generative-AI services

Revision ID: 0010_parties
Revises: 0008_systems
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_parties"
down_revision = "0009_compliance"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Existing organisations have no recorded parent and no owners until someone records them.
    for table in ("providers", "tenants"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("parent_id", sa.String(length=64), nullable=True))
            batch.add_column(
                sa.Column("beneficial_owners", _JSON, nullable=False, server_default="[]")
            )
    op.create_table(
        "model_filings",
        sa.Column("filing_number", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("developer", sa.String(length=200), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("source_url", sa.String(length=500), nullable=False),
        sa.Column("source_title", sa.String(length=300), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=False),
        sa.Column("confidence", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=250), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("filing_number", name=op.f("pk_model_filings")),
    )


def downgrade() -> None:
    op.drop_table("model_filings")
    for table in ("tenants", "providers"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("beneficial_owners")
            batch.drop_column("parent_id")
