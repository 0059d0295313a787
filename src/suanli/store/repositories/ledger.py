"""Rows <-> ledger accounts and transfers, with the row locks the ledger service relies on.

Inserts use ``ON CONFLICT DO NOTHING`` and report whether a row was written: when a concurrent
unit of work stored the same id (or resolved the same hold) first, PostgreSQL waits for it and
the caller reads the winner instead of failing its whole transaction.

The statements on the transfer path are built once with bound parameters: building a fresh
statement per call cost more Python time than the database spent running it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Table,
    bindparam,
    case,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from suanli.ledger.batch import TOTALS
from suanli.ledger.model import Account, AccountKind, Transfer, TransferKind, TransferStatus
from suanli.store.db import as_utc
from suanli.store.driver import cursor, text_array
from suanli.store.tables.ledger import OPEN_HOLD, ledger_accounts, ledger_transfers

_ACCOUNT_KINDS = {k.value: k for k in AccountKind}  # a dict lookup, not the Enum class's call


def _account(row: Any) -> Account:
    m = row._mapping
    return Account(
        id=m["id"],
        kind=_ACCOUNT_KINDS[m["kind"]],
        currency=m["currency"],
        owner_id=m["owner_id"],
        posted_debits=int(m["posted_debits"]),
        posted_credits=int(m["posted_credits"]),
        pending_debits=int(m["pending_debits"]),
        pending_credits=int(m["pending_credits"]),
        created_at=as_utc(m["created_at"]),
    )


def transfer_of(row: Any) -> Transfer:
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
        timeout_at=as_utc(m["timeout_at"]),
        memo=m["memo"],
        created_at=as_utc(m["created_at"]),
        resolved_at=as_utc(m["resolved_at"]),
    )


def _insert_or_ignore(table: Table) -> dict[str, Insert]:
    # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    return {
        name: dialect.insert(table).on_conflict_do_nothing().returning(table.c.id)
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    }


_INSERT = {t.name: _insert_or_ignore(t) for t in (ledger_accounts, ledger_transfers)}
_GET_ACCOUNT = select(ledger_accounts).where(ledger_accounts.c.id == bindparam("id"))
_LOCK_ACCOUNTS = (
    select(ledger_accounts)
    .where(ledger_accounts.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(ledger_accounts.c.id)
    .with_for_update()
)
_GET_TRANSFER = select(ledger_transfers).where(ledger_transfers.c.id == bindparam("id"))
_TOTALS = TOTALS
_ADD_TO_TOTALS = (
    update(ledger_accounts)
    .where(ledger_accounts.c.id == bindparam("account_id"))
    .values({name: ledger_accounts.c[name] + bindparam(f"d_{name}") for name in _TOTALS})
)


def _case(name: str) -> Any:
    c = ledger_accounts.c
    return c[name] + case(
        (c.id == bindparam("a_id"), bindparam(f"a_{name}")),
        else_=bindparam(f"b_{name}"),
    )


_ADD_TO_PAIR = (
    update(ledger_accounts)
    .where(ledger_accounts.c.id.in_([bindparam("a_id"), bindparam("b_id")]))
    .values({name: _case(name) for name in _TOTALS})
)


def _insert_ignoring_conflicts(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    stmt = _INSERT[table.name][conn.dialect.name]
    return conn.execute(stmt, values).first() is not None


def get_account(conn: Connection, account_id: str) -> Account | None:
    row = conn.execute(_GET_ACCOUNT, {"id": account_id}).first()
    return None if row is None else _account(row)


# On PostgreSQL: one array parameter, sent to the driver as it is (no statement rendered per
# count of ids), joined so that the primary key is probed once per id; the columns in
# ``Account``'s field order, read in binary by the driver itself (``store.driver``).
_PG_LOCK_ACCOUNTS = (
    "SELECT a.id, a.kind, a.currency, a.owner_id, a.posted_debits, a.posted_credits,"
    " a.pending_debits, a.pending_credits, a.created_at"
    " FROM unnest(%(ids)s::text[]) AS wanted(id) JOIN ledger_accounts AS a"
    " ON a.id = wanted.id ORDER BY a.id FOR UPDATE OF a"
)


def lock_accounts(conn: Connection, account_ids: Iterable[str]) -> dict[str, Account]:
    """Read and lock accounts in id order, so two writers never wait on each other in a cycle."""
    ids = sorted(set(account_ids))
    if conn.dialect.name == "postgresql":
        with cursor(conn, _PG_LOCK_ACCOUNTS, binary=True) as cur:
            cur.execute(_PG_LOCK_ACCOUNTS, {"ids": text_array(ids)})
            kinds = _ACCOUNT_KINDS
            return {r[0]: Account(r[0], kinds[r[1]], *r[2:]) for r in cur.fetchall()}
    return {a.id: a for a in map(_account, conn.execute(_LOCK_ACCOUNTS, {"ids": ids}))}


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
    unknown = set(deltas) - set(_TOTALS)
    if unknown:
        raise ValueError(f"not an account total: {sorted(unknown)}")
    params = {f"d_{name}": deltas.get(name, 0) for name in _TOTALS}
    conn.execute(_ADD_TO_TOTALS, {"account_id": account_id, **params})


def add_to_pair(
    conn: Connection, a_id: str, a_deltas: dict[str, int], b_id: str, b_deltas: dict[str, int]
) -> None:
    """Add to the totals of two different accounts in one statement (one round trip)."""
    params = {"a_id": a_id, "b_id": b_id}
    for name in _TOTALS:
        params[f"a_{name}"] = a_deltas.get(name, 0)  # type: ignore[assignment]
        params[f"b_{name}"] = b_deltas.get(name, 0)  # type: ignore[assignment]
    conn.execute(_ADD_TO_PAIR, params)


def get_transfer(conn: Connection, transfer_id: str, *, lock: bool = False) -> Transfer | None:
    stmt = _GET_TRANSFER.with_for_update() if lock else _GET_TRANSFER
    row = conn.execute(stmt, {"id": transfer_id}).first()
    return None if row is None else transfer_of(row)


def insert_transfer(conn: Connection, t: Transfer) -> bool:
    return _insert_ignoring_conflicts(conn, ledger_transfers, _transfer_values(t))


def _transfer_values(t: Transfer) -> dict[str, Any]:
    return {
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


def resolve_hold(conn: Connection, hold_id: str, status: TransferStatus, at: datetime) -> None:
    c = ledger_transfers.c
    stmt = update(ledger_transfers).where(c.id == hold_id, c.status == TransferStatus.PENDING.value)
    conn.execute(stmt.values(status=status.value, resolved_at=at))


HOLDS_DUE = (
    select(ledger_transfers)
    .where(OPEN_HOLD, ledger_transfers.c.timeout_at <= bindparam("now"))
    .order_by(ledger_transfers.c.id)
    .with_for_update()
)


def holds_due(conn: Connection, now: datetime) -> list[Transfer]:
    """Open holds whose timeout has passed, locked, oldest id first."""
    return [transfer_of(r) for r in conn.execute(HOLDS_DUE, {"now": now})]


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
    return [transfer_of(r) for r in conn.execute(stmt.order_by(c.created_at, c.id))]


def all_transfers(conn: Connection) -> list[Transfer]:
    return [transfer_of(r) for r in conn.execute(select(ledger_transfers))]


_RESOLVE_HOLD = (
    update(ledger_transfers)
    .where(
        ledger_transfers.c.id == bindparam("hold_id"),
        ledger_transfers.c.status == TransferStatus.PENDING.value,
    )
    .values(status=bindparam("new_status"), resolved_at=bindparam("at"))
)


def resolve_holds(
    conn: Connection, hold_ids: list[str], status: TransferStatus, at: datetime
) -> None:
    if hold_ids:
        rows = [{"hold_id": h, "new_status": status.value, "at": at} for h in hold_ids]
        conn.execute(_RESOLVE_HOLD, rows)
