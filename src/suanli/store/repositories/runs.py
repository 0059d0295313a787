"""Rows of ``runs`` and ``run_usage``: the queue agents lease from, usage, settled periods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from suanli.domain.jobs import ACTIVE_STATUSES, ExitClass, JobSpec, RunStatus
from suanli.domain.runs import Run, RunVoucher, UsageRecord, holds_from_dict
from suanli.store.db import as_utc
from suanli.store.repositories.rows import row_by_id
from suanli.store.tables.exchange import reservations
from suanli.store.tables.foundation import offers, sites
from suanli.store.tables.runs import run_usage, runs


def settled_between(
    conn: Connection, start: datetime, end: datetime, *, tenant_id: str | None = None,
    provider_id: str | None = None,
) -> list[Any]:  # fmt: skip
    """Runs settled and finished in [start, end), oldest first, each with its metered
    accelerator-seconds (``accelerator_seconds``)."""
    used = (
        select(run_usage.c.run_id, func.sum(run_usage.c.accelerator_seconds).label("acc_s"))
        .group_by(run_usage.c.run_id)
        .subquery()
    )
    stmt = (
        select(runs, func.coalesce(used.c.acc_s, 0).label("accelerator_seconds"))
        .outerjoin(used, used.c.run_id == runs.c.id)
        .where(runs.c.settled_at.is_not(None))
        .where(runs.c.finished_at >= start, runs.c.finished_at < end)
        .order_by(runs.c.finished_at, runs.c.id)
    )
    if tenant_id is not None:
        stmt = stmt.where(runs.c.tenant_id == tenant_id)
    if provider_id is not None:
        stmt = stmt.where(runs.c.provider_id == provider_id)
    return list(conn.execute(stmt))


# One run and its usage: the queue an agent leases from.

_ACTIVE_LEASE = (RunStatus.LEASED, RunStatus.RUNNING)


def run_of(row: Any) -> Run:
    """A stored run as its record; JSON columns become their types, times become aware."""
    m = row._mapping
    return Run(
        id=m["id"], request_id=m["request_id"], tenant_id=m["tenant_id"], site_id=m["site_id"],
        offer_id=m["offer_id"], provider_id=m["provider_id"],
        accelerator_id=m["accelerator_id"], attempt=m["attempt"], status=RunStatus(m["status"]),
        spec=JobSpec.from_dict(m["spec"]), fallback=tuple(m["fallback"] or ()),
        price_fen_per_accel_hour=m["price_fen_per_accel_hour"], currency=m["currency"],
        voucher=RunVoucher.from_dict(m["voucher"] or {}),
        holds=holds_from_dict(m["holds"] or {}), created_at=as_utc(m["created_at"]),
        leases=m["leases"], lease_id=m["lease_id"], lease_owner=m["lease_owner"],
        lease_expires_at=as_utc(m["lease_expires_at"]),
        exit_class=None if m["exit_class"] is None else ExitClass(m["exit_class"]),
        exit_detail=m["exit_detail"] or "", cancel_requested=bool(m["cancel_requested"]),
        checkpoint_uri=m["checkpoint_uri"] or "", billed_fen=m["billed_fen"],
        voucher_fen=m["voucher_fen"], wallet_fen=m["wallet_fen"], next_run_id=m["next_run_id"],
        started_at=as_utc(m["started_at"]), finished_at=as_utc(m["finished_at"]),
        settled_at=as_utc(m["settled_at"]),
    )  # fmt: skip


def get(conn: Connection, run_id: str, *, lock: bool = False) -> Run | None:
    row = row_by_id(conn, runs, run_id, lock=lock)
    return None if row is None else run_of(row)


def add(conn: Connection, run: Run) -> None:
    values = run.to_dict()
    values["cancel_requested"] = int(run.cancel_requested)
    conn.execute(insert(runs).values(**values))


def change(conn: Connection, run_id: str, **values: Any) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(**values))


def of_request(conn: Connection, request_id: str) -> list[Run]:
    stmt = select(runs).where(runs.c.request_id == request_id).order_by(runs.c.attempt)
    return [run_of(row) for row in conn.execute(stmt)]


def expire_leases(conn: Connection, now: datetime, site_id: str | None = None) -> int:
    """Queue again the runs whose lease ran out; how many."""
    stmt = (
        update(runs)
        .where(runs.c.status.in_(_ACTIVE_LEASE), runs.c.lease_expires_at < now)
        .values(status=RunStatus.QUEUED, lease_id=None, lease_owner=None, lease_expires_at=None)
    )
    if site_id is not None:
        stmt = stmt.where(runs.c.site_id == site_id)
    return conn.execute(stmt).rowcount or 0


def _ready() -> Any:
    """A run may start: it has its own reservation, or its request reserves nothing."""
    own = select(reservations.c.id).where(reservations.c.id == runs.c.id).exists()
    reserving = select(reservations.c.id).where(reservations.c.request_id == runs.c.request_id)
    return or_(own, ~reserving.exists())


def next_ready(conn: Connection, site_id: str, *, skip_locked: bool) -> Run | None:
    """The site's oldest queued run that may start, locked (skipping ones another agent holds,
    where the database can), or None."""
    stmt = (
        select(runs)
        .where(and_(runs.c.site_id == site_id, runs.c.status == RunStatus.QUEUED), _ready())
        .order_by(runs.c.created_at, runs.c.id)
        .limit(1)
    )
    if skip_locked:
        stmt = stmt.with_for_update(skip_locked=True)
    row = conn.execute(stmt).first()
    return None if row is None else run_of(row)


def waiting(conn: Connection, site_id: str) -> list[Run]:
    """The site's queued runs still waiting for a reservation, oldest first."""
    stmt = (
        select(runs)
        .where(runs.c.site_id == site_id, runs.c.status == RunStatus.QUEUED, ~_ready())
        .order_by(runs.c.created_at, runs.c.id)
    )
    return [run_of(row) for row in conn.execute(stmt)]


