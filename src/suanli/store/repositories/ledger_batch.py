"""The ledger batch's statements: many transfers and many account totals at once.

A handful of statements for the whole batch, not a few per transfer. The writes go to the driver
directly with its own parameters: SQLAlchemy's processing of 13 parameters a row cost more than
the database spent storing the row. On PostgreSQL the rows travel as one array per column (one
statement, one round trip).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, select

from suanli.ledger.batch import TOTALS
from suanli.ledger.model import Transfer, TransferKind, TransferStatus
from suanli.store import audit_buffer
from suanli.store.repositories.ledger import transfer_of
from suanli.store.tables.ledger import ledger_accounts, ledger_transfers

_ID_CHUNK = 900  # ids per IN (...): well under SQLite's bound-parameter limit
_GET_TRANSFERS = select(ledger_transfers).where(
    ledger_transfers.c.id.in_(bindparam("ids", expanding=True))
)
# A join on the unnested array, not ``id = ANY(array)``: once the driver prepares the statement,
# PostgreSQL's generic plan compared every row of the table with every id of the array (0.7 s
# for 1,000 ids against 30,000 transfers); the join probes the primary key once per id.
_PG_GET_TRANSFERS = (
    "SELECT t.* FROM unnest(%(ids)s::text[]) AS wanted(id) JOIN ledger_transfers AS t"
    " ON t.id = wanted.id"
)


def get_transfers(conn: Connection, transfer_ids: Iterable[str]) -> dict[str, Transfer]:
    """The stored transfers among ``transfer_ids``, by id (absent ids are left out)."""
    ids = sorted(set(transfer_ids))
    if conn.dialect.name == "postgresql":  # one array parameter, whatever the count
        rows = conn.exec_driver_sql(_PG_GET_TRANSFERS, {"ids": ids})
        return {t.id: t for t in map(transfer_of, rows)}
    found: dict[str, Transfer] = {}
    for i in range(0, len(ids), _ID_CHUNK):
        for row in conn.execute(_GET_TRANSFERS, {"ids": ids[i : i + _ID_CHUNK]}):
            t = transfer_of(row)
            found[t.id] = t
    return found


_COLUMNS = ("id", "kind", "debit_account_id", "credit_account_id", "amount_minor", "currency",
            "status", "pending_id", "timeout_s", "timeout_at", "memo", "created_at",
            "resolved_at")  # fmt: skip
_PG_TYPES = ("text", "text", "text", "text", "bigint", "text", "text", "text", "integer",
             "timestamptz", "text", "timestamptz", "timestamptz")  # fmt: skip
_SQLITE_INSERT_TRANSFERS = (
    f"INSERT OR IGNORE INTO ledger_transfers ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_COLUMNS))})"
)
_PG_ADD_TO_MANY = (
    "UPDATE ledger_accounts AS a SET "
    + ", ".join(f"{n} = a.{n} + v.{n}" for n in TOTALS)
    + " FROM unnest(%(ids)s::text[], "
    + ", ".join(f"%({n})s::bigint[]" for n in TOTALS)
    + f") AS v(id, {', '.join(TOTALS)}) WHERE a.id = v.id"
)
_SQLITE_ADD_TO_MANY = (
    "UPDATE ledger_accounts SET " + ", ".join(f"{n} = {n} + ?" for n in TOTALS) + " WHERE id = ?"
)


# Members' values by lookup: ``member.value`` is a descriptor call in CPython 3.11.
_VALUE: dict[TransferKind | TransferStatus, str] = {
    m: m.value for m in (*TransferKind, *TransferStatus)
}


def _time_processor(conn: Connection) -> Callable[[datetime | None], Any]:
    processor = ledger_transfers.c.created_at.type.dialect_impl(conn.dialect).bind_processor(
        conn.dialect
    )
    return processor or (lambda value: value)


def _rows(conn: Connection, transfers: list[Transfer]) -> list[tuple[Any, ...]]:
    as_time = _time_processor(conn)
    times: dict[datetime | None, Any] = {None: None}  # a batch shares its few distinct times
    for t in transfers:
        for at in (t.timeout_at, t.created_at, t.resolved_at):
            if at not in times:
                times[at] = as_time(at)
    return [
        (t.id, _VALUE[t.kind], t.debit_account_id, t.credit_account_id, t.amount_minor,
         t.currency, _VALUE[t.status], t.pending_id, t.timeout_s, times[t.timeout_at], t.memo,
         times[t.created_at], times[t.resolved_at])
        for t in transfers
    ]  # fmt: skip


@cache
def _pg_insert_sql(shared: tuple[bool, ...]) -> str:
    """The INSERT for one shape of batch: a column whose value every row shares (a batch's
    time, kind, currency, memo...) is one parameter, the others one array each (the id always)."""
    arrays = [(i, t) for i, t in enumerate(_PG_TYPES) if not shared[i]]
    values = (f"%(c{i})s::{t}" if shared[i] else f"r.c{i}" for i, t in enumerate(_PG_TYPES))
    return (
        f"INSERT INTO ledger_transfers ({', '.join(_COLUMNS)}) SELECT {', '.join(values)} FROM"
        f" unnest({', '.join(f'%(c{i})b::{t}[]' for i, t in arrays)})"
        f" AS r({', '.join(f'c{i}' for i, _ in arrays)}) ON CONFLICT DO NOTHING RETURNING id"
    )


def _pg_insert(conn: Connection, transfers: list[Transfer]) -> tuple[str, dict[str, Any]]:
    """The INSERT for ``transfers`` and its parameters: dumping an array costs the driver a
    little per element, and most of a batch's columns hold one value."""
    params: dict[str, Any] = {}
    shared: list[bool] = []
    for i, column in enumerate(zip(*_rows(conn, transfers), strict=True)):
        one = i > 0 and column.count(column[0]) == len(column)
        params[f"c{i}"] = column[0] if one else list(column)
        shared.append(one)
    return _pg_insert_sql(tuple(shared)), params


