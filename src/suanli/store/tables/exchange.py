"""The exchange: job requests, capacity reservations on offers, and placements."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from suanli.store.tables.base import Json, metadata

job_requests = Table(
    "job_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("mode", String(8), nullable=False),
    # The request as given, canonical JSON: a retry must match it to be the same request.
    Column("body", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("status in ('pending','placed','cancelled')", name="status"),
    CheckConstraint("mode in ('online','batch')", name="mode"),
)
Index("ix_job_requests_status", job_requests.c.status, job_requests.c.created_at)

reservations = Table(
    "reservations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False),
    Column("offer_id", String(64), ForeignKey("offers.id"), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("accelerators", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
    CheckConstraint("accelerators > 0", name="accelerators_positive"),
    CheckConstraint("end_at > start_at", name="window"),
    CheckConstraint("status in ('active','released')", name="status"),
)
Index("ix_reservations_offer_status", reservations.c.offer_id, reservations.c.status)

placements = Table(
    "placements",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("offer_id", String(64), ForeignKey("offers.id"), nullable=False),
    Column("method", String(8), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("voucher_id", String(64)),
    Column("program_id", String(64)),
    Column("origin", String(8), nullable=False),
    Column("accelerator_hours", Float, nullable=False),  # for domestic shares, not money
    # The quote row the placement took: hours, cost, subsidy, net, energy, start.
    Column("quote", Json, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("method in ('online','batch')", name="method"),
)
