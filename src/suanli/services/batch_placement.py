"""Batch placement from the database: every pending request quoted, solved together, placed.

Each pending request is quoted with the real data (estimates, its vouchers' programs, the
capacity calendar); the feasible rows become the placer's candidates (``build_candidates``) with
the p90 wall time as duration, so the objective is in the held (worst-case) cost. Each offer is a
pool whose count is what the calendar leaves free over the whole horizon (a safe simplification:
the placer's pools have one count for every slot). Subsidies are the rows' program rates, capped
by each voucher's balance. A tenant's fair share of the scarce models is what remains of it after
the scarce accelerator-hours its active reservations already hold in the horizon (its row locked,
as online submissions lock it). ``solve_batch`` chooses; the independent checker verifies; the
chosen rows are then reserved at their slot and queued like online placements, each in a
savepoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from suanli.domain.exchange import JobRequest, peak_use
from suanli.domain.money import apply_rate
from suanli.domain.quotes import QuoteRow
from suanli.domain.roles import Principal, Role
from suanli.errors import PermissionDenied, ValidationError
from suanli.placement.candidates import build_candidates, hours_matrix
from suanli.placement.check import violations
from suanli.placement.milp import solve_batch
from suanli.placement.model import Instance, Pool, Request
from suanli.placement.policy import Policy
from suanli.rejection import Rejection
from suanli.services import audit, exchange
from suanli.services.capacity import busy_by_offer
from suanli.services.catalog import load_catalog
from suanli.services.common import registered_tenant
from suanli.services.quotes import live_offers, quote, tenant_vouchers
from suanli.store.repositories import requests as requests_repo
from suanli.store.repositories import reservations as reservations_repo
from suanli.store.repositories.vouchers import lock_tenant
from suanli.store.uow import UnitOfWork

SLOT_HOURS = 1.0
N_SLOTS = 168  # a week of hourly slots
VALUE_FACTOR = 10  # leaving a request unplaced costs ten times its dearest quote


@dataclass(slots=True)
class BatchReport:
    status: str
    objective: float
    lp_bound: float | None
    gap: float | None
    seconds: float
    pending: int
    placed: list[dict[str, Any]] = field(default_factory=list)
    unplaced: list[dict[str, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "objective": round(self.objective),
            "lp_bound": None if self.lp_bound is None else round(self.lp_bound),
            "gap": self.gap,
            "seconds": round(self.seconds, 3),
            "pending": self.pending,
            "placed_count": len(self.placed),
            "unplaced_count": len(self.unplaced),
            "placed": self.placed,
            "unplaced": self.unplaced,
            "violations": self.violations,
        }


@dataclass(slots=True)
class _Item:
    request: JobRequest
    rows: dict[str, QuoteRow]  # offer id -> feasible row
    vouchers: dict[str, Any]
    reason: str = ""


def _quoted(uow: UnitOfWork, who: Principal, request: JobRequest, now: datetime) -> _Item:
    q = quote(uow, who, request, now=now, placing=True)
    if request.accelerators is None and q.rows:  # one count per request: the best row's
        request = replace(request, accelerators=q.rows[0].count)
        q = quote(uow, who, request, now=now, placing=True)
    tenant = registered_tenant(uow, request.tenant_id, "tenant_id")
    views = tenant_vouchers(uow, who, request, tenant, now)
    if isinstance(views, Rejection):  # a voucher expired while the request waited
        return _Item(request, {}, {}, views.message)
    vouchers = {v.voucher_id: v for v in views}
    reason = "" if q.rows else "; ".join(sorted({r.code for r in q.refused})) or "no offers"
    return _Item(request, {r.offer_id: r for r in q.rows}, vouchers, reason)


def _pools(uow: UnitOfWork, offer_ids: set[str], policy: Policy, now: datetime) -> list[Pool]:
    catalog = load_catalog()
    horizon = now + timedelta(hours=SLOT_HOURS * N_SLOTS)
    busy = busy_by_offer(uow, now, offer_ids)
    pools = []
    for view in live_offers(uow, now):
        o = view.offer
        if o.id not in offer_ids:
            continue
        free = o.count - peak_use(busy.get(o.id, []), now, horizon)
        acc = catalog.get(o.accelerator_id)
        pools.append(
            Pool(
                o.id,
                acc.id,
                acc.origin == "domestic",
                max(free, 0),
                o.price_fen_per_accel_hour,
                scarce=acc.id in policy.scarce_models,
            )  # fmt: skip
        )
    return pools


def _scarce_held_ah(
    uow: UnitOfWork, tenants: tuple[str, ...], policy: Policy, now: datetime
) -> dict[str, float]:
    """Per tenant, the accelerator-hours its active reservations on scarce models take within
    the batch's horizon: the fair share caps what it holds, not only what this batch gives it."""
    if policy.fair_share_cap is None or not policy.scarce_models:
        return {}
    # Each tenant's row, in one order, so an online submission of theirs (which takes the same
    # lock before its own fair-share check) cannot add scarce hours behind this read.
    for tenant_id in sorted(tenants):
        lock_tenant(uow.conn, tenant_id)
    horizon = now + timedelta(hours=SLOT_HOURS * N_SLOTS)
    rows = reservations_repo.scarce_held(
        uow.conn, list(tenants), sorted(policy.scarce_models), now, horizon
    )
    held: dict[str, float] = {}
    for tenant_id, start, end, accelerators in rows:
        inside = min(end, horizon) - max(start, now)
        held[tenant_id] = held.get(tenant_id, 0.0) + accelerators * inside.total_seconds() / 3600
    return held


