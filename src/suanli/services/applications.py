"""Apply for a voucher, review the application, and use the voucher that approval issues.

``apply`` judges the tenant's facts at once (every rule's verdict is stored, pass or fail) and
computes what the program's rates pay on the stated contract. ``review`` approves an amount or
rejects with a reason; approval locks the program's budget and the tenant's cap
(``services.awards``), then issues the voucher through the ledger in the same transaction:
the first tranche is paid into the voucher's account, later tranches are held on the budget
(a pending transfer without timeout) until a reviewer releases them after their milestone.

Use cases (``apply``, ``review``, ``release_tranche``, ``spend_voucher``) commit at their end;
a refusal or an error leaves the database as it was. Retries are idempotent by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError

from suanli.domain.money import Money, apply_rate
from suanli.domain.programs import Program
from suanli.domain.registry import Tenant, check_id
from suanli.domain.roles import Principal, Role
from suanli.domain.subsidy_checks import stacking_conflicts, total_rate_limit
from suanli.domain.subsidy_facts import Contract, SubsidyDecision
from suanli.domain.vouchers import (
    Application,
    ReviewResult,
    Status,
    Voucher,
    check_limits,
    tranche_amounts,
    voucher_validity,
)
from suanli.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from suanli.rejection import Code, Rejection
from suanli.services import audit, awards, ledger
from suanli.services.common import (
    acting_for,
    aware_now,
    check_decision,
    positive_fen,
    registered_tenant,
    same_decision,
    tenant_scope,
)
from suanli.services.programs import rate_for_contract, subsidy_for_contract
from suanli.services.stacking import OnCost, contract_from_json, contract_json, cost_of, stacked_on
from suanli.services.vouchers import voucher_account_id
from suanli.store.repositories import registry as registry_repo
from suanli.store.repositories import vouchers as repo
from suanli.store.uow import UnitOfWork

Decision = Literal["approve", "reject"]
REVIEWERS = frozenset({Role.REVIEWER, Role.OFFICER})


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    """A review's result code and reason, with the stored records it touched."""

    result: ReviewResult
    reason: str = ""
    application: Application | None = None
    voucher: Voucher | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def rejection(self) -> Rejection | None:
        return None if self.ok else Rejection(Code(self.result.value), self.reason)


def verdicts_json(decision: SubsidyDecision) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"check": v.check, "passed": v.passed, "reason": v.reason} for v in decision.reasons
    )


def apply(
    uow: UnitOfWork,
    who: Principal,
    *,
    application_id: str,
    program_id: str,
    tenant_id: str,
    requested_fen: int,
    contract: Contract,
    tier: str | None = None,
    now: datetime | None = None,
) -> Application:
    """File an application; eligibility and entitlement are decided now and stored."""
    check_id(application_id, "application_id")
    positive_fen("requested_fen", requested_fen)
    program = awards.known_program(program_id)
    if program.kind == "purchase-subsidy":
        raise ValidationError("program_id", f"{program_id} subsidises purchases: file a claim")
    if contract.currency != program.currency:
        raise ValidationError(
            "contract.currency", f"program {program_id} pays in {program.currency}"
        )
    if contract.contract_id != contract.contract_id.strip() or len(contract.contract_id) > 128:
        raise ValidationError("contract.contract_id", "must be 1-128 characters, not padded")
    acting_for(who, tenant_id, "apply")
    tenant = registered_tenant(uow, tenant_id, "tenant_id")
    contract_facts = contract_json(contract)
    facts: dict[str, Any] = {"contract": contract_facts, "tier": tier}
    asked = (program_id, tenant_id, requested_fen, facts)
    existing = _stored(uow, application_id, asked)
    if existing is not None:
        return existing
    at = aware_now(now)
    # Other applications on the same cost stack with this one: both programs' rules and the
    # strictest total rate bind (the approval checks again under the tenant's lock).
    on_cost = stacked_on(uow, tenant_id, contract_facts, but=application_id, approved_only=False)
    others = [o for o in on_cost if o.program.id != program_id]
    cost_fen = cost_of(contract_facts, on_cost)
    decision = subsidy_for_contract(
        uow, program_id, tenant, replace(contract, amount_fen=cost_fen),
        already_subsidised_this_year_fen=awards.already_awarded(uow, program, tenant_id, at.date()),
        milestones=frozenset(t.on for t in program.tranches), tier=tier,
        other_subsidies_fen=max(0, min(sum(o.amount_fen for o in others), cost_fen)),
        stacked=[o.program for o in others],
        own_on_cost_fen=sum(o.amount_fen for o in on_cost if o.program.id == program_id),
    )  # fmt: skip
    lines = decision.lines
    if cost_fen < contract.amount_fen:
        lines = (f"contract {contract.contract_id} is stated elsewhere for less: "
                 f"judged on {Money(cost_fen, contract.currency)}", *lines)  # fmt: skip
    application = Application(
        id=application_id, program_id=program_id, tenant_id=tenant_id,
        requested_fen=requested_fen, currency=program.currency, facts=facts,
        eligible=decision.eligible, reasons=verdicts_json(decision), lines=lines,
        entitled_fen=decision.subsidy_fen,
        status=Status.PENDING if decision.eligible else Status.INELIGIBLE, created_at=at,
    )  # fmt: skip
    try:
        repo.add(uow.conn, application)
        audit.record(uow, who, "application.file", "application", application_id,
                     _filed(application))  # fmt: skip
        uow.commit()
    except IntegrityError:  # a concurrent retry stored this id first: answer from it
        uow.rollback()
        stored = _stored(uow, application_id, asked)
        if stored is None:
            raise
        return stored
    return application


