"""The ledger batch's statements: many transfers and many account totals at once.

A handful of statements for the whole batch, not a few per transfer. The writes go to the driver
directly with its own parameters: SQLAlchemy's processing of 13 parameters a row cost more than
the database spent storing the row. On PostgreSQL the rows travel as one array per column (one
statement, one round trip).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError

from suanli.ledger.batch import TOTALS
from suanli.ledger.model import TEXT_OF, Transfer
from suanli.store import audit_buffer
from suanli.store.driver import cursor, int_array, sent, text_array
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
        (t.id, TEXT_OF[t.kind], t.debit_account_id, t.credit_account_id, t.amount_minor,
         t.currency, TEXT_OF[t.status], t.pending_id, t.timeout_s, times[t.timeout_at], t.memo,
         times[t.created_at], times[t.resolved_at])
        for t in transfers
    ]  # fmt: skip


@cache
def _pg_insert_sql(shared: tuple[bool, ...]) -> str:
    """The INSERT for one shape of batch: a column whose value every row shares (a batch's
    time, kind, currency, memo...) is one parameter, the others one array each (the id always).
    Without a conflict clause: a taken id is an error (see ``insert_and_add``)."""
    arrays = [(i, t) for i, t in enumerate(_PG_TYPES) if not shared[i]]
    values = (f"%(c{i})s::{t}" if shared[i] else f"r.c{i}" for i, t in enumerate(_PG_TYPES))
    return (
        f"INSERT INTO ledger_transfers ({', '.join(_COLUMNS)}) SELECT {', '.join(values)} FROM"
        f" unnest({', '.join(f'%(c{i})s::{t}[]' for i, t in arrays)})"
        f" AS r({', '.join(f'c{i}' for i, _ in arrays)})"
    )


def _array(pg_type: str, column: tuple[Any, ...]) -> Any:
    """A column's values as one array parameter: a literal where the values allow one."""
    if pg_type == "text" and all(type(v) is str for v in column):
        return text_array(column)
    if pg_type in ("bigint", "integer") and all(type(v) is int for v in column):
        return int_array(column)
    return list(column)


def _pg_insert(conn: Connection, transfers: list[Transfer]) -> tuple[str, dict[str, Any]]:
    """The INSERT for ``transfers`` and its parameters: dumping an array costs the driver a
    little per element, and most of a batch's columns hold one value."""
    params: dict[str, Any] = {}
    shared: list[bool] = []
    for i, column in enumerate(zip(*_rows(conn, transfers), strict=True)):
        one = i > 0 and column.count(column[0]) == len(column)
        params[f"c{i}"] = column[0] if one else _array(_PG_TYPES[i], column)
        shared.append(one)
    return _pg_insert_sql(tuple(shared)), params


def insert_transfers(conn: Connection, transfers: list[Transfer]) -> int:
    """Insert many transfers in one statement; return how many were new (not already stored)."""
    if not transfers:
        return 0
    if conn.dialect.name == "postgresql":
        insert, params = _pg_insert(conn, transfers)
        sql = f"{insert} ON CONFLICT DO NOTHING RETURNING id"
        inserted = len(conn.exec_driver_sql(sql, params).all())
    else:
        rows = _rows(conn, transfers)
        inserted = int(conn.exec_driver_sql(_SQLITE_INSERT_TRANSFERS, rows).rowcount)
    if inserted:
        audit_buffer.wrote(conn, ledger_transfers.name)
    return inserted


def _pg_deltas(deltas: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    ordered = sorted(deltas.items())  # rows changed in id order, as the locks were taken
    params: dict[str, Any] = {"ids": text_array([account_id for account_id, _ in ordered])}
    for i, name in enumerate(TOTALS):
        params[name] = int_array(d[i] for _, d in ordered)
    return params


# PostgreSQL only: the batch's transfers and its totals in one statement, under a savepoint.
# A plain INSERT, not ON CONFLICT DO NOTHING: the speculative insertion that clause needs cost a
# fifth of the statement (1.6 of 8.3 ms for 1,000 rows), and ids are seldom taken. A taken id
# fails the whole statement, which is undone back to the savepoint.
_PG_SAVEPOINT = "SAVEPOINT ledger_batch"
_PG_UNDO = "ROLLBACK TO SAVEPOINT ledger_batch"


@dataclass
class Written:
    """What ``inserting_and_adding`` found once its block is left."""

    stored: bool = True  # False: an id was taken, and nothing was written


@contextmanager
def inserting_and_adding(
    conn: Connection, transfers: list[Transfer], deltas: Mapping[str, Sequence[int]]
) -> Iterator[Written]:
    """PostgreSQL: insert ``transfers`` and add ``deltas`` (as in ``add_to_many``) in one
    statement, running the caller's block while PostgreSQL writes (``driver.sent``). Once the
    block is left, ``stored`` is False, with nothing written, when a transfer's id was stored
    already (before, or by a concurrent writer that has committed since): the caller decides
    again, knowing it."""
    written = Written()
    if not transfers:
        yield written
        return
    insert, params = _pg_insert(conn, transfers)
    params |= _pg_deltas(deltas)
    statements = [(_PG_SAVEPOINT, None), (f"WITH ins AS ({insert}) {_PG_ADD_TO_MANY}", params)]
    block_done = False  # an error of the caller's own block is theirs, passed on as it is
    try:
        with sent(conn, statements):
            yield written
            block_done = True
    except IntegrityError as exc:
        if not block_done or not isinstance(exc.orig, psycopg.errors.UniqueViolation):
            raise
        with cursor(conn, _PG_UNDO) as cur:
            cur.execute(_PG_UNDO)
        written.stored = False
        return
    audit_buffer.wrote(conn, ledger_transfers.name)
    audit_buffer.wrote(conn, ledger_accounts.name)


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
