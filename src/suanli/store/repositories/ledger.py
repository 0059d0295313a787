"""Rows <-> ledger accounts and transfers, with the row locks the ledger service relies on.

Inserts use ``ON CONFLICT DO NOTHING`` and report whether a row was written: when a concurrent
unit of work stored the same id (or resolved the same hold) first, PostgreSQL waits for it and
the caller reads the winner instead of failing its whole transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Insert, Table, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from suanli.ledger.model import Account, AccountKind, Transfer, TransferKind, TransferStatus
from suanli.store.tables.ledger import ledger_accounts, ledger_transfers


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; they were stored as UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _account(row: Any) -> Account:
    m = row._mapping
    return Account(
        id=m["id"],
        kind=AccountKind(m["kind"]),
        currency=m["currency"],
        owner_id=m["owner_id"],
        posted_debits=int(m["posted_debits"]),
        posted_credits=int(m["posted_credits"]),
        pending_debits=int(m["pending_debits"]),
        pending_credits=int(m["pending_credits"]),
        created_at=_aware(m["created_at"]),  # type: ignore[arg-type]
    )


def _transfer(row: Any) -> Transfer:
    m = row._mapping
    return Transfer(
        id=m["id"],
        kind=TransferKind(m["kind"]),
        debit_account_id=m["debit_account_id"],
        credit_account_id=m["credit_account_id"],
        amount_minor=int(m["amount_minor"]),
        currency=m["currency"],
        status=TransferStatus(m["status"]),
        pending_id=m["pending_id"],
        timeout_s=m["timeout_s"],
        timeout_at=_aware(m["timeout_at"]),
        memo=m["memo"],
        created_at=_aware(m["created_at"]),  # type: ignore[arg-type]
        resolved_at=_aware(m["resolved_at"]),
    )


def _insert_ignoring_conflicts(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt: Insert = dialect.insert(table).values(**values).on_conflict_do_nothing()
    # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    return conn.execute(stmt.returning(table.c.id)).first() is not None


def get_account(conn: Connection, account_id: str) -> Account | None:
    row = conn.execute(select(ledger_accounts).where(ledger_accounts.c.id == account_id)).first()
    return None if row is None else _account(row)


def lock_accounts(conn: Connection, account_ids: Iterable[str]) -> dict[str, Account]:
    """Read and lock accounts in id order, so two writers never wait on each other in a cycle."""
    stmt = (
        select(ledger_accounts)
        .where(ledger_accounts.c.id.in_(sorted(set(account_ids))))
        .order_by(ledger_accounts.c.id)
        .with_for_update()
    )
    return {a.id: a for a in map(_account, conn.execute(stmt))}


def insert_account(conn: Connection, account: Account) -> bool:
    values = {
        "id": account.id,
        "kind": account.kind.value,
        "currency": account.currency,
        "owner_id": account.owner_id,
        "posted_debits": 0,
        "posted_credits": 0,
        "pending_debits": 0,
        "pending_credits": 0,
        "created_at": account.created_at,
    }
    return _insert_ignoring_conflicts(conn, ledger_accounts, values)


def add_to_totals(conn: Connection, account_id: str, **deltas: int) -> None:
    """Add to an account's totals in SQL, so the row is changed relative to its locked value."""
    c = ledger_accounts.c
    values = {name: c[name] + delta for name, delta in deltas.items() if delta}
    if values:
        conn.execute(update(ledger_accounts).where(c.id == account_id).values(**values))


def get_transfer(conn: Connection, transfer_id: str, *, lock: bool = False) -> Transfer | None:
    stmt = select(ledger_transfers).where(ledger_transfers.c.id == transfer_id)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else _transfer(row)


def insert_transfer(conn: Connection, t: Transfer) -> bool:
    values = {
        "id": t.id,
        "kind": t.kind.value,
        "debit_account_id": t.debit_account_id,
        "credit_account_id": t.credit_account_id,
        "amount_minor": t.amount_minor,
        "currency": t.currency,
        "status": t.status.value,
        "pending_id": t.pending_id,
        "timeout_s": t.timeout_s,
        "timeout_at": t.timeout_at,
        "memo": t.memo,
        "created_at": t.created_at,
        "resolved_at": t.resolved_at,
    }
    return _insert_ignoring_conflicts(conn, ledger_transfers, values)


def resolve_hold(conn: Connection, hold_id: str, status: TransferStatus, at: datetime) -> None:
    c = ledger_transfers.c
    stmt = update(ledger_transfers).where(c.id == hold_id, c.status == TransferStatus.PENDING.value)
    conn.execute(stmt.values(status=status.value, resolved_at=at))


def holds_due(conn: Connection, now: datetime) -> list[Transfer]:
    """Open holds whose timeout has passed, locked, oldest id first."""
    c = ledger_transfers.c
    stmt = (
        select(ledger_transfers)
        .where(c.status == TransferStatus.PENDING.value, c.timeout_at <= now)
        .order_by(c.id)
        .with_for_update()
    )
    return [_transfer(r) for r in conn.execute(stmt)]


def list_accounts(
    conn: Connection, *, owner_id: str | None = None, kind: str | None = None
) -> list[Account]:
    stmt = select(ledger_accounts).order_by(ledger_accounts.c.id)
    if owner_id is not None:
        stmt = stmt.where(ledger_accounts.c.owner_id == owner_id)
    if kind is not None:
        stmt = stmt.where(ledger_accounts.c.kind == kind)
    return [_account(r) for r in conn.execute(stmt)]


def statement(
    conn: Connection, account_id: str, since: datetime | None, until: datetime | None
) -> list[Transfer]:
    c = ledger_transfers.c
    stmt = select(ledger_transfers).where(
        or_(c.debit_account_id == account_id, c.credit_account_id == account_id)
    )
    if since is not None:
        stmt = stmt.where(c.created_at >= since)
    if until is not None:
        stmt = stmt.where(c.created_at < until)
    return [_transfer(r) for r in conn.execute(stmt.order_by(c.created_at, c.id))]


def all_transfers(conn: Connection) -> list[Transfer]:
    return [_transfer(r) for r in conn.execute(select(ledger_transfers))]
