"""Providers, sites, offers, tenants, API tokens and idempotency records."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from suanli.store.tables.base import Fen, Json, metadata

providers = Table(
    "providers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("city", String(100), nullable=False),
    Column("related_parties", Json, nullable=False, default=list),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),
    # Who owns it: programs that forbid affiliated suppliers read these (0010_parties).
    Column("parent_id", String(64)),
    Column("beneficial_owners", Json, nullable=False, default=list, server_default="[]"),
)

sites = Table(
    "sites",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("provider_id", String(64), ForeignKey("providers.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("city", String(100), nullable=False),
    Column("backend", String(20), nullable=False),
    Column("pue", Float, nullable=False, default=1.3),
    Column("measured_peak_tflops", Json, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),
    CheckConstraint("backend in ('local','slurm','ray','kubernetes')", name="backend"),
)

offers = Table(
    "offers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False, index=True),
    Column("accelerator_id", String(64), nullable=False, index=True),
    Column("count", Integer, nullable=False),
    Column("price_fen_per_accel_hour", Fen, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("available_from", DateTime(timezone=True), nullable=False),
    Column("available_until", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),
    # A system the chips sit in, and whether capacity is counted in its chips or in whole
    # systems (count stays chips; chips_per_system is the catalog's, kept with the offer).
    Column("system_id", String(64)),
    Column("capacity_unit", String(8), nullable=False, server_default="chips"),
    Column("chips_per_system", Integer),
    # Provenance that compliance rules read: licence, import declaration, acquisition date.
    Column("export_licence", String(100)),
    Column("import_declaration", String(100)),
    Column("acquired_on", Date),
    CheckConstraint("count > 0", name="count_positive"),
    CheckConstraint("price_fen_per_accel_hour > 0", name="price_positive"),
    CheckConstraint("available_until > available_from", name="window"),
    CheckConstraint("capacity_unit in ('chips','systems')", name="capacity_unit"),
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("registered_city", String(100), nullable=False),
    Column("founded_on", Date, nullable=False),
    Column("headcount", Integer, nullable=False),
    Column("annual_revenue_fen", Fen, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("sector", String(100), nullable=False),
    Column("is_startup", Boolean, nullable=False),
    Column("related_parties", Json, nullable=False, default=list),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),
    Column("ownership", String(20), nullable=False, server_default="private"),
    CheckConstraint("ownership in ('private','state-owned','government')", name="ownership"),
    # Who owns it: programs that forbid affiliated suppliers read these (0010_parties).
    Column("parent_id", String(64)),
    Column("beneficial_owners", Json, nullable=False, default=list, server_default="[]"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("secret_hash", Text, nullable=False),
    Column("role", String(20), nullable=False),
    Column("org_id", String(64)),
    Column("name", String(200), nullable=False, default="", server_default=""),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# What a tenant proposes about itself (the facts eligibility rules read), until a reviewer or
# officer confirms or rejects it: one open proposal per tenant.
tenant_proposals = Table(
    "tenant_proposals",
    metadata,
    Column("tenant_id", String(64), ForeignKey("tenants.id"), primary_key=True),
    Column("facts", Json, nullable=False),
    Column("proposed_by", String(250), nullable=False),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(100), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response", Json, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