def insert_transfers(conn: Connection, transfers: list[Transfer]) -> int:
    """Insert many transfers in one statement; return how many were new (not already stored)."""
    if not transfers:
        return 0
    if conn.dialect.name == "postgresql":
        inserted = len(conn.exec_driver_sql(*_pg_insert(conn, transfers)).all())
    else:
        rows = _rows(conn, transfers)
        inserted = int(conn.exec_driver_sql(_SQLITE_INSERT_TRANSFERS, rows).rowcount)
    if inserted:
        audit_buffer.wrote(conn, ledger_transfers.name)
    return inserted


def _pg_deltas(deltas: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    ordered = sorted(deltas.items())  # rows changed in id order, as the locks were taken
    params: dict[str, Any] = {"ids": [account_id for account_id, _ in ordered]}
    for i, name in enumerate(TOTALS):
        params[name] = [d[i] for _, d in ordered]
    return params


# PostgreSQL only: the batch's transfers and its totals in one statement (one round trip). The
# totals change only if every transfer was new; the ids inserted come back, so a caller that
# finds one stored already removes the others (``delete_transfers``) and decides again.
_PG_AND_ADD = (
    "), counted AS (SELECT count(*) AS inserted FROM ins), upd AS ("
    + _PG_ADD_TO_MANY
    + " AND (SELECT inserted FROM counted) = %(n)s::bigint)"
    # One row back, not one per transfer; the ids only when some were taken.
    " SELECT CASE WHEN inserted <> %(n)s::bigint THEN"
    " (SELECT coalesce(array_agg(id), '{}') FROM ins) END FROM counted"
)
_PG_DELETE_TRANSFERS = (
    "DELETE FROM ledger_transfers AS t USING unnest(%(ids)s::text[]) AS gone(id)"
    " WHERE t.id = gone.id"
)


def insert_and_add(
    conn: Connection, transfers: list[Transfer], deltas: Mapping[str, Sequence[int]]
) -> list[str] | None:
    """PostgreSQL: insert ``transfers`` and, if every one was new, add ``deltas`` (as in
    ``add_to_many``), in one statement. None: all inserted, totals added; else the ids that
    were inserted (some id was stored already), the totals left alone."""
    if not transfers:
        return None
    insert, params = _pg_insert(conn, transfers)
    params |= _pg_deltas(deltas) | {"n": len(transfers)}
    sql = f"WITH ins AS ({insert}{_PG_AND_ADD}"
    inserted: list[str] | None = conn.exec_driver_sql(sql, params).scalar_one()
    if inserted is None:
        audit_buffer.wrote(conn, ledger_transfers.name)
        audit_buffer.wrote(conn, ledger_accounts.name)
    return inserted


def delete_transfers(conn: Connection, transfer_ids: list[str]) -> None:
    """PostgreSQL: remove transfers this transaction inserted (``insert_and_add`` found one of
    its batch stored already); nothing else ever deletes a transfer."""
    if transfer_ids:
        conn.exec_driver_sql(_PG_DELETE_TRANSFERS, {"ids": transfer_ids})


def add_to_many(conn: Connection, deltas: Mapping[str, Sequence[int]]) -> None:
    """Add to the totals of many accounts in one statement: account id -> the four deltas in
    ``TOTALS`` order. Rows are changed in id order, as the locks were taken."""
    if not deltas:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_PG_ADD_TO_MANY, _pg_deltas(deltas))
    else:
        rows = [(*d, account_id) for account_id, d in sorted(deltas.items())]
        conn.exec_driver_sql(_SQLITE_ADD_TO_MANY, rows)
    audit_buffer.wrote(conn, ledger_accounts.name)
