"""Rows of ``reservations``: an offer's capacity calendar."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from suanli.domain.jobs import FINAL_STATUS
from suanli.store.tables.exchange import reservations
from suanli.store.tables.runs import runs


def still_busy(
    conn: Connection, now: datetime, offer_ids: Iterable[str] | None = None
) -> list[Any]:
    """Active reservations that still matter: not ended, and their run not finished."""
    finished = select(runs.c.id).where(runs.c.status.in_([s.value for s in FINAL_STATUS.values()]))
    stmt = select(reservations).where(
        reservations.c.status == "active",
        reservations.c.end_at > now,
        reservations.c.id.not_in(finished),
    )
    if offer_ids is not None:
        stmt = stmt.where(reservations.c.offer_id.in_(list(offer_ids)))
    return list(conn.execute(stmt))


def add(
    conn: Connection, *, reservation_id: str, request_id: str, tenant_id: str, offer_id: str,
    start_at: datetime, end_at: datetime, accelerators: int, created_at: datetime,
) -> None:  # fmt: skip
    conn.execute(
        insert(reservations).values(
            id=reservation_id,
            request_id=request_id,
            tenant_id=tenant_id,
            offer_id=offer_id,
            start_at=start_at,
            end_at=end_at,
            accelerators=accelerators,
            status="active",
            created_at=created_at,
        )  # fmt: skip
    )


def release(conn: Connection, reservation_id: str, at: datetime) -> None:
    conn.execute(
        update(reservations)
        .where(reservations.c.id == reservation_id, reservations.c.status == "active")
        .values(status="released", released_at=at)
    )


def get(conn: Connection, reservation_id: str) -> Any:
    return conn.execute(select(reservations).where(reservations.c.id == reservation_id)).first()


def any_for_request(conn: Connection, request_id: str) -> bool:
    stmt = select(reservations.c.id).where(reservations.c.request_id == request_id).limit(1)
    return conn.execute(stmt).first() is not None
