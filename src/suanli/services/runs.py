"""Runs: the queue each site's agent leases work from, and everything an agent reports.

A run is one attempt of a job at one offer. The agent protocol:

    lease_next  -> the oldest queued run of the site, leased to the agent for ``lease_s``
    heartbeat   -> extends the lease; answers whether the tenant asked to cancel
    report_status / report_usage (idempotent by run and sequence number) / complete

Every report carries the lease id; a report under a lease that expired or was replaced is refused
with ConflictError, so a run is never finished twice. An expired lease returns its run to the
queue (checked whenever an agent of that site asks for work, or by ``expire_leases``).

On completion the run is settled through the ledger from its holds, once. A hardware/stack error
places the job again under its fallback policy, as a new run that resumes from the checkpoint.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from suanli.domain.jobs import (
    ACTIVE_STATUSES,
    FINAL_STATUS,
    ExitClass,
    JobSpec,
    RunStatus,
    check_fallback,
    cost_fen,
    hold_fen,
)
from suanli.domain.registry import Offer, Site, Tenant
from suanli.domain.roles import Principal, Role
from suanli.domain.runs import Lease, Run, RunVoucher, UsageRecord, VoucherTerms
from suanli.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from suanli.rejection import Rejection
from suanli.services import audit, capacity, fallback, settlement, work_signal
from suanli.services.catalog import load_catalog
from suanli.services.common import aware_now
from suanli.store.repositories import registry as registry_repo
from suanli.store.repositories import runs as runs_repo
from suanli.store.uow import UnitOfWork

MIN_LEASE_S, MAX_LEASE_S = 1, 3600


@dataclass(frozen=True, slots=True)
class Enqueued:
    """A queued run, or why none could be queued."""

    run: Run | None
    rejection: Rejection | None = None


def get_run(uow: UnitOfWork, run_id: str, *, lock: bool = False) -> Run:
    run = runs_repo.get(uow.conn, run_id, lock=lock)
    if run is None:
        raise NotFoundError("run", run_id)
    return run


def usage_of(uow: UnitOfWork, run_id: str) -> list[UsageRecord]:
    return runs_repo.usage(uow.conn, run_id)


def _resolve_voucher(terms: VoucherTerms | None, origin: str) -> RunVoucher | None:
    """The voucher rule of one attempt: the rate decided for it if given (a fallback), else
    the rate for its accelerator's origin."""
    if terms is None:
        return None
    rate = terms.decided_rate
    if rate is None:
        rate = terms.rates.get(origin, Fraction(0))
    if not 0 <= rate <= 1:
        raise ValidationError("voucher.rate", "must be between 0 and 1")
    return RunVoucher(terms.voucher_id, terms.account_id, terms.program_id, rate,
                      dict(terms.rates), terms.note)  # fmt: skip


def _offer_and_site(
    uow: UnitOfWork, offer_id: str, tenant_id: str, spec: JobSpec
) -> tuple[Offer, Site]:
    """The live offer a run is queued on and its site; the tenant must be registered."""
    offer = registry_repo.get(uow.conn, Offer, offer_id)
    if offer is None or offer.retired_at is not None:
        raise ValidationError("offer_id", f"unknown or retired offer {offer_id!r}")
    site = registry_repo.get(uow.conn, Site, offer.site_id)
    assert site is not None
    if registry_repo.get(uow.conn, Tenant, tenant_id) is None:
        raise ValidationError("tenant_id", f"unknown tenant {tenant_id!r}")
    if spec.accelerators > offer.count:
        raise ValidationError("spec.accelerators", f"offer {offer_id} has {offer.count}")
    return offer, site


