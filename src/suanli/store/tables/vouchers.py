"""Applications, vouchers, purchase-subsidy claims, and the per-program rows that are locked
to keep a program's budget and each entity's cap from being over-committed."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from suanli.store.tables.base import Fen, Json, metadata

STATUS_CHECK = "status in ('pending','ineligible','approved','rejected')"

voucher_applications = Table(
    "voucher_applications",
    metadata,
    Column("id", String(64), primary_key=True),  # the client's id: retries reuse it
    Column("program_id", String(64), nullable=False, index=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("requested_fen", Fen, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("facts", Json, nullable=False),
    Column("eligible", Boolean, nullable=False),
    Column("reasons", Json, nullable=False),
    Column("lines", Json, nullable=False),
    Column("entitled_fen", Fen, nullable=False),
    Column("status", String(12), nullable=False),
    Column("decided_by", String(250)),  # role and name, e.g. "reviewer Wang Fang"
    Column("decision_reason", Text, nullable=False, default=""),
    Column("approved_fen", Fen),
    Column("voucher_id", String(80)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    CheckConstraint("requested_fen > 0", name="requested_positive"),
    CheckConstraint(STATUS_CHECK, name="status"),
)

vouchers = Table(
    "vouchers",
    metadata,
    Column("id", String(80), primary_key=True),
    Column(
        "application_id",
        String(64),
        ForeignKey("voucher_applications.id"),
        nullable=False,
        unique=True,
    ),
    Column("program_id", String(64), nullable=False, index=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount_fen", Fen, nullable=False),
    Column("released_fen", Fen, nullable=False),
    Column("milestones", Json, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date),
    Column("account_id", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount_fen > 0 and released_fen <= amount_fen", name="amounts"),
)

purchase_claims = Table(
    "purchase_claims",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("program_id", String(64), nullable=False, index=True),
    Column("buyer_id", String(64), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("accelerator_id", String(64), nullable=False),
    Column("count", Integer, nullable=False),
    Column("amount_fen", Fen, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("invoice_id", String(128), nullable=False),
    # "buyer:invoice" while the claim stands (pending, approved, rejected); NULL when it was
    # ineligible, so a corrected claim may use the invoice. Unique: no invoice is paid twice.
    Column("invoice_key", String(200), unique=True),
    Column("purchased_on", Date, nullable=False),
    Column("seller_id", String(64), nullable=False, default=""),
    Column("eligible", Boolean, nullable=False),
    Column("reasons", Json, nullable=False),
    Column("lines", Json, nullable=False),
    Column("subsidy_fen", Fen, nullable=False),
    Column("status", String(12), nullable=False),
    Column("decided_by", String(250)),  # role and name, e.g. "reviewer Wang Fang"
    Column("decision_reason", Text, nullable=False, default=""),
    Column("approved_fen", Fen),
    Column("payout_transfer_id", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    CheckConstraint("amount_fen > 0 and count > 0", name="positive"),
    CheckConstraint(STATUS_CHECK, name="status"),
)

# One row per program and year: locked (FOR UPDATE) by every approval, so approvals of one
# program queue and each sees the budget the previous one left.
program_budgets = Table(
    "program_budgets",
    metadata,
    Column("program_id", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("budget_fen", Fen),  # None: the program publishes no budget
    Column("account_id", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# What each entity has been awarded under a program in a cap period ("2026" or "programme"),
# vouchers and claims together.
program_commitments = Table(
    "program_commitments",
    metadata,
    Column("program_id", String(64), primary_key=True),
    Column("entity_id", String(64), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("committed_fen", Fen, nullable=False),
    CheckConstraint("committed_fen >= 0", name="committed_non_negative"),
    Index("ix_program_commitments_entity", "entity_id"),
)
