"""Rows <-> domain records for providers, sites, offers and tenants."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, delete, insert, select, update

from suanli.domain.registry import TUPLE_FACTS, Offer, Provider, Site, Tenant, TenantProposal
from suanli.store.db import as_utc
from suanli.store.repositories.rows import row_by_id
from suanli.store.tables.foundation import offers, providers, sites, tenant_proposals, tenants

Record = TypeVar("Record", Provider, Site, Offer, Tenant)

TABLES: dict[type[Any], Table] = {Provider: providers, Site: sites, Offer: offers, Tenant: tenants}
_TUPLE_FIELDS = TUPLE_FACTS


# Each record kind's fields, with whether it is stored as a list and read as a tuple.
_COLUMNS: dict[type[Any], tuple[tuple[str, bool], ...]] = {
    kind: tuple((f.name, f.name in _TUPLE_FIELDS) for f in dataclasses.fields(kind))
    for kind in TABLES
}


def to_record(kind: type[Record], row: Any) -> Record:
    data = row._mapping
    values: dict[str, Any] = {}
    for name, is_tuple in _COLUMNS[kind]:
        value = as_utc(data[name])
        values[name] = tuple(value or ()) if is_tuple else value
    return kind(**values)


def to_row(record: Any) -> dict[str, Any]:
    values = dataclasses.asdict(record)
    for name in _TUPLE_FIELDS:
        if name in values:
            values[name] = list(values[name])
    return values


def get(
    conn: Connection, kind: type[Record], record_id: str, *, lock: bool = False
) -> Record | None:
    row = row_by_id(conn, TABLES[kind], record_id, lock=lock)
    return None if row is None else to_record(kind, row)


def list_all(
    conn: Connection, kind: type[Record], *, include_retired: bool = False, **where: Any
) -> list[Record]:
    table = TABLES[kind]
    stmt = select(table).order_by(table.c.id)
    for column, value in where.items():
        if value is not None:
            stmt = stmt.where(table.c[column] == value)
    if not include_retired:
        stmt = stmt.where(table.c.retired_at.is_(None))
    rows = conn.execute(stmt).all()
    values = [tuple(row) for row in rows]
    key = (kind, include_retired, tuple(sorted(where.items())))
    kept = _LISTED.get(key)
    if kept is not None and kept[0] == values:
        return list(kept[1])
    records = [to_record(kind, row) for row in rows]
    if len(_LISTED) >= _LISTED_LIMIT:
        _LISTED.clear()
    _LISTED[key] = (values, tuple(records))
    return records


# The records of the last listing per kind and filter, with the rows they were read from: the
# same rows give back the same (frozen) record objects, so what a quote keeps for an offer set
# (``domain.quote_vector.table_of``, the screening) is found again while the registry is
# unchanged. Rows are compared whole (every column, ``updated_at`` among them).
_LISTED: dict[tuple[Any, ...], tuple[list[tuple[Any, ...]], tuple[Any, ...]]] = {}
_LISTED_LIMIT = 64


def add(conn: Connection, record: Any) -> None:
    now = datetime.now(UTC)
    conn.execute(
        insert(TABLES[type(record)]).values(**to_row(record), created_at=now, updated_at=now)
    )


def replace(conn: Connection, record: Any) -> None:
    table = TABLES[type(record)]
    values = to_row(record)
    conn.execute(
        update(table).where(table.c.id == record.id).values(**values, updated_at=datetime.now(UTC))
    )


# Facts a tenant proposes about itself, until a reviewer decides (one open proposal a tenant).


def get_proposal(conn: Connection, tenant_id: str, *, lock: bool = False) -> TenantProposal | None:
    row = row_by_id(conn, tenant_proposals, tenant_id, key="tenant_id", lock=lock)
    if row is None:
        return None
    return TenantProposal(row.tenant_id, dict(row.facts), row.proposed_by, as_utc(row.proposed_at))


def put_proposal(conn: Connection, proposal: TenantProposal) -> None:
    conn.execute(delete(tenant_proposals).where(tenant_proposals.c.tenant_id == proposal.tenant_id))
    conn.execute(
        insert(tenant_proposals).values(
            tenant_id=proposal.tenant_id,
            facts=dict(proposal.facts),
            proposed_by=proposal.proposed_by,
            proposed_at=proposal.proposed_at,
        )  # fmt: skip
    )


def drop_proposal(conn: Connection, tenant_id: str) -> None:
    conn.execute(delete(tenant_proposals).where(tenant_proposals.c.tenant_id == tenant_id))
