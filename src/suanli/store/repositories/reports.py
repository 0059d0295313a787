"""The reads behind the reports: settled runs with their usage, site and tenant; offers with
their site; reservations; vouchers issued; posted transfers out of program budgets; budgets.
Read-only, and only posted records (settled runs, posted transfers, issued vouchers)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from suanli.reports.facts import (
    AwardFact,
    BudgetFact,
    OfferFact,
    PostingFact,
    ReservationFact,
    RunFact,
)
from suanli.store.db import as_utc
from suanli.store.tables.exchange import reservations
from suanli.store.tables.foundation import offers, sites, tenants
from suanli.store.tables.ledger import ledger_accounts, ledger_transfers
from suanli.store.tables.runs import run_usage, runs
from suanli.store.tables.vouchers import program_budgets, vouchers


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else as_utc(at)


def _run_fact(m: Any) -> RunFact:
    spec = m["spec"] or {}
    voucher = m["voucher"] or {}
    return RunFact(
        run_id=m["id"], tenant_id=m["tenant_id"], tenant_is_startup=bool(m["is_startup"]),
        provider_id=m["provider_id"], site_id=m["site_id"], city=m["city"],
        pue=float(m["pue"]), offer_id=m["offer_id"], system_id=m["system_id"],
        accelerator_id=m["accelerator_id"], accelerators=int(spec.get("accelerators", 1)),
        program_id=str(voucher.get("program_id", "") or ""), currency=m["currency"],
        billed_fen=int(m["billed_fen"] or 0), voucher_fen=int(m["voucher_fen"] or 0),
        accelerator_seconds=float(m["acc_s"]), wall_seconds=float(m["wall_s"]),
        created_at=as_utc(m["created_at"]), started_at=_utc(m["started_at"]),
        finished_at=as_utc(m["finished_at"]),
    )  # fmt: skip


def settled_runs(
    conn: Connection,
    *,
    tenant_id: str | None = None,
    site_ids: Collection[str] | None = None,
) -> list[RunFact]:
    """Every settled run, oldest finished first, with its metered seconds summed."""
    used = (
        select(
            run_usage.c.run_id,
            func.sum(run_usage.c.accelerator_seconds).label("acc_s"),
            func.sum(run_usage.c.wall_seconds).label("wall_s"),
        )
        .group_by(run_usage.c.run_id)
        .subquery()
    )
    stmt = (
        select(
            runs,
            sites.c.city,
            sites.c.pue,
            offers.c.system_id,
            tenants.c.is_startup,
            func.coalesce(used.c.acc_s, 0).label("acc_s"),
            func.coalesce(used.c.wall_s, 0).label("wall_s"),
        )  # fmt: skip
        .join(sites, sites.c.id == runs.c.site_id)
        .join(offers, offers.c.id == runs.c.offer_id)
        .join(tenants, tenants.c.id == runs.c.tenant_id)
        .outerjoin(used, used.c.run_id == runs.c.id)
        .where(runs.c.settled_at.is_not(None), runs.c.finished_at.is_not(None))
        .order_by(runs.c.finished_at, runs.c.id)
    )
    if tenant_id is not None:
        stmt = stmt.where(runs.c.tenant_id == tenant_id)
    if site_ids is not None:
        stmt = stmt.where(runs.c.site_id.in_(list(site_ids)))
    return [_run_fact(row._mapping) for row in conn.execute(stmt)]


def offer_facts(conn: Connection, *, site_ids: Collection[str] | None = None) -> list[OfferFact]:
    stmt = (
        select(offers, sites.c.city, sites.c.provider_id)
        .join(sites, sites.c.id == offers.c.site_id)
        .order_by(offers.c.id)
    )
    if site_ids is not None:
        stmt = stmt.where(offers.c.site_id.in_(list(site_ids)))
    return [
        OfferFact(
            m["id"],
            m["site_id"],
            m["provider_id"],
            m["city"],
            m["accelerator_id"],
            int(m["count"]),
            as_utc(m["available_from"]),
            as_utc(m["available_until"]),
            _utc(m["retired_at"]),
        )  # fmt: skip
        for m in (row._mapping for row in conn.execute(stmt))
    ]


def reservation_facts(
    conn: Connection, *, site_ids: Collection[str] | None = None
) -> list[ReservationFact]:
    c = reservations.c
    stmt = select(c.offer_id, c.accelerators, c.start_at, c.end_at, c.released_at)
    if site_ids is not None:
        stmt = stmt.join(offers, offers.c.id == c.offer_id).where(
            offers.c.site_id.in_(list(site_ids))
        )
    return [
        ReservationFact(
            r.offer_id,
            int(r.accelerators),
            as_utc(r.start_at),
            as_utc(r.end_at),
            _utc(r.released_at),
        )  # fmt: skip
        for r in conn.execute(stmt.order_by(c.id))
    ]


def award_facts(conn: Connection) -> list[AwardFact]:
    c = vouchers.c
    stmt = select(c.program_id, c.amount_fen, c.currency, c.created_at).order_by(c.created_at)
    return [
        AwardFact(r.program_id, int(r.amount_fen), r.currency, as_utc(r.created_at))
        for r in conn.execute(stmt)
    ]


def budget_postings(conn: Connection) -> list[PostingFact]:
    """Posted transfers (single, or the post of a hold) out of program budget accounts (the
    accounts ``program_budgets`` names), with the account's program."""
    t = ledger_transfers.c
    b = program_budgets.c
    stmt = (
        select(b.program_id, t.amount_minor, t.created_at)
        .join(program_budgets, b.account_id == t.debit_account_id)
        .where(t.status == "posted", t.kind.in_(("single", "post")))
        .order_by(t.created_at, t.id)
    )
    return [
        PostingFact(r.program_id, int(r.amount_minor), as_utc(r.created_at))
        for r in conn.execute(stmt)
    ]


def budget_facts(conn: Connection) -> list[BudgetFact]:
    b = program_budgets.c
    stmt = (
        select(b.program_id, b.year, b.budget_fen, ledger_accounts.c.currency)
        .join(ledger_accounts, ledger_accounts.c.id == b.account_id)
        .order_by(b.program_id, b.year)
    )
    return [
        BudgetFact(r.program_id, int(r.year), r.budget_fen, r.currency) for r in conn.execute(stmt)
    ]


def site_ids_of(conn: Connection, provider_id: str) -> list[str]:
    return [
        r.id for r in conn.execute(select(sites.c.id).where(sites.c.provider_id == provider_id))
    ]
