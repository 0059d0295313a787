"""The exchange: submit a job request (placed at once, or kept for the batch), cancel it, read it.

Online placement takes the best quote row the policies allow, locks the offer's row, checks the
capacity calendar again under the lock (another submission may have reserved meanwhile), reserves
the window, and queues the run through ``runs.enqueue_run``, which holds the voucher's and the
wallet's shares of the run's most cost (every accelerator for the p90 wall time). A refusal (no
feasible offer, insufficient funds) is a result with reasons and writes nothing. Each placement
attempt runs in a savepoint, so a refused attempt leaves no trace before the next one.

The run carries the voucher's rate for both accelerator origins: on the chosen offer's origin the
one its program gives this tenant there, on the other the one the program's rules give this
tenant at that provider on that origin's chips; each lowered where the voucher's balance would not
cover that share of the hold. A fallback attempt on another offer is priced from these, checked
again against the program's rules at its provider and capped by its own hold (``runs``).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from suanli.domain.exchange import JobRequest, OfferRefusal, affiliate_refusal
from suanli.domain.jobs import ACTIVE_STATUSES, JobSpec, hold_fen
from suanli.domain.quotes import Quote, QuoteRow
from suanli.domain.requests import Placement, RequestView, Reservation, StoredRequest, Submitted
from suanli.domain.roles import READ_ALL_ROLES, Principal, Role
from suanli.domain.runs import Run
from suanli.domain.subsidy_plan import VoucherView
from suanli.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from suanli.estimate.workload import Workload
from suanli.paths import data_dir
from suanli.placement.policy import Policy, parse_policy
from suanli.rejection import Code, Rejection
from suanli.services import audit, filings, online_rules, runs
from suanli.services.capacity import reserve
from suanli.services.common import acting_for, aware_now, registered_tenant
from suanli.services.quotes import quote, tenant_vouchers
from suanli.store.repositories import requests as requests_repo
from suanli.store.repositories import reservations as reservations_repo
from suanli.store.repositories.vouchers import lock_tenant
from suanli.store.uow import UnitOfWork


def load_policy(path: Path | None = None) -> Policy:
    """A placement policy file (default: ``data/policies/default.toml``)."""
    path = path or data_dir() / "policies" / "default.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError("policy", f"{path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("policy", f"{path.name} is not valid TOML: {exc}") from None
    try:
        return parse_policy(raw)
    except ValidationError as exc:
        raise ValidationError(f"{path.name}: {exc.field}", exc.message) from None


# Requests as JSON: the API's bodies and the stored copy a retry is compared with.


def request_to_dict(request: JobRequest) -> dict[str, Any]:
    spec = request.spec.to_dict() if request.spec is not None else None
    if spec is not None:  # the exchange sets these from the quote
        spec.pop("accelerators")
        spec.pop("time_limit_s")
    return {
        "id": request.id,
        "tenant_id": request.tenant_id,
        "workload": None if request.workload is None else dataclasses.asdict(request.workload),
        "accelerators": request.accelerators,
        "deadline": None if request.deadline is None else request.deadline.isoformat(),
        "max_net_fen": request.max_net_fen,
        "allowed_origins": sorted(request.allowed_origins),
        "allow_export_controlled": request.allow_export_controlled,
        "voucher_ids": list(request.voucher_ids),
        "objective": request.objective,
        "spec": spec,
        "fallback": list(request.fallback),
        "mode": request.mode,
        **({"offer_ids": list(request.offer_ids)} if request.offer_ids else {}),
        **({"duration_s": request.duration_s} if request.duration_s is not None else {}),
        **({"public_facing": True} if request.public_facing else {}),
        **({"model_filing": request.model_filing} if request.model_filing is not None else {}),
    }


def request_from_dict(raw: dict[str, Any]) -> JobRequest:
    """Build and validate a request; malformed parts raise ValidationError naming the field."""
    workload = None
    if raw.get("workload") is not None:
        try:
            workload = Workload(**dict(raw["workload"]))
        except TypeError as exc:
            raise ValidationError("workload", str(exc)) from None
    deadline = raw.get("deadline")
    if isinstance(deadline, str):
        try:
            deadline = datetime.fromisoformat(deadline)
        except ValueError:
            raise ValidationError("deadline", f"not an ISO time: {deadline!r}") from None
    spec_raw = raw.get("spec")
    spec = None
    if spec_raw is not None:
        spec = JobSpec.from_dict({**spec_raw, "accelerators": 1, "time_limit_s": 3600})
    request = JobRequest(
        id=str(raw.get("id", "")),
        tenant_id=str(raw.get("tenant_id", "")),
        workload=workload,
        accelerators=raw.get("accelerators"),
        deadline=deadline,
        max_net_fen=raw.get("max_net_fen"),
        allowed_origins=frozenset(raw.get("allowed_origins") or ("domestic", "foreign")),
        allow_export_controlled=bool(raw.get("allow_export_controlled", True)),
        voucher_ids=tuple(raw.get("voucher_ids") or ()),
        objective=raw.get("objective", "net_cost"),
        spec=spec,
        fallback=tuple(raw.get("fallback") or ()),
        mode=raw.get("mode", "online"),
        offer_ids=tuple(raw.get("offer_ids") or ()),
        duration_s=raw.get("duration_s"),
        public_facing=raw.get("public_facing", False),
        model_filing=raw.get("model_filing"),
    )
    request.validate()
    request.check_sized()
    if workload is not None:
        workload.validate()
    return request


CAPACITY_TAKEN = "its capacity was taken meanwhile"


def place_row(
    uow: UnitOfWork,
    request: JobRequest,
    row: QuoteRow,
    vouchers: dict[str, VoucherView],
    *,
    method: str,
    fixed_start: datetime | None,
    now: datetime,
) -> tuple[Placement, Run] | Rejection:
    """Reserve and queue one row, inside the caller's savepoint; a rejection on refusal."""
    assert request.spec is not None
    run_id = f"{request.id}-a1"
    start = reserve(
        uow, reservation_id=run_id, request_id=request.id, tenant_id=request.tenant_id,
        offer_id=row.offer_id, accelerators=row.count,
        duration=timedelta(seconds=row.duration_s), start=fixed_start or row.start,
        flexible=fixed_start is None, not_after=request.deadline, now=now,
    )  # fmt: skip
    if start is None:
        return Rejection(Code.CAPACITY_TAKEN, f"offer {row.offer_id}: {CAPACITY_TAKEN}")
    spec = replace(request.spec, accelerators=row.count, time_limit_s=row.duration_s)
    hold = hold_fen(row.price_fen_per_accel_hour, spec)
    voucher = online_rules.voucher_rule(uow, request, row, vouchers, hold, now)
    done = runs.enqueue_run(
        uow, request_id=request.id, tenant_id=request.tenant_id, offer_id=row.offer_id,
        spec=spec, fallback=request.fallback, voucher=voucher,
    )  # fmt: skip
    if done.rejection is not None:
        why = done.rejection
        return Rejection(why.code, f"offer {row.offer_id}: {why.message}", why.field)
    assert done.run is not None
    quoted = {**row.to_dict(), "start": start.isoformat(),
              "finish": (start + timedelta(seconds=row.duration_s)).isoformat()}  # fmt: skip
    placement = Placement(
        request_id=request.id, tenant_id=request.tenant_id, offer_id=row.offer_id,
        method=method, run_id=done.run.id, voucher_id=row.voucher_id,
        program_id=row.program_id, origin=row.origin,
        accelerator_hours=row.accelerator_hours, quote=quoted, created_at=now,
    )  # fmt: skip
    requests_repo.add_placement(uow.conn, placement)
    return placement, done.run


