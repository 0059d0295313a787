"""Filed generative-AI services that officers add beside the shipped list (data/filings/)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, String, Table, Text

from suanli.store.tables.base import metadata

model_filings = Table(
    "model_filings",
    metadata,
    Column("filing_number", String(80), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("developer", String(200), nullable=False),
    Column("filed_on", Date),
    Column("jurisdiction", String(64), nullable=False, default=""),
    Column("source_url", String(500), nullable=False),
    Column("source_title", String(300), nullable=False),
    Column("source_date", Date, nullable=False),
    Column("confidence", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("added_by", String(250), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)
