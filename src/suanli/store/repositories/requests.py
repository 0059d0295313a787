"""Rows of ``job_requests`` and ``placements``: what tenants asked the exchange for, and where
each request was placed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from suanli.domain.requests import Placement, StoredRequest
from suanli.store.db import as_utc
from suanli.store.repositories.rows import row_by_id
from suanli.store.tables.exchange import job_requests, placements
from suanli.store.tables.vouchers import program_budgets


def _request_of(row: Any) -> StoredRequest:
    m = row._mapping
    return StoredRequest(m["id"], m["tenant_id"], m["mode"], m["body"], m["status"],
                         m["reason"] or "", as_utc(m["created_at"]),
                         as_utc(m["updated_at"]))  # fmt: skip


def _placement_of(row: Any) -> Placement:
    m = row._mapping
    return Placement(m["request_id"], m["tenant_id"], m["offer_id"], m["method"], m["run_id"],
                     m["voucher_id"], m["program_id"], m["origin"],
                     float(m["accelerator_hours"]), m["quote"],
                     as_utc(m["created_at"]))  # fmt: skip


def get(conn: Connection, request_id: str, *, lock: bool = False) -> StoredRequest | None:
    row = row_by_id(conn, job_requests, request_id, lock=lock)
    return None if row is None else _request_of(row)


def add(
    conn: Connection, *, request_id: str, tenant_id: str, mode: str, body: dict[str, Any],
    status: str, reason: str, at: datetime,
) -> None:  # fmt: skip
    conn.execute(
        insert(job_requests).values(
            id=request_id,
            tenant_id=tenant_id,
            mode=mode,
            body=body,
            status=status,
            reason=reason,
            created_at=at,
            updated_at=at,
        )  # fmt: skip
    )


def set_status(
    conn: Connection, request_id: str, status: str, at: datetime, *, reason: str | None = None
) -> None:
    """A new status (and reason, when given: "" clears it)."""
    values: dict[str, Any] = {"status": status, "updated_at": at}
    if reason is not None:
        values["reason"] = reason
    conn.execute(update(job_requests).where(job_requests.c.id == request_id).values(**values))


def set_reason(conn: Connection, request_id: str, reason: str, at: datetime) -> None:
    conn.execute(
        update(job_requests)
        .where(job_requests.c.id == request_id)
        .values(reason=reason, updated_at=at)
    )


def pending(conn: Connection) -> list[StoredRequest]:
    """Every pending request, oldest first, locked: a cancellation (or a second batch) waits,
    and then finds it placed, not pending."""
    stmt = (
        select(job_requests)
        .where(job_requests.c.status == "pending")
        .order_by(job_requests.c.created_at, job_requests.c.id)
        .with_for_update()
    )
    return [_request_of(r) for r in conn.execute(stmt)]


def listed(
    conn: Connection, *, tenant_id: str | None = None, status: str | None = None
) -> list[StoredRequest]:
    stmt = select(job_requests).order_by(job_requests.c.created_at, job_requests.c.id)
    if tenant_id is not None:
        stmt = stmt.where(job_requests.c.tenant_id == tenant_id)
    if status is not None:
        stmt = stmt.where(job_requests.c.status == status)
    return [_request_of(r) for r in conn.execute(stmt)]


def placement_of(conn: Connection, request_id: str) -> Placement | None:
    row = conn.execute(select(placements).where(placements.c.request_id == request_id)).first()
    return None if row is None else _placement_of(row)


def add_placement(conn: Connection, placement: Placement) -> None:
    conn.execute(insert(placements).values(**placement.to_dict()))


def placed_hours_by_origin(conn: Connection, program_id: str) -> list[tuple[str, float]]:
    """(origin, accelerator-hours) of every placed request the program pays for."""
    rows = conn.execute(
        select(placements.c.origin, placements.c.accelerator_hours)
        .join(job_requests, job_requests.c.id == placements.c.request_id)
        .where(placements.c.program_id == program_id, job_requests.c.status == "placed")
    ).all()
    return [(o, float(h)) for o, h in rows]


def lock_program_budgets(conn: Connection, program_id: str) -> None:
    """Take the program's budget rows FOR UPDATE: placements under one domestic floor wait on
    each other (and on approvals, which take the same rows)."""
    conn.execute(
        select(program_budgets.c.year)
        .where(program_budgets.c.program_id == program_id)
        .with_for_update()
    ).all()
