"""Capacity: an offer's reservations, and reserving a window on it under the offer's row lock.

The one way to take capacity, for online and batch placement and for a run's fallback attempt:
lock the offer's row (``FOR UPDATE``; on SQLite writers are serialised anyway), read the
reservations that still matter, check the window against them, insert. Two writers therefore
never both see the same free accelerators.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from suanli.domain.exchange import Busy, earliest_start, fits
from suanli.domain.requests import Reservation
from suanli.errors import NotFoundError
from suanli.store.db import as_utc
from suanli.store.repositories import reservations as repo
from suanli.store.repositories.rows import row_by_id
from suanli.store.tables.foundation import offers
from suanli.store.uow import UnitOfWork


def busy_by_offer(
    uow: UnitOfWork, now: datetime, offer_ids: Iterable[str] | None = None
) -> dict[str, list[Busy]]:
    """Active reservations that still matter: not ended, and their run not finished."""
    out: dict[str, list[Busy]] = defaultdict(list)
    for r in repo.still_busy(uow.conn, now, offer_ids):
        out[r.offer_id].append(Busy(r.start_at, r.end_at, r.accelerators))
    return dict(out)


def _lock_offer(uow: UnitOfWork, offer_id: str) -> Any:
    row = row_by_id(uow.conn, offers, offer_id, lock=True)
    if row is None:
        raise NotFoundError("offer", offer_id)
    return row


def reserve(
    uow: UnitOfWork,
    *,
    reservation_id: str,
    request_id: str,
    tenant_id: str,
    offer_id: str,
    accelerators: int,
    duration: timedelta,
    start: datetime,
    flexible: bool,
    not_after: datetime | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """Reserve ``accelerators`` for ``duration`` from ``start`` (or, if ``flexible``, the first
    fitting start after it, ending by ``not_after``). Locks the offer first, so two submissions
    never both see the same free capacity. Returns the start, or None when it does not fit."""
    offer = _lock_offer(uow, offer_id)
    now = now or datetime.now(UTC)
    busy = busy_by_offer(uow, now, [offer_id]).get(offer_id, [])
    until = min(as_utc(offer.available_until), not_after or as_utc(offer.available_until))
    begin = max(start, as_utc(offer.available_from))
    if flexible:
        found = earliest_start(offer.count, busy, accelerators, duration, begin, until)
    else:
        ok = begin == start and start + duration <= until
        found = (
            start if ok and fits(offer.count, busy, accelerators, start, start + duration) else None
        )
    if found is None:
        return None
    repo.add(
        uow.conn, reservation_id=reservation_id, request_id=request_id, tenant_id=tenant_id,
        offer_id=offer_id, start_at=found, end_at=found + duration, accelerators=accelerators,
        created_at=now,
    )  # fmt: skip
    return found


def release(uow: UnitOfWork, reservation_id: str, now: datetime) -> None:
    """Give back an active reservation (a run that ended, or whose attempt moved elsewhere)."""
    repo.release(uow.conn, reservation_id, now)


def reservation_of(uow: UnitOfWork, reservation_id: str) -> Reservation | None:
    return repo.get(uow.conn, reservation_id)


def request_reserves(uow: UnitOfWork, request_id: str) -> bool:
    """Whether the request's runs run under reservations (it was placed through the exchange)."""
    return repo.any_for_request(uow.conn, request_id)