def _try_rows(
    uow: UnitOfWork,
    request: JobRequest,
    rows: Sequence[QuoteRow],
    vouchers: dict[str, VoucherView],
    policy: Policy,
    now: datetime,
    refused: list[OfferRefusal],
) -> tuple[Placement, Run] | Rejection:
    reason = Rejection(Code.NO_FEASIBLE_OFFER, "no feasible offer")
    if policy.fair_share_cap is not None and any(
        r.accelerator_id in policy.scarce_models for r in rows
    ):
        # The tenant's row serialises its own submissions' fair-share checks: two concurrent
        # ones would otherwise both read the same holdings and both pass. Taken before any
        # program's budget rows, the order approvals take them in.
        lock_tenant(uow.conn, request.tenant_id)
    for row in rows:
        blocked = online_rules.domestic_refusal(
            uow, row, policy
        ) or online_rules.fair_share_refusal(uow, row, request.tenant_id, policy, now)
        if blocked:
            refused.append(OfferRefusal(row.offer_id, row.accelerator_id, Code.POLICY, blocked))
            reason = Rejection(Code.POLICY, blocked)
            continue
        savepoint = uow.conn.begin_nested()
        placed = place_row(uow, request, row, vouchers, method="online", fixed_start=None, now=now)
        if isinstance(placed, Rejection):
            savepoint.rollback()
            if placed.code is Code.CAPACITY_TAKEN:
                reason = placed
                continue  # another offer may still have room
            return placed  # funds: a dearer offer would not do better
        savepoint.commit()
        return placed
    return reason


