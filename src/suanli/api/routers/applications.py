"""Applications, reviews, vouchers, purchase-subsidy claims and program budgets.

A business refusal (not eligible, over budget, over cap, insufficient funds) is answered 200
with ``ok: false``, its result code and reason; malformed input is a 422 naming the field.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from suanli.api.deps import UoW, authorize
from suanli.api.errors import answer_rejection
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.domain.vouchers import Application, Voucher
from suanli.ledger.model import Balance
from suanli.schemas.base import Body, Currency, Fen, PositiveFen, Ref, Text
from suanli.schemas.programs import ContractIn
from suanli.services import applications as apps
from suanli.services import claims, ledger, vouchers

router = APIRouter(tags=["vouchers"], route_class=RetryingRoute)

Applicant = Annotated[Principal, Depends(authorize(Role.TENANT, Role.OFFICER))]
Reviewer = Annotated[Principal, Depends(authorize(Role.REVIEWER, Role.OFFICER))]
Reader = Annotated[
    Principal, Depends(authorize(Role.TENANT, Role.OFFICER, Role.REVIEWER, Role.AUDITOR))
]
Overseer = Annotated[Principal, Depends(authorize(Role.OFFICER, Role.REVIEWER, Role.AUDITOR))]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class ApplicationIn(Body):
    id: Id = Field(description="the client's id for this application; retries reuse it")
    program_id: Ref
    tenant_id: Ref | None = Field(None, description="default: the caller's organisation")
    requested_fen: Fen = Field(description="voucher amount asked for, minor units")
    contract: ContractIn = Field(description="the compute contract the voucher is for")
    tier: Ref | None = Field(None, description="credit tier, for credit allocations")


class ReviewIn(Body):
    decision: Literal["approve", "reject"]
    amount_fen: Fen | None = Field(None, description="approve: default the entitled amount")
    reason: Text = ""


class SpendIn(Body):
    transfer_id: str = Field(min_length=1, max_length=128, description="idempotency key")
    provider_id: Ref
    amount_fen: PositiveFen
    currency: Currency = "CNY"


class ReleaseIn(Body):
    milestone: str = Field(min_length=1, max_length=64, description="e.g. progress-report")


class ClaimIn(Body):
    id: Id = Field(description="the client's id for this claim; retries reuse it")
    program_id: Ref
    buyer_id: Ref | None = Field(None, description="default: the caller's organisation")
    accelerator_id: str = Field(min_length=1, max_length=64, description="catalog id or alias")
    count: int = Field(gt=0, le=2**31 - 1)  # the column's 32-bit INTEGER
    amount_fen: PositiveFen
    currency: Currency = "CNY"
    invoice_id: str = Field(min_length=1, max_length=128)
    purchased_on: date = Field(strict=False)  # ISO text in JSON
    seller_id: str = Field("", max_length=64)


def _json(record: Any) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    if "status" in data:
        data["status"] = str(data["status"])
    return data


def _balance(balance: Balance) -> dict[str, Any]:
    return {
        "posted_fen": balance.posted_minor,
        "pending_fen": balance.pending_minor,
        "available_fen": balance.available_minor,
    }


def _voucher(voucher: Voucher, balance: Balance) -> dict[str, Any]:
    return {**_json(voucher), "balance": _balance(balance)}


def _org(who: Principal, given: str | None) -> str:
    return given or who.org_id or ""


@router.post("/applications", status_code=201, summary="Apply for a voucher (idempotent by id)")
def apply(body: ApplicationIn, uow: UoW, who: Applicant) -> dict[str, Any]:
    app = apps.apply(
        uow, who, application_id=body.id, program_id=body.program_id,
        tenant_id=_org(who, body.tenant_id), requested_fen=body.requested_fen,
        contract=body.contract.to_domain(), tier=body.tier,
    )  # fmt: skip
    return _json(app)


@router.get("/applications", summary="Applications (tenants: their own)")
def list_applications(
    uow: UoW,
    who: Reader,
    tenant_id: str | None = None,
    program_id: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    found = apps.list_applications(
        uow, who, tenant_id=tenant_id, program_id=program_id, status=status
    )
    return [_json(a) for a in found]


@router.get("/applications/{application_id}", summary="One application with every reason")
def read_application(application_id: str, uow: UoW, who: Reader) -> dict[str, Any]:
    return _json(apps.get_application(uow, who, application_id))


def _review_json(
    outcome: apps.ReviewOutcome, application: Application | None, uow: UoW, response: Response
) -> dict[str, Any]:
    voucher = outcome.voucher
    return {
        "ok": outcome.ok,
        "result": outcome.result.value,
        "reason": outcome.reason,
        "rejection": answer_rejection(response, outcome.rejection),
        "application": None if application is None else _json(application),
        "voucher": None
        if voucher is None
        else _voucher(voucher, ledger.balance(uow, voucher.account_id)),
    }


@router.post("/applications/{application_id}/review", summary="Approve an amount, or reject")
def review(
    application_id: str, body: ReviewIn, uow: UoW, who: Reviewer, response: Response
) -> dict[str, Any]:
    outcome = apps.review(
        uow, who, application_id, body.decision, amount_fen=body.amount_fen, reason=body.reason
    )
    return _review_json(outcome, outcome.application, uow, response)


@router.get("/vouchers", summary="Vouchers with their balances (tenants: their own)")
def list_vouchers(
    uow: UoW, who: Reader, tenant_id: str | None = None, program_id: str | None = None
) -> list[dict[str, Any]]:
    found = vouchers.vouchers_for(uow, who, tenant_id, program_id)
    return [_voucher(v, ledger.balance(uow, v.account_id)) for v in found]


@router.get("/vouchers/{voucher_id}", summary="A voucher, its balance and its statement")
def read_voucher(voucher_id: str, uow: UoW, who: Reader) -> dict[str, Any]:
    voucher, balance = vouchers.get_voucher(uow, who, voucher_id)
    lines = ledger.account_statement(uow, voucher.account_id)
    statement = [
        {
            "transfer_id": line.transfer.id,
            "side": line.side,
            "amount_fen": line.transfer.amount_minor,
            "status": line.transfer.status.value,
            "kind": line.transfer.kind.value,
            "at": line.transfer.created_at,
            "memo": line.transfer.memo,
        }
        for line in lines
    ]
    return {**_voucher(voucher, balance), "statement": statement}


@router.post("/vouchers/{voucher_id}/spend", summary="Pay a provider from a voucher")
def spend(
    voucher_id: str, body: SpendIn, uow: UoW, who: Applicant, response: Response
) -> dict[str, Any]:
    outcome = vouchers.spend_voucher(
        uow, who, voucher_id, provider_id=body.provider_id, amount_fen=body.amount_fen,
        currency=body.currency, transfer_id=body.transfer_id,
    )  # fmt: skip
    return {"ok": outcome.ok, "result": outcome.result, "reason": outcome.reason,
            "rejection": answer_rejection(response, outcome.rejection)}  # fmt: skip


@router.post("/vouchers/{voucher_id}/release", summary="Release a later tranche (milestone)")
def release(voucher_id: str, body: ReleaseIn, uow: UoW, who: Reviewer) -> dict[str, Any]:
    voucher = apps.release_tranche(uow, who, voucher_id, body.milestone)
    return _voucher(voucher, ledger.balance(uow, voucher.account_id))


@router.post("/claims", status_code=201, summary="Claim a purchase subsidy (idempotent by id)")
def file_claim(body: ClaimIn, uow: UoW, who: Applicant) -> dict[str, Any]:
    found = claims.claim(
        uow, who, claim_id=body.id, program_id=body.program_id,
        buyer_id=_org(who, body.buyer_id), accelerator_id=body.accelerator_id, count=body.count,
        amount_fen=body.amount_fen, currency=body.currency, invoice_id=body.invoice_id,
        purchased_on=body.purchased_on, seller_id=body.seller_id,
    )  # fmt: skip
    return claims.claim_json(found)


@router.get("/claims", summary="Purchase-subsidy claims (tenants: their own)")
def list_claims(
    uow: UoW, who: Reader, buyer_id: str | None = None, program_id: str | None = None
) -> list[dict[str, Any]]:
    found = claims.list_claims(uow, who, buyer_id=buyer_id, program_id=program_id)
    return [claims.claim_json(c) for c in found]


@router.get("/claims/{claim_id}", summary="One claim with every reason")
def read_claim(claim_id: str, uow: UoW, who: Reader) -> dict[str, Any]:
    return claims.claim_json(claims.get_claim(uow, who, claim_id))


@router.post("/claims/{claim_id}/review", summary="Approve and pay out, or reject")
def review_claim(
    claim_id: str, body: ReviewIn, uow: UoW, who: Reviewer, response: Response
) -> dict[str, Any]:
    outcome = claims.review_claim(
        uow, who, claim_id, body.decision, amount_fen=body.amount_fen, reason=body.reason
    )
    return {
        "ok": outcome.ok,
        "result": outcome.result.value,
        "reason": outcome.reason,
        "rejection": answer_rejection(response, outcome.rejection),
        "claim": claims.claim_json(outcome.claim),
    }


@router.get("/programs/{program_id}/budget", summary="A program's budget, payouts and awards")
def budget(program_id: str, uow: UoW, who: Overseer) -> dict[str, Any]:
    return vouchers.budget_view(uow, who, program_id)
