"""Purchase-subsidy claims: a buyer claims for accelerators it bought; a reviewer approves;
the payout goes from the program's budget to the buyer's wallet through the ledger.

``claim`` judges the purchase at once (origin covered, the program's rules, the cap left) and
stores every verdict; the subsidy is rate x amount, rounded down and capped. An invoice is paid
at most once: a second claim on the same buyer's invoice is refused with a ``ConflictError``
(the unique ``invoice_key`` column also stops two concurrent claims). An ineligible claim does
not hold its invoice, so a corrected claim may use it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from suanli.domain.registry import check_id
from suanli.domain.roles import READ_ALL_ROLES, Principal
from suanli.domain.subsidy_facts import Purchase
from suanli.domain.vouchers import Claim, ReviewResult, Status, check_limits
from suanli.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from suanli.rejection import Code, Rejection
from suanli.services import audit, awards, ledger
from suanli.services.applications import REVIEWERS, Decision, verdicts_json
from suanli.services.common import (
    acting_for,
    aware_now,
    check_decision,
    positive_fen,
    registered_tenant,
    same_decision,
)
from suanli.services.programs import subsidy_for_purchase
from suanli.services.settlement import wallet_account
from suanli.store.repositories import vouchers as repo
from suanli.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    result: ReviewResult
    reason: str
    claim: Claim

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def rejection(self) -> Rejection | None:
        return None if self.ok else Rejection(Code(self.result.value), self.reason)


def _invoice_key(buyer_id: str, invoice_id: str) -> str:
    return f"{buyer_id}:{invoice_id}"


def _check_input(claim_id: str, count: int, invoice_id: str, amount_fen: int) -> None:
    check_id(claim_id, "claim_id")
    positive_fen("amount_fen", amount_fen)
    if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
        raise ValidationError("count", f"must be a positive whole number, got {count!r}")
    if not isinstance(invoice_id, str) or not invoice_id.strip() or len(invoice_id) > 128:
        raise ValidationError("invoice_id", "must be 1-128 characters")


def _filed(new: Claim) -> dict[str, Any]:
    """What the audit log keeps of a filed claim."""
    return {"program_id": new.program_id, "buyer_id": new.buyer_id,
            "invoice_id": new.invoice_id, "amount_fen": new.amount_fen,
            "eligible": new.eligible, "subsidy_fen": new.subsidy_fen}  # fmt: skip


def claim(
    uow: UnitOfWork,
    who: Principal,
    *,
    claim_id: str,
    program_id: str,
    buyer_id: str,
    accelerator_id: str,
    count: int,
    amount_fen: int,
    currency: str,
    invoice_id: str,
    purchased_on: date,
    seller_id: str = "",
    now: datetime | None = None,
) -> Claim:
    """File a claim; its eligibility and subsidy are decided now and stored."""
    _check_input(claim_id, count, invoice_id, amount_fen)
    program = awards.known_program(program_id)
    if program.kind != "purchase-subsidy":
        raise ValidationError("program_id", f"{program_id} is a {program.kind}: apply instead")
    if currency != program.currency:
        raise ValidationError("currency", f"program {program_id} pays in {program.currency}")
    acting_for(who, buyer_id, "claim")
    buyer = registered_tenant(uow, buyer_id, "buyer_id")
    at = aware_now(now)
    already = awards.already_awarded(uow, program, buyer_id, at.date())
    purchase = Purchase(accelerator_id, count, amount_fen, currency, purchased_on, seller_id)
    try:
        decision = subsidy_for_purchase(
            program_id, buyer, purchase, already_subsidised_this_year_fen=already
        )
    except ValidationError as exc:  # a claim's fields are its purchase's, by the same names
        raise ValidationError(exc.field.removeprefix("purchase."), exc.message) from None
    new = Claim(
        id=claim_id, program_id=program_id, buyer_id=buyer_id, accelerator_id=accelerator_id,
        count=count, amount_fen=amount_fen, currency=currency, invoice_id=invoice_id.strip(),
        purchased_on=purchased_on, seller_id=seller_id, eligible=decision.eligible,
        reasons=verdicts_json(decision), lines=decision.lines, subsidy_fen=decision.subsidy_fen,
        status=Status.PENDING if decision.eligible else Status.INELIGIBLE, created_at=at,
    )  # fmt: skip
    existing = repo.get(uow.conn, Claim, claim_id)
    if existing is not None:
        if _same_claim(existing, new):
            return existing
        raise ConflictError(f"claim {claim_id} exists with other content")
    key = _invoice_key(buyer_id, new.invoice_id) if new.eligible else None
    if key is not None:
        taken = repo.claim_for_invoice(uow.conn, key)
        stored = repo.get(uow.conn, Claim, claim_id) if taken == claim_id else None
        if stored is not None and _same_claim(stored, new):
            return stored  # this very claim, stored by a concurrent retry since we looked
        if taken is not None:
            raise ConflictError(
                f"invoice {new.invoice_id} of {buyer_id} is already in claim {taken}"
            )
    try:
        repo.add(uow.conn, new, invoice_key=key)
        audit.record(uow, who, "claim.file", "claim", claim_id, _filed(new))
        uow.commit()
    except IntegrityError:  # a concurrent claim took the invoice (or the id) first
        uow.rollback()
        stored = repo.get(uow.conn, Claim, claim_id)
        if stored is not None and _same_claim(stored, new):
            return stored  # it was a retry of this very claim
        raise ConflictError(f"invoice {new.invoice_id} or claim {claim_id} was taken") from None
    return new


def _same_claim(a: Claim, b: Claim) -> bool:
    fields = ("program_id", "buyer_id", "count", "amount_fen", "currency", "invoice_id",
              "purchased_on", "seller_id")  # fmt: skip
    same = all(getattr(a, f) == getattr(b, f) for f in fields)
    return same and a.accelerator_id.lower() == b.accelerator_id.lower()


def review_claim(
    uow: UnitOfWork,
    who: Principal,
    claim_id: str,
    decision: Decision,
    *,
    amount_fen: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> ClaimOutcome:
    """Approve (default: the computed subsidy) and pay out, or reject with a reason."""
    if who.role not in REVIEWERS:
        raise PermissionDenied(f"{who.role} may not review claims")
    check_decision(decision, amount_fen, reason)
    found = repo.get(uow.conn, Claim, claim_id, lock=True)
    if found is None:
        raise NotFoundError("claim", claim_id)
    if found.status in (Status.APPROVED, Status.REJECTED):
        args = (found.status, found.approved_fen, found.decision_reason, decision, amount_fen)
        if same_decision(*args, reason):
            return ClaimOutcome(ReviewResult.EXISTS, "already decided so", found)
        raise ConflictError(f"claim {claim_id} was already {found.status}")
    if found.status is Status.INELIGIBLE:
        failed = "; ".join(r["reason"] for r in found.reasons if not r["passed"])
        return ClaimOutcome(ReviewResult.NOT_PENDING, f"not eligible: {failed}", found)
    at = aware_now(now)
    decided = replace(found, decided_by=who.describe(), decided_at=at)
    if decision == "reject":
        rejected = replace(decided, status=Status.REJECTED, decision_reason=reason.strip())
        repo.replace(uow.conn, rejected)
        audit.record(uow, who, "claim.review", "claim", claim_id,
                     {"decision": "reject", "reason": rejected.decision_reason})  # fmt: skip
        uow.commit()
        return ClaimOutcome(ReviewResult.OK, rejected.decision_reason, rejected)
    outcome = _pay_out(uow, decided, amount_fen or found.subsidy_fen, reason, at)
    if outcome.ok:
        audit.record(uow, who, "claim.review", "claim", claim_id, {
            "decision": "approve", "amount_fen": amount_fen or found.subsidy_fen,
            "reason": reason.strip(),
        })  # fmt: skip
        uow.commit()
    else:
        uow.rollback()
    return outcome


def _pay_out(
    uow: UnitOfWork, found: Claim, amount_fen: int, reason: str, at: datetime
) -> ClaimOutcome:
    if amount_fen <= 0:
        return ClaimOutcome(ReviewResult.OVER_ENTITLEMENT, "the program pays nothing here", found)
    program = awards.known_program(found.program_id)
    limits = awards.lock_limits(uow, program, found.buyer_id, at.date())
    refusal = check_limits(
        amount_fen, found.currency, requested_fen=None, entitled_fen=found.subsidy_fen,
        budget_left_fen=limits.budget_left_fen, cap_left_fen=limits.cap_left_fen,
    )  # fmt: skip
    if refusal is not None:
        return ClaimOutcome(ReviewResult(refusal.code.value), refusal.message, found)
    wallet = wallet_account(found.buyer_id)
    ledger.open_account(uow, wallet, "tenant_wallet", found.currency, found.buyer_id, now=at)
    transfer_id = f"payout:{found.id}"
    paid = awards.pay(uow, limits, transfer_id, wallet, amount_fen)
    if not paid.ok:
        return ClaimOutcome(ReviewResult.LEDGER_REFUSED, f"{paid.result}: {paid.reason}", found)
    awards.commit(uow, limits, amount_fen)
    approved = replace(
        found, status=Status.APPROVED, approved_fen=amount_fen, payout_transfer_id=transfer_id,
        decision_reason=reason.strip(),
    )  # fmt: skip
    repo.replace(uow.conn, approved)
    return ClaimOutcome(ReviewResult.OK, "paid out", approved)


def get_claim(uow: UnitOfWork, who: Principal, claim_id: str) -> Claim:
    found = repo.get(uow.conn, Claim, claim_id)
    if found is None:
        raise NotFoundError("claim", claim_id)
    if not who.can_read_org(found.buyer_id):
        raise PermissionDenied(f"{who.role} may not read claim {claim_id}")
    return found


def list_claims(
    uow: UnitOfWork, who: Principal, *, buyer_id: str | None = None, program_id: str | None = None
) -> list[Claim]:
    if who.role not in READ_ALL_ROLES:
        if buyer_id not in (None, who.org_id):
            raise PermissionDenied(f"{who.role} may not read claims of {buyer_id}")
        buyer_id = who.org_id or "\x00"
    return repo.list_all(uow.conn, Claim, buyer_id=buyer_id, program_id=program_id)


def claim_json(found: Claim) -> dict[str, Any]:
    data = asdict(found)
    data["status"] = found.status.value
    return data
