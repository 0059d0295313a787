"""Runs (one attempt of a job at a site, with its lease) and the usage records agents report."""

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
    UniqueConstraint,
)

from suanli.store.tables.base import Fen, Json, metadata

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False),
    Column("offer_id", String(64), ForeignKey("offers.id"), nullable=False),
    Column("provider_id", String(64), ForeignKey("providers.id"), nullable=False, index=True),
    Column("accelerator_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("lease_id", String(32)),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", DateTime(timezone=True)),
    Column("leases", Integer, nullable=False, default=0),
    Column("exit_class", String(16)),
    Column("exit_detail", Text, nullable=False, default=""),
    Column("cancel_requested", Integer, nullable=False, default=0),
    Column("checkpoint_uri", Text, nullable=False, default=""),
    Column("spec", Json, nullable=False),
    Column("fallback", Json, nullable=False, default=list),
    # Pricing and the ledger holds: the price of the offer, the voucher's rate as "n/d",
    # and the hold transfer ids with their amounts.
    Column("price_fen_per_accel_hour", Fen, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("voucher", Json, nullable=False, default=dict),
    Column("holds", Json, nullable=False, default=dict),
    Column("billed_fen", Fen),
    Column("voucher_fen", Fen),
    Column("wallet_fen", Fen),
    Column("next_run_id", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("settled_at", DateTime(timezone=True)),
    CheckConstraint(
        "status in ('queued','leased','running','succeeded','failed','cancelled')", name="status"
    ),
    CheckConstraint("attempt >= 1", name="attempt_positive"),
    UniqueConstraint("request_id", "attempt", name="uq_runs_request_attempt"),
)
Index("ix_runs_site_status", runs.c.site_id, runs.c.status)

run_usage = Table(
    "run_usage",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("lease_id", String(32), nullable=False),
    Column("accelerator_seconds", Float, nullable=False),
    Column("wall_seconds", Float, nullable=False),
    Column("cpu_seconds", Float, nullable=False, default=0.0),
    Column("reported_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("seq >= 1", name="seq_positive"),
    CheckConstraint("accelerator_seconds >= 0 and wall_seconds >= 0", name="non_negative"),
)
