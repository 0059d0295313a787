"""Ledger balances and statements; transfers in batches for officers.

Transfers are made by the services that own them (settlement, vouchers, awards), which derive
accounts and amounts themselves. The batch names accounts and amounts directly, so only an
officer (the platform's operator) may send one (``services.ledger_batch``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from suanli.api.deps import UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.ledger.model import Balance
from suanli.schemas.ledger import TransferBatchIn, outcome_json
from suanli.services import ledger, ledger_batch

router = APIRouter(prefix="/ledger", tags=["ledger"], route_class=RetryingRoute)

# Tenants and providers see their own accounts; officers, reviewers and auditors see all.
Reader = Annotated[
    Principal,
    Depends(authorize(Role.OFFICER, Role.REVIEWER, Role.AUDITOR, Role.TENANT, Role.PROVIDER)),
]

Officer = Annotated[Principal, Depends(authorize(Role.OFFICER))]


def _balance(b: Balance) -> dict[str, Any]:
    return dataclasses.asdict(b)


@router.get("/accounts", summary="Balances of the ledger accounts the caller may see")
def list_balances(
    uow: UoW, who: Reader, owner_id: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    return [_balance(b) for b in ledger.visible_balances(uow, who, owner_id, kind)]


@router.get("/accounts/{account_id:path}/statement", summary="An account's transfers")
def statement(
    account_id: str,
    uow: UoW,
    who: Reader,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    balance, lines = ledger.visible_statement(uow, who, account_id, since, until)
    return {
        "balance": _balance(balance),
        "transfers": [{**dataclasses.asdict(x.transfer), "side": x.side} for x in lines],
    }


@router.get("/accounts/{account_id:path}", summary="One account's balance")
def read_balance(account_id: str, uow: UoW, who: Reader) -> dict[str, Any]:
    return _balance(ledger.visible_balance(uow, who, account_id))


@router.post(
    "/transfers/batch",
    summary=f"Up to {ledger_batch.MAX_BATCH} transfers in one transaction (officers)",
    description=(
        "Applied in order; a result code per transfer (a refused one does not stop the rest); "
        "idempotent per transfer id (a replay answers `exists`). A malformed transfer anywhere, "
        "or more than the limit, is a 422 naming the field, and nothing is written."
    ),
)
def transfer_batch(body: TransferBatchIn, uow: UoW, who: Officer) -> dict[str, Any]:
    specs = body.specs()
    outcomes = ledger_batch.submit_batch(uow, who, specs)
    return {
        "applied": sum(o.result.value == "ok" for o in outcomes),
        "results": [outcome_json(s, o) for s, o in zip(specs, outcomes, strict=True)],
    }
