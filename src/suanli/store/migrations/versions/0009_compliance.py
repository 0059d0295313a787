"""compliance: offers' provenance, tenants' ownership, officers' decisions on flags

Revision ID: 0009_compliance
Revises: 0008_systems
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_compliance"
down_revision = "0008_systems"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing offers carry no provenance (screening flags them where a rule applies);
    # existing tenants are private until an officer says otherwise.
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("export_licence", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("import_declaration", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("acquired_on", sa.Date(), nullable=True))
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("ownership", sa.String(length=20), nullable=False, server_default="private")
        )
        batch.create_check_constraint(
            op.f("ck_tenants_ownership"), "ownership in ('private','state-owned','government')"
        )
    op.create_table(
        "compliance_decisions",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=250), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision in ('cleared','confirmed')", name=op.f("ck_compliance_decisions_decision")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_compliance_decisions_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_compliance_decisions")),
    )
    op.create_index(op.f("ix_compliance_decisions_offer_id"), "compliance_decisions", ["offer_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_compliance_decisions_offer_id"), table_name="compliance_decisions")
    op.drop_table("compliance_decisions")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_constraint(op.f("ck_tenants_ownership"), type_="check")
        batch.drop_column("ownership")
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("acquired_on")
        batch.drop_column("import_declaration")
        batch.drop_column("export_licence")
