"""exchange: job requests, reservations, placements

Revision ID: 0004_exchange
Revises: 0001_foundation
Create Date: 2026-11-28 00:11:43.218385
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_exchange"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_job_requests()
    _create_placements()
    _create_reservations()


def _create_job_requests() -> None:
    op.create_table(
        "job_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode in ('online','batch')", name=op.f("ck_job_requests_mode")),
        sa.CheckConstraint(
            "status in ('pending','placed','cancelled')", name=op.f("ck_job_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_job_requests_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_requests")),
    )
    with op.batch_alter_table("job_requests", schema=None) as batch_op:
        batch_op.create_index("ix_job_requests_status", ["status", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_requests_tenant_id"), ["tenant_id"], unique=False)


def _create_placements() -> None:
    op.create_table(
        "placements",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("voucher_id", sa.String(length=64), nullable=True),
        sa.Column("program_id", sa.String(length=64), nullable=True),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("accelerator_hours", sa.Float(), nullable=False),
        sa.Column(
            "quote",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("method in ('online','batch')", name=op.f("ck_placements_method")),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_placements_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_placements_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_placements")),
    )
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_placements_tenant_id"), ["tenant_id"], unique=False)


def _create_reservations() -> None:
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accelerators", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status in ('active','released')", name=op.f("ck_reservations_status")),
        sa.CheckConstraint("accelerators > 0", name=op.f("ck_reservations_accelerators_positive")),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_reservations_window")),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_reservations_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_reservations_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index("ix_reservations_offer_status", ["offer_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reservations_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservations_request_id"))
        batch_op.drop_index("ix_reservations_offer_status")

    op.drop_table("reservations")
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placements_tenant_id"))

    op.drop_table("placements")
    with op.batch_alter_table("job_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_requests_tenant_id"))
        batch_op.drop_index("ix_job_requests_status")

    op.drop_table("job_requests")
