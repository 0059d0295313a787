"""Rows <-> applications, vouchers and claims, and the locked budget and commitment rows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from suanli.domain.vouchers import Application, Claim, Status, Voucher
from suanli.store.db import as_utc
from suanli.store.repositories.rows import row_by_id
from suanli.store.tables.foundation import tenants
from suanli.store.tables.vouchers import (
    program_budgets,
    program_commitments,
    purchase_claims,
    voucher_applications,
    vouchers,
)

Record = TypeVar("Record", Application, Voucher, Claim)
TABLES: dict[type[Any], Table] = {
    Application: voucher_applications,
    Voucher: vouchers,
    Claim: purchase_claims,
}
_TUPLES = ("reasons", "lines", "milestones")


def _record(kind: type[Record], row: Any) -> Record:
    m = row._mapping
    values: dict[str, Any] = {}
    for f in dataclasses.fields(kind):
        value = as_utc(m[f.name])
        if f.name in _TUPLES:
            value = tuple(value)
        elif f.name == "status":
            value = Status(value)
        values[f.name] = value
    return kind(**values)


def _row(record: Any, **extra: Any) -> dict[str, Any]:
    values = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    for name in _TUPLES:
        if name in values:
            values[name] = list(values[name])
    if "status" in values:
        values["status"] = values["status"].value
    if "facts" in values:
        values["facts"] = dict(values["facts"])
    if "reasons" in values:
        values["reasons"] = [dict(r) for r in values["reasons"]]
    return {**values, **extra}


def get(
    conn: Connection, kind: type[Record], record_id: str, *, lock: bool = False
) -> Record | None:
    row = row_by_id(conn, TABLES[kind], record_id, lock=lock)
    return None if row is None else _record(kind, row)


def list_all(conn: Connection, kind: type[Record], **where: Any) -> list[Record]:
    table = TABLES[kind]
    stmt = select(table).order_by(table.c.created_at, table.c.id)
    for column, value in where.items():
        if value is not None:
            stmt = stmt.where(table.c[column] == value)
    return [_record(kind, row) for row in conn.execute(stmt)]


def add(conn: Connection, record: Any, **extra: Any) -> None:
    conn.execute(insert(TABLES[type(record)]).values(**_row(record, **extra)))


def replace(conn: Connection, record: Any, **extra: Any) -> None:
    table = TABLES[type(record)]
    conn.execute(update(table).where(table.c.id == record.id).values(**_row(record, **extra)))


def claim_for_invoice(conn: Connection, invoice_key: str) -> str | None:
    stmt = select(purchase_claims.c.id).where(purchase_claims.c.invoice_key == invoice_key)
    return conn.execute(stmt).scalar()


def _insert_ignoring_conflicts(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def lock_tenant(conn: Connection, tenant_id: str) -> None:
    """Lock the tenant's registry row until the transaction ends (SQLite: the writer lock)."""
    conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update())


def lock_budget(
    conn: Connection, program_id: str, year: int, budget_fen: int | None, account_id: str
) -> dict[str, Any]:
    """The program-year's budget row, created on first use, locked until the transaction ends."""
    values = {
        "program_id": program_id,
        "year": year,
        "budget_fen": budget_fen,
        "account_id": account_id,
        "created_at": datetime.now(UTC),
    }
    _insert_ignoring_conflicts(conn, program_budgets, values)
    c = program_budgets.c
    stmt = select(program_budgets).where(c.program_id == program_id, c.year == year)
    row = conn.execute(stmt.with_for_update()).one()
    return dict(row._mapping)


def budget_rows(conn: Connection, program_id: str) -> list[dict[str, Any]]:
    c = program_budgets.c
    stmt = select(program_budgets).where(c.program_id == program_id).order_by(c.year)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def lock_commitment(conn: Connection, program_id: str, entity_id: str, period: str) -> int:
    """What the entity has been awarded in the period, its row locked until the end."""
    key = {"program_id": program_id, "entity_id": entity_id, "period": period}
    _insert_ignoring_conflicts(conn, program_commitments, {**key, "committed_fen": 0})
    c = program_commitments.c
    stmt = select(c.committed_fen).where(
        c.program_id == program_id, c.entity_id == entity_id, c.period == period
    )
    return int(conn.execute(stmt.with_for_update()).scalar_one())


def commitment(conn: Connection, program_id: str, entity_id: str, period: str) -> int:
    c = program_commitments.c
    stmt = select(c.committed_fen).where(
        c.program_id == program_id, c.entity_id == entity_id, c.period == period
    )
    return int(conn.execute(stmt).scalar() or 0)


def add_commitment(
    conn: Connection, program_id: str, entity_id: str, period: str, amount_fen: int
) -> None:
    c = program_commitments.c
    conn.execute(
        update(program_commitments)
        .where(c.program_id == program_id, c.entity_id == entity_id, c.period == period)
        .values(committed_fen=c.committed_fen + amount_fen)
    )


def commitments_of(conn: Connection, program_id: str) -> list[dict[str, Any]]:
    c = program_commitments.c
    stmt = select(program_commitments).where(c.program_id == program_id)
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(c.entity_id, c.period))]