def _stored(uow: UnitOfWork, request_id: str, *, lock: bool = False) -> StoredRequest | None:
    return requests_repo.get(uow.conn, request_id, lock=lock)


def _placement(uow: UnitOfWork, request_id: str) -> Placement | None:
    return requests_repo.placement_of(uow.conn, request_id)


def _replay(uow: UnitOfWork, stored: StoredRequest) -> Submitted:
    placement = _placement(uow, stored.id)
    run = runs.get_run(uow, placement.run_id) if placement else None
    refusal = (
        Rejection(Code.NO_FEASIBLE_OFFER, stored.reason) if stored.status == "refused" else None
    )
    return Submitted(stored.id, stored.status, refusal, placement, run)


def _insert_request(
    uow: UnitOfWork, request: JobRequest, status: str, now: datetime, reason: str = ""
) -> None:
    requests_repo.add(
        uow.conn, request_id=request.id, tenant_id=request.tenant_id, mode=request.mode,
        body=request_to_dict(request), status=status, reason=reason, at=now,
    )  # fmt: skip


def submit(
    uow: UnitOfWork,
    who: Principal,
    request: JobRequest,
    *,
    now: datetime | None = None,
    policy: Policy | None = None,
) -> Submitted:
    """Place ``request`` now (mode online) or keep it for the batch (mode batch). Idempotent by
    request id: the same request again returns the first result; other content conflicts."""
    request.validate()
    request.check_sized()
    if request.workload is not None:
        request.workload.validate()
    if request.spec is None:
        raise ValidationError("spec", "a submission needs the command to run")
    acting_for(who, request.tenant_id, "submit jobs")
    stored = _stored(uow, request.id)
    if stored is not None:
        if stored.body != request_to_dict(request):
            raise ConflictError(f"request {request.id} exists with other content")
        return _replay(uow, stored)
    now = now or aware_now()
    if request.mode == "batch":
        tenant = registered_tenant(uow, request.tenant_id, "tenant_id")
        unusable = tenant_vouchers(uow, who, request, tenant, now)
        if isinstance(unusable, Rejection):  # refuse unusable vouchers now
            return Submitted(request.id, "refused", unusable)
        unfiled = filings.request_refusal(uow, request, unusable)
        if unfiled is not None:
            return Submitted(request.id, "refused", unfiled)
        _insert_request(uow, request, "pending", now)
        audit.record(uow, who, "request.submit", "request", request.id,
                     {"mode": "batch", "body": request_to_dict(request)})  # fmt: skip
        uow.commit()
        return Submitted(request.id, "pending")
    q = quote(uow, who, request, now=now, placing=True)
    if q.rejection is not None:
        return Submitted(request.id, "refused", q.rejection)
    tenant = registered_tenant(uow, request.tenant_id, "tenant_id")
    views = tenant_vouchers(uow, who, request, tenant, now)
    assert not isinstance(views, Rejection)  # the quote just priced them
    vouchers = {v.voucher_id: v for v in views}
    refused = list(q.refused)
    placed = _try_rows(uow, request, q.rows, vouchers, policy or load_policy(), now, refused)
    if isinstance(placed, Rejection):
        placed = (not q.rows and affiliate_refusal(refused)) or placed
        uow.rollback()
        return Submitted(request.id, "refused", placed, refused=refused)
    _insert_request(uow, request, "placed", now)
    change = {"mode": "online", "body": request_to_dict(request), "placement": placed[0].to_dict()}
    audit.record(uow, who, "request.submit", "request", request.id, change)
    uow.commit()
    return Submitted(request.id, "placed", None, placed[0], placed[1], refused)