def place_batch(
    uow: UnitOfWork,
    who: Principal,
    policy: Policy,
    *,
    time_limit_s: float | None = None,
    now: datetime | None = None,
) -> BatchReport:
    """Place every pending request at once. Officers only. Commits at its end."""
    if who.role != Role.OFFICER:
        raise PermissionDenied(f"{who.role} may not run batch placement")
    if time_limit_s is not None and not (math.isfinite(time_limit_s) and 0 < time_limit_s <= 600):
        raise ValidationError("time_limit_s", f"must be between 0 and 600 s, got {time_limit_s}")
    now = now or datetime.now(UTC)
    # Locked: a cancellation (or a second batch) waits, and then finds it placed, not pending.
    stored = requests_repo.pending(uow.conn)
    items = [_quoted(uow, who, exchange.request_from_dict(dict(r.body)), now) for r in stored]
    pools = _pools(uow, {o for it in items for o in it.rows}, policy, now)
    requests = [_placer_request(it, now) for it in items]
    hours = hours_matrix(
        requests, pools, [{o: r.duration_s / 3600 for o, r in it.rows.items()} for it in items]
    )
    inst = build_candidates(
        requests, pools, hours, policy, n_slots=N_SLOTS, slot_hours=SLOT_HOURS, max_starts=3
    )
    inst = _paying(inst, items)
    inst = replace(inst, scarce_held_ah=_scarce_held_ah(uow, inst.tenants, policy, now))
    sol = solve_batch(inst, time_limit_s=time_limit_s)
    report = BatchReport(sol.status, sol.objective, sol.lp_bound, sol.gap, sol.seconds, len(items))
    report.violations = violations(inst, sol.choice)
    for i, item in enumerate(items):
        c = int(sol.choice[i])
        if report.violations or c < 0:
            why = item.reason or ("rules broken" if report.violations else "not chosen")
            report.unplaced.append({"request_id": item.request.id, "reason": why})
            _note(uow, item.request.id, why, now)
            continue
        pool = pools[int(inst.candidates.pool[c])]
        start = now + timedelta(hours=SLOT_HOURS * int(inst.candidates.start_slot[c]))
        row = item.rows[pool.id]
        savepoint = uow.conn.begin_nested()
        placed = exchange.place_row(
            uow, item.request, row, item.vouchers, method="batch", fixed_start=start, now=now
        )
        if isinstance(placed, Rejection):
            savepoint.rollback()
            unplaced = {
                "request_id": item.request.id,
                "reason": placed.message,
                "code": placed.code,
            }
            report.unplaced.append(unplaced)
            _note(uow, item.request.id, placed.message, now)
            continue
        savepoint.commit()
        requests_repo.set_status(uow.conn, item.request.id, "placed", now, reason="")
        report.placed.append(
            {
                "request_id": item.request.id,
                "offer_id": pool.id,
                "start": start.isoformat(),
                "run_id": placed[0].run_id,
                "net_fen": row.net_fen,
            }  # fmt: skip
        )
    audit.record(uow, who, "placement.batch", "batch", uow.request_id,
                 {"placed": report.placed, "unplaced": report.unplaced})  # fmt: skip
    uow.commit()
    return report


def _note(uow: UnitOfWork, request_id: str, reason: str, now: datetime) -> None:
    requests_repo.set_reason(uow.conn, request_id, reason[:2000], now)


def _placer_request(item: _Item, now: datetime) -> Request:
    r = item.request
    dearest = max((row.cost_fen for row in item.rows.values()), default=0)
    deadline = None
    if r.deadline is not None:
        deadline = max(0, math.floor((r.deadline - now).total_seconds() / 3600 / SLOT_HOURS))
    program = next((row.program_id for row in item.rows.values() if row.program_id), None)
    return Request(
        r.id, r.tenant_id, r.accelerators or 1, VALUE_FACTOR * dearest + 1, 0, deadline, program,
        frozenset(r.allowed_origins),
    )  # fmt: skip


def _paying(inst: Instance, items: list[_Item]) -> Instance:
    """Per candidate, its row's voucher: the program that pays (its budget and floor count the
    candidate; none where it pays nothing) and the subsidy, its rate on the candidate's cost
    capped by the voucher's balance. A request's rows may be paid by different programs."""
    cs = inst.candidates
    subsidy = np.zeros(len(cs), dtype=np.int64)
    paying: list[str | None] = [None] * len(cs)
    for c in range(len(cs)):
        item = items[int(cs.request[c])]
        row = item.rows[inst.pools[int(cs.pool[c])].id]
        if row.voucher_id is None:
            continue
        balance = max(item.vouchers[row.voucher_id].balance_fen, 0)
        subsidy[c] = min(apply_rate(int(cs.cost_fen[c]), row.rate), balance)
        paying[c] = row.program_id if subsidy[c] > 0 else None
    programs = tuple(sorted({p for p in paying if p is not None}))
    index = {p: k for k, p in enumerate(programs)}
    program = np.array([-1 if p is None else index[p] for p in paying], dtype=np.int64)
    return replace(
        inst, programs=programs, candidates=replace(cs, subsidy_fen=subsidy, program=program)
    )