def enqueue_run(
    uow: UnitOfWork,
    *,
    request_id: str,
    tenant_id: str,
    offer_id: str,
    spec: JobSpec,
    fallback: tuple[str, ...] | list[str] = (),
    voucher: VoucherTerms | None = None,
    attempt: int = 1,
    checkpoint_uri: str = "",
) -> Enqueued:
    """Queue a run at the offer's site and hold its most cost. Idempotent by request and attempt.

    Building block: the caller commits (or, on a refusal, leaves without committing).
    """
    spec.validate()
    fallback = check_fallback(fallback)
    run_id = f"{request_id}-a{attempt}"
    offer, site = _offer_and_site(uow, offer_id, tenant_id, spec)
    accelerator = load_catalog().get(offer.accelerator_id)
    run = Run(
        id=run_id, request_id=request_id, tenant_id=tenant_id, site_id=site.id,
        offer_id=offer.id, provider_id=site.provider_id, accelerator_id=offer.accelerator_id,
        attempt=attempt, status=RunStatus.QUEUED, spec=spec, fallback=tuple(fallback),
        price_fen_per_accel_hour=offer.price_fen_per_accel_hour, currency=offer.currency,
        voucher=_resolve_voucher(voucher, accelerator.origin), holds={},
        created_at=aware_now(), checkpoint_uri=checkpoint_uri or spec.checkpoint_dir,
    )  # fmt: skip
    existing = runs_repo.get(uow.conn, run_id)
    if existing is not None:
        if not _same_enqueue(existing, run):
            raise ConflictError(f"run {run_id} exists with other content")
        return Enqueued(existing)
    held = settlement.place_holds(
        uow, run_id, tenant_id=tenant_id, provider_id=site.provider_id, currency=offer.currency,
        total_fen=hold_fen(offer.price_fen_per_accel_hour, spec), voucher=run.voucher,
        timeout_s=spec.time_limit_s * 4 + 86400,  # outlives queueing, retries and the run
    )  # fmt: skip
    if not held.ok:
        return Enqueued(None, held.rejection)
    runs_repo.add(uow.conn, replace(run, holds=held.holds))
    uow.after_commit(lambda: work_signal.signal(site.id))  # wake the site's waiting agents
    return Enqueued(get_run(uow, run_id))


def _same_enqueue(stored: Run, asked: Run) -> bool:
    """Whether a retried enqueue asks for what is stored (status, holds and times aside)."""
    keys = ("request_id", "tenant_id", "site_id", "offer_id", "provider_id", "accelerator_id",
            "attempt", "spec", "fallback", "price_fen_per_accel_hour", "currency", "voucher",
            "checkpoint_uri")  # fmt: skip
    return all(getattr(stored, k) == getattr(asked, k) for k in keys)


# The agent protocol.


def expire_leases(uow: UnitOfWork, site_id: str | None = None) -> int:
    """Return runs whose lease ran out to the queue (their process is presumed gone)."""
    count = runs_repo.expire_leases(uow.conn, aware_now(), site_id)
    if count:
        audit.record(uow, None, "run.lease_expire", "site", site_id or "*", {"runs": count})
    return count


def lease_next(uow: UnitOfWork, site_id: str, agent_id: str, lease_s: float) -> Lease | None:
    """Lease the site's oldest queued run to ``agent_id``; None when there is none."""
    if not MIN_LEASE_S <= lease_s <= MAX_LEASE_S:
        raise ValidationError("lease_s", f"must be between {MIN_LEASE_S} and {MAX_LEASE_S}")
    expire_leases(uow, site_id)
    _admit_waiting(uow, site_id)
    # Agents of one site never wait on each other (PostgreSQL skips rows another one locked).
    ready = runs_repo.next_ready(uow.conn, site_id, skip_locked=uow.dialect == "postgresql")
    if ready is None:
        return None
    if ready.cancel_requested:
        _finish(uow, ready, ExitClass.CANCELLED, "cancelled before it started", "")
        return lease_next(uow, site_id, agent_id, lease_s)
    lease_id = secrets.token_hex(8)
    runs_repo.change(
        uow.conn, ready.id, status=RunStatus.LEASED, lease_id=lease_id, lease_owner=agent_id,
        lease_expires_at=aware_now() + timedelta(seconds=lease_s), leases=ready.leases + 1,
    )  # fmt: skip
    run = get_run(uow, ready.id)
    next_seq = runs_repo.last_seq(uow.conn, ready.id)
    accelerator = load_catalog().get(run.accelerator_id)
    return Lease(run, int(next_seq) + 1, accelerator.vendor, accelerator.origin)