def _filed(application: Application) -> dict[str, Any]:
    """What the audit log keeps of a filed application."""
    return {"program_id": application.program_id, "tenant_id": application.tenant_id,
            "requested_fen": application.requested_fen, "eligible": application.eligible,
            "entitled_fen": application.entitled_fen, "facts": application.facts}  # fmt: skip


def _stored(uow: UnitOfWork, application_id: str, asked: tuple[Any, ...]) -> Application | None:
    """The stored application if this is a retry of it; a conflict if the id holds another."""
    existing = repo.get(uow.conn, Application, application_id)
    if existing is None:
        return None
    if (existing.program_id, existing.tenant_id, existing.requested_fen, existing.facts) == asked:
        return existing
    raise ConflictError(f"application {application_id} exists with other content")


def review(
    uow: UnitOfWork,
    who: Principal,
    application_id: str,
    decision: Decision,
    *,
    amount_fen: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> ReviewOutcome:
    """Approve (``amount_fen``; default: the smaller of asked and entitled) or reject."""
    if who.role not in REVIEWERS:
        raise PermissionDenied(f"{who.role} may not review applications")
    check_decision(decision, amount_fen, reason)
    app = repo.get(uow.conn, Application, application_id, lock=True)
    if app is None:
        raise NotFoundError("application", application_id)
    if app.status in (Status.APPROVED, Status.REJECTED):
        args = (app.status, app.approved_fen, app.decision_reason, decision, amount_fen, reason)
        if same_decision(*args):
            voucher = repo.get(uow.conn, Voucher, app.voucher_id) if app.voucher_id else None
            return ReviewOutcome(ReviewResult.EXISTS, "already decided so", app, voucher)
        raise ConflictError(f"application {application_id} was already {app.status}")
    if app.status is Status.INELIGIBLE:
        failed = "; ".join(r["reason"] for r in app.reasons if not r["passed"])
        return ReviewOutcome(ReviewResult.NOT_PENDING, f"not eligible: {failed}", app)
    at = aware_now(now)
    decided = replace(app, decided_by=who.describe(), decided_at=at)
    if decision == "reject":
        rejected = replace(decided, status=Status.REJECTED, decision_reason=reason.strip())
        repo.replace(uow.conn, rejected)
        audit.record(uow, who, "application.review", "application", application_id,
                     {"decision": "reject", "reason": rejected.decision_reason})  # fmt: skip
        uow.commit()
        return ReviewOutcome(ReviewResult.OK, rejected.decision_reason, rejected)
    amount = amount_fen if amount_fen is not None else min(app.requested_fen, app.entitled_fen)
    outcome = _approve(uow, decided, amount, reason, at)
    if outcome.ok:
        audit.record(uow, who, "application.review", "application", application_id, {
            "decision": "approve", "amount_fen": amount, "reason": reason.strip(),
            "voucher_id": outcome.voucher.id if outcome.voucher else None,
        })  # fmt: skip
        uow.commit()
    else:
        uow.rollback()
    return outcome


def _approve(
    uow: UnitOfWork, app: Application, amount_fen: int, reason: str, at: datetime
) -> ReviewOutcome:
    program = awards.known_program(app.program_id)
    if amount_fen <= 0:
        return ReviewOutcome(ReviewResult.OVER_ENTITLEMENT, "the program pays nothing here", app)
    repo.lock_tenant(uow.conn, app.tenant_id)  # approvals on one tenant's costs queue here
    limits = awards.lock_limits(uow, program, app.tenant_id, at.date())
    contract = app.facts["contract"]
    on_cost = stacked_on(uow, app.tenant_id, contract, but=app.id, approved_only=False)
    missing = _missing_required(program, on_cost)
    if missing:
        return ReviewOutcome(ReviewResult.MISSING_REQUIRED, missing, app)
    paid = [o for o in on_cost if o.approved]
    conflicts = stacking_conflicts(program, [o.program for o in paid])
    if conflicts:
        return ReviewOutcome(ReviewResult.OVER_STACKING, "; ".join(conflicts), app)
    # What the others approved since this application was judged binds now: all subsidies
    # within the strictest total rate, and this program within its own rate on the cost.
    cost_fen = cost_of(contract, paid)
    total = apply_rate(cost_fen, total_rate_limit(program, [o.program for o in paid]))
    tenant = registry_repo.get(uow.conn, Tenant, app.tenant_id)
    if tenant is None:
        raise NotFoundError("tenant", app.tenant_id)
    rate = rate_for_contract(uow, program.id, tenant, contract_from_json(contract))
    own_fen = sum(o.amount_fen for o in paid if o.program.id == program.id)
    refusal = check_limits(
        amount_fen, app.currency, requested_fen=app.requested_fen,
        entitled_fen=app.entitled_fen, budget_left_fen=limits.budget_left_fen,
        cap_left_fen=limits.cap_left_fen,
        stacking_left_fen=max(0, total - sum(o.amount_fen for o in paid)),
        own_rate_left_fen=max(0, apply_rate(cost_fen, rate) - own_fen),
    )  # fmt: skip
    if refusal is not None:
        return ReviewOutcome(ReviewResult(refusal.code.value), refusal.message, app)
    voucher_id = f"v-{app.id}"
    account_id = voucher_account_id(voucher_id)
    ledger.open_account(uow, account_id, "voucher", app.currency, app.tenant_id, now=at)
    released = 0
    for milestone, part in tranche_amounts(amount_fen, program.tranches):
        if part == 0:
            continue
        first = milestone == "award"
        transfer_id = f"issue:{voucher_id}" if first else _tranche_hold(voucher_id, milestone)
        moved = awards.pay(uow, limits, transfer_id, account_id, part, pending=not first)
        if not moved.ok:
            why = f"{moved.result}: {moved.reason}"
            return ReviewOutcome(ReviewResult.LEDGER_REFUSED, why, app)
        released += part if first else 0
    awards.commit(uow, limits, amount_fen)
    valid_from, valid_until = voucher_validity(program, at.date())
    voucher = Voucher(
        voucher_id, app.id, app.program_id, app.tenant_id, app.currency, amount_fen, released,
        ("award",), valid_from, valid_until, account_id, at,
    )  # fmt: skip
    repo.add(uow.conn, voucher)
    approved = replace(
        app, status=Status.APPROVED, approved_fen=amount_fen, voucher_id=voucher_id,
        decision_reason=reason.strip(),
    )  # fmt: skip
    repo.replace(uow.conn, approved)
    return ReviewOutcome(ReviewResult.OK, "voucher issued", approved, voucher)


def _missing_required(program: Program, on_cost: Sequence[OnCost]) -> str:
    """Why ``program`` may not pay here: a program it requires has no pending or approved
    application on the cost ("" when every one has)."""
    present = {o.program.id for o in on_cost}
    missing = [p for p in program.stacking.requires if p not in present]
    if not missing:
        return ""
    return (
        f"{program.id} pays only together with {', '.join(program.stacking.requires)}: "
        f"no pending or approved application under {', '.join(missing)} on this cost"
    )


def _tranche_hold(voucher_id: str, milestone: str) -> str:
    return f"tranche:{voucher_id}:{milestone}"


def release_tranche(
    uow: UnitOfWork, who: Principal, voucher_id: str, milestone: str, *, now: datetime | None = None
) -> Voucher:
    """Release the tranche held for ``milestone`` (e.g. after the progress report)."""
    if who.role not in REVIEWERS:
        raise PermissionDenied(f"{who.role} may not release tranches")
    voucher = repo.get(uow.conn, Voucher, voucher_id, lock=True)
    if voucher is None:
        raise NotFoundError("voucher", voucher_id)
    program = awards.known_program(voucher.program_id)
    later = [t.on for t in program.tranches if t.on != "award"]
    if milestone not in later:
        known = ", ".join(later) or "none"
        raise ValidationError("milestone", f"{voucher.program_id} has no such tranche; has {known}")
    if milestone in voucher.milestones:
        return voucher
    hold_id = _tranche_hold(voucher_id, milestone)
    posted = ledger.post_pending(
        uow, f"release:{voucher_id}:{milestone}", hold_id, now=aware_now(now)
    )
    if not posted.ok or posted.transfer is None:
        raise ConflictError(f"tranche {milestone} of {voucher_id}: {posted.result} {posted.reason}")
    released = replace(
        voucher,
        released_fen=voucher.released_fen + posted.transfer.amount_minor,
        milestones=(*voucher.milestones, milestone),
    )
    repo.replace(uow.conn, released)
    audit.record(uow, who, "voucher.release", "voucher", voucher_id,
                 {"milestone": milestone, "amount_fen": posted.transfer.amount_minor})  # fmt: skip
    uow.commit()
    return released


# --- reading ------------------------------------------------------------------------------


def get_application(uow: UnitOfWork, who: Principal, application_id: str) -> Application:
    app = repo.get(uow.conn, Application, application_id)
    if app is None:
        raise NotFoundError("application", application_id)
    if not who.can_read_org(app.tenant_id):
        raise PermissionDenied(f"{who.role} may not read application {application_id}")
    return app


def list_applications(
    uow: UnitOfWork,
    who: Principal,
    *,
    tenant_id: str | None = None,
    program_id: str | None = None,
    status: str | None = None,
) -> list[Application]:
    if status is not None and status not in {s.value for s in Status}:
        raise ValidationError("status", f"must be one of {', '.join(s.value for s in Status)}")
    return repo.list_all(
        uow.conn, Application, tenant_id=tenant_scope(who, tenant_id), program_id=program_id,
        status=status,
    )  # fmt: skip