def _usage_of(row: Any) -> UsageRecord:
    m = row._mapping
    return UsageRecord(m["run_id"], m["seq"], m["lease_id"], m["accelerator_seconds"],
                       m["wall_seconds"], m["cpu_seconds"], as_utc(m["reported_at"]))  # fmt: skip


def usage(conn: Connection, run_id: str) -> list[UsageRecord]:
    stmt = select(run_usage).where(run_usage.c.run_id == run_id).order_by(run_usage.c.seq)
    return [_usage_of(r) for r in conn.execute(stmt)]


def usage_record(conn: Connection, run_id: str, seq: int) -> UsageRecord | None:
    key = and_(run_usage.c.run_id == run_id, run_usage.c.seq == seq)
    row = conn.execute(select(run_usage).where(key)).first()
    return None if row is None else _usage_of(row)


def add_usage(conn: Connection, record: UsageRecord, at: datetime) -> None:
    conn.execute(insert(run_usage).values(**record.to_dict(), reported_at=at))


def last_seq(conn: Connection, run_id: str) -> int:
    stmt = select(func.coalesce(func.max(run_usage.c.seq), 0)).where(run_usage.c.run_id == run_id)
    return int(conn.execute(stmt).scalar_one())


def active_by_offer(conn: Connection) -> dict[str, int]:
    """How many runs are active on each offer."""
    stmt = (
        select(runs.c.offer_id, func.count())
        .where(runs.c.status.in_(list(ACTIVE_STATUSES)))
        .group_by(runs.c.offer_id)
    )
    return {offer_id: int(n) for offer_id, n in conn.execute(stmt).all()}


def open_offers(conn: Connection) -> list[Any]:
    """Offers not retired at sites not retired (their windows not checked)."""
    stmt = (
        select(offers)
        .join(sites, sites.c.id == offers.c.site_id)
        .where(offers.c.retired_at.is_(None), sites.c.retired_at.is_(None))
    )
    return list(conn.execute(stmt))