# Capacity: a run of a request placed through the exchange (it has reservations) runs only
# under its own reservation. A fallback attempt that found no free capacity waits in the queue
# without one; each time an agent of its site asks for work, the reservation is tried again.

WAITING = "waiting for capacity"


def _reserve_now(uow: UnitOfWork, run: Run, offer_id: str, spec: JobSpec) -> bool:
    now = aware_now()
    return (
        capacity.reserve(
            uow,
            reservation_id=run.id,
            request_id=run.request_id,
            tenant_id=run.tenant_id,
            offer_id=offer_id,
            accelerators=spec.accelerators,
            duration=timedelta(seconds=spec.time_limit_s),
            start=now,
            flexible=False,
            now=now,
        )
        is not None
    )


def _admit_waiting(uow: UnitOfWork, site_id: str) -> None:
    for run in runs_repo.waiting(uow.conn, site_id):
        if _reserve_now(uow, run, run.offer_id, run.spec):
            runs_repo.change(uow.conn, run.id, exit_detail="")
            audit.record(uow, None, "run.admit", "run", run.id, {"offer_id": run.offer_id})


def _leased(uow: UnitOfWork, run_id: str, lease_id: str) -> Run:
    run = get_run(uow, run_id, lock=True)
    expires = run.lease_expires_at
    if (
        run.lease_id != lease_id
        or run.status not in (RunStatus.LEASED, RunStatus.RUNNING)
        or expires is None
        or expires < aware_now()
    ):
        raise ConflictError(f"lease {lease_id} on run {run_id} is stale")
    return run


@dataclass(frozen=True, slots=True)
class Beat:
    """A heartbeat's answer: the lease's new end, and whether the tenant asked to cancel."""

    lease_expires_at: datetime
    cancel_requested: bool

    def to_dict(self) -> dict[str, Any]:
        return {"lease_expires_at": self.lease_expires_at,
                "cancel_requested": self.cancel_requested}  # fmt: skip


def heartbeat(uow: UnitOfWork, run_id: str, lease_id: str, lease_s: float) -> Beat:
    if not MIN_LEASE_S <= lease_s <= MAX_LEASE_S:
        raise ValidationError("lease_s", f"must be between {MIN_LEASE_S} and {MAX_LEASE_S}")
    run = _leased(uow, run_id, lease_id)
    expires = aware_now() + timedelta(seconds=lease_s)
    runs_repo.change(uow.conn, run_id, lease_expires_at=expires)
    return Beat(expires, run.cancel_requested)


def report_status(
    uow: UnitOfWork, run_id: str, lease_id: str, status: str, detail: str = ""
) -> Run:
    if status != RunStatus.RUNNING:
        raise ValidationError("status", "agents report 'running'; they end runs with complete")
    run = _leased(uow, run_id, lease_id)
    values: dict[str, Any] = {"status": RunStatus.RUNNING, "exit_detail": detail}
    if run.started_at is None:
        values["started_at"] = aware_now()
    runs_repo.change(uow.conn, run_id, **values)
    return get_run(uow, run_id)


def report_usage(
    uow: UnitOfWork,
    run_id: str,
    lease_id: str,
    seq: int,
    *,
    accelerator_seconds: float,
    wall_seconds: float,
    cpu_seconds: float = 0.0,
) -> UsageRecord:
    """Record one usage interval. The same (run, seq) again is a no-op; other content conflicts."""
    if seq < 1:
        raise ValidationError("seq", "must be 1 or more")
    for name, value in (
        ("accelerator_seconds", accelerator_seconds),
        ("wall_seconds", wall_seconds),
        ("cpu_seconds", cpu_seconds),
    ):
        if not 0 <= value < 1e9:
            raise ValidationError(name, "must be between 0 and 1e9")
    record = UsageRecord(run_id, seq, lease_id, float(accelerator_seconds), float(wall_seconds),
                         float(cpu_seconds))  # fmt: skip
    stored = runs_repo.usage_record(uow.conn, run_id, seq)
    if stored is not None:
        if not stored.same_report(record):
            raise ConflictError(f"usage {run_id}#{seq} exists with other content")
        return stored
    _leased(uow, run_id, lease_id)
    runs_repo.add_usage(uow.conn, record, aware_now())
    return record


