"""vouchers: applications, vouchers, purchase claims, budgets, commitments

Revision ID: 0003_vouchers
Revises: 0001_foundation
Create Date: 2026-11-27 23:55:08.100585
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_vouchers"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_program_budgets()
    _create_program_commitments()
    _create_purchase_claims()
    _create_voucher_applications()
    _create_vouchers()


def _create_program_budgets() -> None:
    op.create_table(
        "program_budgets",
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "budget_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=True
        ),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("program_id", "year", name=op.f("pk_program_budgets")),
    )


def _create_program_commitments() -> None:
    op.create_table(
        "program_commitments",
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column(
            "committed_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.CheckConstraint(
            "committed_fen >= 0", name=op.f("ck_program_commitments_committed_non_negative")
        ),
        sa.PrimaryKeyConstraint(
            "program_id", "entity_id", "period", name=op.f("pk_program_commitments")
        ),
    )
    with op.batch_alter_table("program_commitments", schema=None) as batch_op:
        batch_op.create_index("ix_program_commitments_entity", ["entity_id"], unique=False)


def _create_purchase_claims() -> None:
    op.create_table(
        "purchase_claims",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("accelerator_id", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column(
            "amount_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("invoice_id", sa.String(length=128), nullable=False),
        sa.Column("invoice_key", sa.String(length=200), nullable=True),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "lines",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "subsidy_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column(
            "approved_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=True
        ),
        sa.Column("payout_transfer_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('pending','ineligible','approved','rejected')",
            name=op.f("ck_purchase_claims_status"),
        ),
        sa.CheckConstraint(
            "amount_fen > 0 and count > 0", name=op.f("ck_purchase_claims_positive")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["tenants.id"], name=op.f("fk_purchase_claims_buyer_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_claims")),
        sa.UniqueConstraint("invoice_key", name=op.f("uq_purchase_claims_invoice_key")),
    )
    with op.batch_alter_table("purchase_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchase_claims_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_purchase_claims_program_id"), ["program_id"], unique=False
        )


def _create_voucher_applications() -> None:
    op.create_table(
        "voucher_applications",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column(
            "requested_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "facts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "lines",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "entitled_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column(
            "approved_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=True
        ),
        sa.Column("voucher_id", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('pending','ineligible','approved','rejected')",
            name=op.f("ck_voucher_applications_status"),
        ),
        sa.CheckConstraint(
            "requested_fen > 0", name=op.f("ck_voucher_applications_requested_positive")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_voucher_applications_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_applications")),
    )
    with op.batch_alter_table("voucher_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voucher_applications_program_id"), ["program_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_voucher_applications_tenant_id"), ["tenant_id"], unique=False
        )


def _create_vouchers() -> None:
    op.create_table(
        "vouchers",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "amount_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column(
            "released_fen", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column(
            "milestones",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_fen > 0 and released_fen <= amount_fen", name=op.f("ck_vouchers_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["voucher_applications.id"],
            name=op.f("fk_vouchers_application_id_voucher_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_vouchers_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("application_id", name=op.f("uq_vouchers_application_id")),
    )
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vouchers_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouchers_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vouchers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_vouchers_program_id"))

    op.drop_table("vouchers")
    with op.batch_alter_table("voucher_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_applications_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_voucher_applications_program_id"))

    op.drop_table("voucher_applications")
    with op.batch_alter_table("purchase_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_claims_program_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_claims_buyer_id"))

    op.drop_table("purchase_claims")
    with op.batch_alter_table("program_commitments", schema=None) as batch_op:
        batch_op.drop_index("ix_program_commitments_entity")

    op.drop_table("program_commitments")
    op.drop_table("program_budgets")
