"""Ledger balances and statements, read-only. Transfers are made by the services that own them."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from suanli.api.deps import UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.ledger.model import Balance
from suanli.services import ledger

router = APIRouter(prefix="/ledger", tags=["ledger"], route_class=RetryingRoute)

# Tenants and providers see their own accounts; officers, reviewers and auditors see all.
Reader = Annotated[
    Principal,
    Depends(authorize(Role.OFFICER, Role.REVIEWER, Role.AUDITOR, Role.TENANT, Role.PROVIDER)),
]


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
