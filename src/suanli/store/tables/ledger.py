"""Ledger accounts and transfers. Amounts are integer minor units (fen)."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    literal_column,
)

from suanli.store.tables.base import Fen, ledger_id, metadata

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", ledger_id(), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("owner_id", String(128), index=True),
    Column("posted_debits", Fen, nullable=False, default=0),
    Column("posted_credits", Fen, nullable=False, default=0),
    Column("pending_debits", Fen, nullable=False, default=0),
    Column("pending_credits", Fen, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(
        "posted_debits >= 0 and posted_credits >= 0 and pending_debits >= 0"
        " and pending_credits >= 0",
        name="totals_non_negative",
    ),
)

ledger_transfers = Table(
    "ledger_transfers",
    metadata,
    Column("id", ledger_id(), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("debit_account_id", ledger_id(), ForeignKey("ledger_accounts.id"), nullable=False),
    Column("credit_account_id", ledger_id(), ForeignKey("ledger_accounts.id"), nullable=False),
    Column("amount_minor", Fen, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(10), nullable=False),
    # A hold is resolved by at most one post or void: the unique index enforces it.
    Column("pending_id", ledger_id(), ForeignKey("ledger_transfers.id"), unique=True),
    Column("timeout_s", Integer),
    Column("timeout_at", DateTime(timezone=True)),
    Column("memo", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
    CheckConstraint("kind in ('single','pending','post','void')", name="kind"),
    CheckConstraint("status in ('posted','pending','voided','expired')", name="status"),
    Index("ix_ledger_transfers_debit", "debit_account_id", "created_at"),
    Index("ix_ledger_transfers_credit", "credit_account_id", "created_at"),
)
# A hold is open while its status is pending; only open holds are indexed (by timeout), since the
# index of every transfer's status was written for each posted one. Queries must say it with this
# literal, not a bound parameter, for the planner to match the index's predicate.
OPEN_HOLD = ledger_transfers.c.status == literal_column("'pending'")
Index("ix_ledger_transfers_open_holds", ledger_transfers.c.timeout_at,
      postgresql_where=OPEN_HOLD, sqlite_where=OPEN_HOLD)  # fmt: skip

# Kept otherwise on PostgreSQL (migration 0011_ledger_keys): the foreign keys by statement-level
# triggers (one check per INSERT, not one query per row and key), the hold's uniqueness by a
# partial unique index over the transfers that resolve a hold. SQLite keeps them as declared.
KEPT_OTHERWISE_ON_POSTGRESQL = frozenset({
    "fk_ledger_transfers_debit_account_id_ledger_accounts",
    "fk_ledger_transfers_credit_account_id_ledger_accounts",
    "fk_ledger_transfers_pending_id_ledger_transfers",
    "uq_ledger_transfers_pending_id",
})  # fmt: skip
