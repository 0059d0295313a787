"""The audit log: one row per entry, appended and never changed (a trigger refuses UPDATE and
DELETE). The change is kept as the canonical JSON text its digest was taken over, so reading it
back can never alter what is hashed."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Table, Text

from suanli.store.tables.base import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_token_id", String(64), nullable=False),
    Column("actor_role", String(20), nullable=False),
    Column("actor_org_id", String(64)),
    Column("actor_name", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_kind", String(40), nullable=False),
    Column("object_id", String(250), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("change", Text, nullable=False),
    Column("change_digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_object", "object_kind", "object_id"),
    Index("ix_audit_log_actor", "actor_token_id"),
    Index("ix_audit_log_at", "at"),
)
