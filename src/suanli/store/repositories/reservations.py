"""Rows of ``reservations``: an offer's capacity calendar."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from suanli.domain.jobs import FINAL_STATUS
from suanli.domain.requests import Reservation
from suanli.store.db import as_utc
from suanli.store.tables.exchange import reservations
from suanli.store.tables.foundation import offers, sites
from suanli.store.tables.runs import runs


def still_busy(
    conn: Connection, now: datetime, offer_ids: Iterable[str] | None = None
) -> list[Reservation]:
    """Active reservations that still matter: not ended, and their run not finished."""
    finished = select(runs.c.id).where(runs.c.status.in_([s.value for s in FINAL_STATUS.values()]))
    stmt = select(reservations).where(
        reservations.c.status == "active",
        reservations.c.end_at > now,
        reservations.c.id.not_in(finished),
    )
    if offer_ids is not None:
        stmt = stmt.where(reservations.c.offer_id.in_(list(offer_ids)))
    return [reservation_of(r) for r in conn.execute(stmt)]


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


def reservation_of(row: Any) -> Reservation:
    m = row._mapping
    return Reservation(m["id"], m["request_id"], m["tenant_id"], m["offer_id"],
                       as_utc(m["start_at"]), as_utc(m["end_at"]), int(m["accelerators"]),
                       m["status"], as_utc(m["created_at"]),
                       as_utc(m["released_at"]))  # fmt: skip


def get(conn: Connection, reservation_id: str) -> Reservation | None:
    row = conn.execute(select(reservations).where(reservations.c.id == reservation_id)).first()
    return None if row is None else reservation_of(row)


def any_for_request(conn: Connection, request_id: str) -> bool:
    stmt = select(reservations.c.id).where(reservations.c.request_id == request_id).limit(1)
    return conn.execute(stmt).first() is not None


def tenant_active_on(
    conn: Connection, tenant_id: str, offer_ids: list[str], after: datetime
) -> list[tuple[datetime, datetime, int]]:
    """(start, end, accelerators) of the tenant's active reservations on these offers that end
    after ``after``."""
    rows = conn.execute(
        select(reservations.c.start_at, reservations.c.end_at, reservations.c.accelerators).where(
            reservations.c.tenant_id == tenant_id,
            reservations.c.status == "active",
            reservations.c.offer_id.in_(offer_ids),
            reservations.c.end_at > after,
        )
    ).all()
    return [(as_utc(s), as_utc(e), int(a)) for s, e, a in rows]


def release_request(conn: Connection, request_id: str, at: datetime) -> None:
    conn.execute(
        update(reservations)
        .where(reservations.c.request_id == request_id, reservations.c.status == "active")
        .values(status="released", released_at=at)
    )


def visible(
    conn: Connection, *, tenant_id: str | None = None, provider_id: str | None = None,
    offer_id: str | None = None, request_id: str | None = None, active_only: bool = False,
) -> list[Reservation]:  # fmt: skip
    """Reservations, earliest first: a tenant's, those on a provider's offers, or all."""
    stmt = select(reservations).order_by(reservations.c.start_at, reservations.c.id)
    if tenant_id is not None:
        stmt = stmt.where(reservations.c.tenant_id == tenant_id)
    if provider_id is not None:
        mine = select(offers.c.id).join(sites, sites.c.id == offers.c.site_id)
        stmt = stmt.where(
            reservations.c.offer_id.in_(mine.where(sites.c.provider_id == provider_id))
        )
    if offer_id is not None:
        stmt = stmt.where(reservations.c.offer_id == offer_id)
    if request_id is not None:
        stmt = stmt.where(reservations.c.request_id == request_id)
    if active_only:
        stmt = stmt.where(reservations.c.status == "active")
    return [reservation_of(r) for r in conn.execute(stmt)]


def scarce_held(
    conn: Connection, tenant_ids: list[str], models: list[str], now: datetime, horizon: datetime
) -> list[tuple[str, datetime, datetime, int]]:
    """(tenant, start, end, accelerators) of the tenants' active reservations on these models
    that overlap [now, horizon) and whose run has not finished."""
    finished = select(runs.c.id).where(runs.c.status.in_([s.value for s in FINAL_STATUS.values()]))
    r = reservations.c
    rows = conn.execute(
        select(r.tenant_id, r.start_at, r.end_at, r.accelerators)
        .join(offers, offers.c.id == r.offer_id)
        .where(
            r.tenant_id.in_(tenant_ids),
            r.status == "active",
            r.end_at > now,
            r.start_at < horizon,
            r.id.not_in(finished),
            offers.c.accelerator_id.in_(models),
        )
    ).all()
    return [(t, as_utc(s), as_utc(e), int(a)) for t, s, e, a in rows]