def complete(
    uow: UnitOfWork,
    run_id: str,
    lease_id: str,
    exit_class: str,
    *,
    detail: str = "",
    checkpoint_uri: str = "",
) -> Run:
    """End a run, settle it, and under a stack error queue the next attempt. Retry-safe."""
    try:
        klass = ExitClass(exit_class)
    except ValueError as exc:
        raise ValidationError("exit_class", f"one of {[e.value for e in ExitClass]}") from exc
    run = get_run(uow, run_id, lock=True)
    if run.status not in ACTIVE_STATUSES and run.lease_id == lease_id:
        if run.exit_class != klass:
            raise ConflictError(f"run {run_id} already ended as {run.exit_class}")
        return run  # a retried completion
    run = _leased(uow, run_id, lease_id)
    return _finish(uow, run, klass, detail, checkpoint_uri)


def _finish(uow: UnitOfWork, run: Run, klass: ExitClass, detail: str, checkpoint_uri: str) -> Run:
    accelerator_s = sum(
        (Fraction(str(u.accelerator_seconds)) for u in usage_of(uow, run.id)), Fraction(0)
    )
    cost = cost_fen(run.price_fen_per_accel_hour, accelerator_s)
    settled = settlement.settle(uow, run.id, run.holds, cost, run.voucher_rate)
    now = aware_now()
    values: dict[str, Any] = {
        "status": FINAL_STATUS[klass],
        "exit_class": klass,
        "exit_detail": detail[:2000],
        "lease_expires_at": None,
        "finished_at": now,
        "settled_at": now,
        "billed_fen": settled.total_fen,
        "voucher_fen": settled.voucher_fen,
        "wallet_fen": settled.wallet_fen,
        "checkpoint_uri": checkpoint_uri or run.checkpoint_uri,
    }
    runs_repo.change(uow.conn, run.id, **values)
    if klass is ExitClass.STACK_ERROR and not run.cancel_requested:  # a cancel ends the job
        nxt = fallback.fall_back(uow, get_run(uow, run.id))
        if nxt is not None:
            runs_repo.change(uow.conn, run.id, next_run_id=nxt.id)
    return get_run(uow, run.id)


def request_cancel(uow: UnitOfWork, who: Principal, run_id: str) -> Run:
    """The tenant stops a run: a queued run ends now; a running one at its agent's next beat."""
    run = get_run(uow, run_id, lock=True)
    if not (who.role == Role.OFFICER or (who.role == Role.TENANT and who.org_id == run.tenant_id)):
        raise PermissionDenied(f"{who.role} may not cancel run {run_id}")
    if expire_leases(uow, run.site_id):  # its agent is gone: no beat would ever stop it
        run = get_run(uow, run_id, lock=True)
    if run.status == RunStatus.QUEUED:
        run = _finish(uow, run, ExitClass.CANCELLED, "cancelled by the tenant", "")
    elif run.status in ACTIVE_STATUSES:
        runs_repo.change(uow.conn, run_id, cancel_requested=1)
        run = get_run(uow, run_id)
    audit.record(uow, who, "run.cancel", "run", run_id, {"status": run.status.value})
    uow.commit()
    return run


@dataclass(frozen=True, slots=True)
class RunView:
    """A run with the usage its agent reported."""

    run: Run
    usage: tuple[UsageRecord, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.run.to_dict(), "usage": [u.to_dict() for u in self.usage]}


def visible_run(uow: UnitOfWork, who: Principal, run_id: str) -> RunView:
    run = get_run(uow, run_id)
    org = {Role.TENANT: run.tenant_id, Role.PROVIDER: run.provider_id}.get(who.role)
    if who.role == Role.AGENT:
        org = run.site_id
    if who.role not in (Role.OFFICER, Role.REVIEWER, Role.AUDITOR) and who.org_id != org:
        raise PermissionDenied(f"{who.role} may not read run {run_id}")
    return RunView(run, tuple(usage_of(uow, run_id)))


def runs_of_request(uow: UnitOfWork, request_id: str) -> list[Run]:
    return runs_repo.of_request(uow.conn, request_id)
