"""Officers' decisions on compliance flags: one row per decision, the latest in force."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Integer, String, Table, Text

from suanli.store.tables.base import metadata

compliance_decisions = Table(
    "compliance_decisions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("offer_id", String(64), ForeignKey("offers.id"), nullable=False, index=True),
    Column("rule_id", String(100), nullable=False),
    Column("decision", String(12), nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", String(250), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("decision in ('cleared','confirmed')", name="decision"),
)
