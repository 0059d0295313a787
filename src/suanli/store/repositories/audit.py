"""Rows of ``audit_log``: append a chained batch, read pages, find what has no entry.

Appending is the only write. It serialises on one lock so the log stays one chain whoever
writes at once: on PostgreSQL a transaction-scoped advisory lock, taken just before the insert
(the last lock a transaction takes, so it waits on nothing while holding it) and released by
the commit; on SQLite the writer already holds the database's write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, select

from suanli.domain.audit import (
    BATCH_ACTION,
    EMPTY,
    Actor,
    Draft,
    Entry,
    Head,
    batch_transfer_ids,
    canonical,
    seal,
)
from suanli.store.db import as_utc
from suanli.store.driver import cursor
from suanli.store.tables.audit import audit_log
from suanli.store.tables.ledger import ledger_transfers
from suanli.store.tables.vouchers import purchase_claims, voucher_applications

CHAIN_LOCK_KEY = 0x5A4C_A0D1  # the advisory lock that serialises appends ("audit")
PAGE = 2000
# Built once: every append runs the insert (and on SQLite the head read).
_insert = insert(audit_log)
_head = select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)


def head(conn: Connection) -> Head:
    row = conn.execute(_head).first()
    return EMPTY if row is None else Head(row.seq, row.hash)


# The lock and the head in one round trip: sent without parameters, the two statements go in
# one simple-protocol message, and each takes its own snapshot, so the head is read after the
# lock is held (as two separate statements would read it).
_PG_LOCK_AND_HEAD = (
    f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY});"
    " SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
)


def _locked_head(conn: Connection) -> Head:
    with cursor(conn, _PG_LOCK_AND_HEAD) as cur:
        cur.execute(_PG_LOCK_AND_HEAD)
        if not cur.nextset():
            raise RuntimeError("the audit head was not read after the chain's lock")
        row = cur.fetchone()
    return EMPTY if row is None else Head(row[0], row[1])


def append(
    conn: Connection, drafts: Sequence[Draft], actor: Actor, request_id: str, at: datetime
) -> list[Entry]:
    """Chain ``drafts`` after the newest entry and insert them, in this transaction."""
    if not drafts:
        return []
    latest = _locked_head(conn) if conn.dialect.name == "postgresql" else head(conn)
    entries = seal(drafts, latest, at, actor, request_id)
    if conn.dialect.name == "postgresql":  # every write's last statement: to the driver itself
        with cursor(conn, _PG_INSERT) as cur:
            cur.executemany(_PG_INSERT, [_values(e) for e in entries])
    else:
        conn.execute(_insert, [_row(e) for e in entries])
    return entries


_COLUMNS = tuple(audit_log.c.keys())  # the table's order, which ``_values`` follows
_PG_INSERT = (
    f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
)


def _values(e: Entry) -> tuple[Any, ...]:
    """An entry's values in ``_COLUMNS`` order."""
    return (e.seq, e.at, e.actor.token_id, e.actor.role, e.actor.org_id, e.actor.name, e.action,
            e.object_kind, e.object_id, e.request_id, e.change, e.change_digest, e.prev_hash,
            e.hash)  # fmt: skip


def _row(e: Entry) -> dict[str, Any]:
    return dict(zip(_COLUMNS, _values(e), strict=True))


def _entry(r: Any) -> Entry:
    return Entry(
        r.seq, as_utc(r.at), Actor(r.actor_token_id, r.actor_role, r.actor_org_id, r.actor_name),
        r.action, r.object_kind, r.object_id, r.request_id, r.change, r.change_digest,
        r.prev_hash, r.hash,
    )  # fmt: skip


def all_entries(conn: Connection) -> Iterator[Entry]:
    """Every entry in sequence order, read a page at a time (keyset on the sequence)."""
    after = 0
    while True:
        stmt = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
        rows = list(conn.execute(stmt.limit(PAGE)))
        yield from (_entry(r) for r in rows)
        if len(rows) < PAGE:
            return
        after = rows[-1].seq


def search(
    conn: Connection, *, actor: str | None = None, object_kind: str | None = None,
    object_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
    after_seq: int = 0, limit: int = 100,
) -> list[Entry]:  # fmt: skip
    """Entries after ``after_seq`` matching every filter given, oldest first. ``actor`` is a
    token id, a role or an organisation; the time range is ``[since, until)``."""
    c = audit_log.c
    stmt = select(audit_log).where(c.seq > after_seq)
    if actor is not None:
        stmt = stmt.where((c.actor_token_id == actor) | (c.actor_role == actor)
                          | (c.actor_org_id == actor))  # fmt: skip
    if object_kind is not None:
        stmt = stmt.where(_of_kind(object_kind))
    if object_id is not None:
        stmt = stmt.where(_names(object_id))
    if since is not None:
        stmt = stmt.where(c.at >= since)
    if until is not None:
        stmt = stmt.where(c.at < until)
    return [_entry(r) for r in conn.execute(stmt.order_by(c.seq).limit(limit))]


# A ledger batch's transfers share one entry (kind ``transfer_batch``) that lists them, so a
# search for one transfer also finds the batch entry whose list holds its id.
def _of_kind(kind: str) -> Any:
    c = audit_log.c
    if kind == "transfer":
        return (c.object_kind == kind) | (c.action == BATCH_ACTION)
    return c.object_kind == kind


def _names(object_id: str) -> Any:
    c = audit_log.c
    listed = c.change.contains(canonical(object_id), autoescape=True)
    return (c.object_id == object_id) | ((c.action == BATCH_ACTION) & listed)


def _logged(kind: str, column: Any, action: str | None = None) -> Any:
    where = [audit_log.c.object_kind == kind, audit_log.c.object_id == column]
    if action is not None:
        where.append(audit_log.c.action == action)
    return exists().where(and_(*where))


def unlogged_transfers(conn: Connection, limit: int = 1000) -> list[str]:
    """Ids of ledger transfers that no entry names nor any batch entry lists, oldest first."""
    t = ledger_transfers.c
    stmt = select(t.id).where(~_logged("transfer", t.id)).order_by(t.created_at, t.id)
    if not conn.scalars(stmt.limit(1)).first():
        return []
    # Transfers of batches are not named one by one: read the lists of the batch entries.
    listed: set[str] = set()
    batches = select(audit_log.c.change).where(audit_log.c.action == BATCH_ACTION)
    for change in conn.scalars(batches):
        listed.update(batch_transfer_ids(change))
    found: list[str] = []
    for transfer_id in conn.scalars(stmt):
        if transfer_id not in listed:
            found.append(transfer_id)
            if len(found) >= limit:
                break
    return found


def unlogged_decisions(conn: Connection, limit: int = 1000) -> list[tuple[str, str]]:
    """(kind, id) of decided applications and claims without a review entry."""
    found: list[tuple[str, str]] = []
    for kind, table in (("application", voucher_applications), ("claim", purchase_claims)):
        c = table.c
        stmt = (
            select(c.id)
            .where(c.status.in_(("approved", "rejected")), ~_logged(kind, c.id, f"{kind}.review"))
            .order_by(c.id)
            .limit(limit)
        )
        found += [(kind, i) for i in conn.scalars(stmt)]
    return found
