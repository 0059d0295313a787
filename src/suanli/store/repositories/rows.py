"""Reading one row by its id, optionally locked for a read-modify-write."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, select


def row_by_id(
    conn: Connection, table: Table, record_id: str, *, key: str = "id", lock: bool = False
) -> Any:
    """The row whose ``key`` column is ``record_id``, or None. ``lock`` takes it FOR UPDATE
    (PostgreSQL; SQLite's writers are already serialised by BEGIN IMMEDIATE)."""
    stmt = select(table).where(table.c[key] == record_id)
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()