def cancel(uow: UnitOfWork, who: Principal, request_id: str) -> RequestView:
    """Release the reservation and cancel the run (settlement voids what it did not use)."""
    stored = _stored(uow, request_id, lock=True)
    if stored is None:
        raise NotFoundError("request", request_id)
    acting_for(who, stored.tenant_id, "cancel requests")
    if stored.status != "cancelled":
        now = aware_now()
        reservations_repo.release_request(uow.conn, request_id, now)
        requests_repo.set_status(uow.conn, request_id, "cancelled", now)
        audit.record(uow, who, "request.cancel", "request", request_id)  # before any commit
        for run in runs.runs_of_request(uow, request_id):
            if run.status in ACTIVE_STATUSES:
                runs.request_cancel(uow, who, run.id)  # commits this unit of work
    uow.commit()
    return get_request(uow, who, request_id)


# Reading.


def _readable(who: Principal, tenant_id: str) -> None:
    if who.role not in READ_ALL_ROLES and not (who.role == Role.TENANT and who.org_id == tenant_id):
        raise PermissionDenied(f"{who.role} may not read requests of {tenant_id}")


def get_request(uow: UnitOfWork, who: Principal, request_id: str) -> RequestView:
    stored = _stored(uow, request_id)
    if stored is None:
        raise NotFoundError("request", request_id)
    _readable(who, stored.tenant_id)
    return RequestView(
        stored,
        _placement(uow, request_id),
        list_reservations(uow, who, request_id=request_id),
        runs.runs_of_request(uow, request_id),
    )


def list_requests(
    uow: UnitOfWork, who: Principal, *, tenant_id: str | None = None, status: str | None = None
) -> list[StoredRequest]:
    if who.role not in READ_ALL_ROLES:
        if who.role != Role.TENANT or tenant_id not in (None, who.org_id):
            raise PermissionDenied(f"{who.role} may not list these requests")
        tenant_id = who.org_id
    return requests_repo.listed(uow.conn, tenant_id=tenant_id, status=status)


def list_reservations(
    uow: UnitOfWork,
    who: Principal,
    *,
    offer_id: str | None = None,
    request_id: str | None = None,
    active_only: bool = False,
) -> list[Reservation]:
    """Tenants see their own; providers those on their sites' offers; read-all roles every one."""
    tenant_id = provider_id = None
    if who.role == Role.TENANT:
        tenant_id = who.org_id or "\x00"
    elif who.role == Role.PROVIDER:
        provider_id = who.org_id or "\x00"
    elif who.role not in READ_ALL_ROLES:
        raise PermissionDenied(f"{who.role} may not read reservations")
    return reservations_repo.visible(
        uow.conn, tenant_id=tenant_id, provider_id=provider_id, offer_id=offer_id,
        request_id=request_id, active_only=active_only,
    )  # fmt: skip


def quote_for(uow: UnitOfWork, who: Principal, raw: dict[str, Any]) -> Quote:
    return quote(uow, who, request_from_dict(raw))
