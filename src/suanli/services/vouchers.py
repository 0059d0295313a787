"""Vouchers once issued: reading them, whether one can pay, spending one at a provider, and a
program's budget. Applications and reviews, which issue them, are in ``applications``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from suanli.domain.registry import Provider
from suanli.domain.roles import READ_ALL_ROLES, Principal, Role
from suanli.domain.subsidy_checks import provider_refusals, refuses_related
from suanli.domain.vouchers import Voucher
from suanli.errors import NotFoundError, PermissionDenied, ValidationError
from suanli.ledger.model import Balance, TransferOutcome
from suanli.rejection import Code, Rejection
from suanli.services import audit, awards, ledger
from suanli.services.common import aware_now, positive_fen, registered_tenant, tenant_scope
from suanli.services.programs import get_program
from suanli.services.settlement import receivable_account
from suanli.store.repositories import registry as registry_repo
from suanli.store.repositories import vouchers as repo
from suanli.store.uow import UnitOfWork


def vouchers_for(
    uow: UnitOfWork, who: Principal, tenant_id: str | None = None, program_id: str | None = None
) -> list[Voucher]:
    return repo.list_all(
        uow.conn, Voucher, tenant_id=tenant_scope(who, tenant_id), program_id=program_id
    )


def voucher_account_id(voucher_id: str) -> str:
    return f"voucher:{voucher_id}"


def get_voucher(uow: UnitOfWork, who: Principal, voucher_id: str) -> tuple[Voucher, Balance]:
    voucher = repo.get(uow.conn, Voucher, voucher_id)
    if voucher is None:
        raise NotFoundError("voucher", voucher_id)
    if not who.can_read_org(voucher.tenant_id):
        raise PermissionDenied(f"{who.role} may not read voucher {voucher_id}")
    return voucher, ledger.balance(uow, voucher.account_id)


def usable_voucher(
    uow: UnitOfWork, who: Principal, voucher_id: str, currency: str, on: date
) -> Voucher | Rejection:
    """The voucher, if ``who`` may spend it in ``currency`` on ``on``: an error for a voucher
    that is not theirs or not in that currency, a rejection for one outside its validity."""
    voucher = repo.get(uow.conn, Voucher, voucher_id)
    if voucher is None:
        raise NotFoundError("voucher", voucher_id)
    if who.role != Role.OFFICER and who.org_id != voucher.tenant_id:
        raise PermissionDenied(f"voucher {voucher_id} belongs to another tenant")
    if currency != voucher.currency:
        raise ValidationError("currency", f"voucher {voucher_id} is in {voucher.currency}")
    problem = voucher.validity_problem(on)
    if problem is not None:
        code = Code.VOUCHER_NOT_YET_VALID if on < voucher.valid_from else Code.VOUCHER_EXPIRED
        return Rejection(code, problem, "voucher_id")
    return voucher


def spend_transfer_id(voucher_id: str, transfer_id: str) -> str:
    """The ledger id of a spend: the client's key, within its voucher's own namespace, so a
    client can never take an id the platform will need (``issue:…``, ``run:…``, ``payout:…``)."""
    if not _CLIENT_KEY.fullmatch(transfer_id):
        raise ValidationError("transfer_id", "must be 1 to 128 of A-Z, a-z, 0-9, '.', '_', '-'")
    return f"spend:{voucher_id}:{transfer_id}"


_CLIENT_KEY = re.compile(r"[A-Za-z0-9._-]{1,128}")


def spend_voucher(
    uow: UnitOfWork,
    who: Principal,
    voucher_id: str,
    *,
    provider_id: str,
    amount_fen: int,
    currency: str,
    transfer_id: str,
    now: datetime | None = None,
) -> Spent:
    """Pay a provider from a voucher. Insufficient funds, an expired voucher or a provider the
    program does not pay are rejections; bad input an error."""
    positive_fen("amount_fen", amount_fen)
    at = aware_now(now)
    voucher = usable_voucher(uow, who, voucher_id, currency, at.date())
    if isinstance(voucher, Rejection):
        return Spent(None, voucher)
    provider = registry_repo.get(uow.conn, Provider, provider_id)
    if provider is None or provider.retired_at is not None:
        raise ValidationError("provider_id", f"unknown provider {provider_id!r}")
    # The program's money goes only where its rules let it: an accredited provider, not the
    # tenant's own affiliate (else a voucher would be cash to pay oneself).
    tenant = registered_tenant(uow, voucher.tenant_id, "voucher_id")
    program = get_program(voucher.program_id)
    refused = provider_refusals(program, tenant, provider)
    if refused:
        why = "the voucher cannot pay here: " + "; ".join(refused)
        code = Code.RELATED_PARTY if refuses_related(why) else Code.NOT_ACCREDITED
        return Spent(None, Rejection(code, why, "provider_id"))
    receivable = receivable_account(provider_id)
    ledger.open_account(uow, receivable, "provider_receivable", currency, provider_id, now=at)
    outcome = ledger.transfer(
        uow, spend_transfer_id(voucher_id, transfer_id), voucher.account_id, receivable,
        amount_fen, currency,
        memo=f"voucher {voucher_id}", now=at,
    )  # fmt: skip
    if outcome.ok:
        audit.record(uow, who, "voucher.spend", "voucher", voucher_id,
                     {"provider_id": provider_id, "amount_fen": amount_fen, "transfer_id":
                      outcome.transfer.id if outcome.transfer else None})  # fmt: skip
        uow.commit()
    else:
        uow.rollback()
    return Spent(outcome, outcome.rejection)


@dataclass(frozen=True, slots=True)
class Spent:
    """A voucher payment: the ledger's outcome when it got that far, and why it was refused."""

    transfer: TransferOutcome | None
    rejection: Rejection | None

    @property
    def ok(self) -> bool:
        return self.rejection is None

    @property
    def result(self) -> str:
        if self.rejection is not None:
            return self.rejection.code.value
        assert self.transfer is not None
        return self.transfer.result.value

    @property
    def reason(self) -> str:
        return "" if self.rejection is None else self.rejection.message


def budget_view(uow: UnitOfWork, who: Principal, program_id: str) -> dict[str, Any]:
    """Per year: budget, paid out, held for later tranches, left; and awards per entity."""
    if who.role not in READ_ALL_ROLES:
        raise PermissionDenied(f"{who.role} may not read program budgets")
    program = awards.known_program(program_id)
    years = []
    for row in repo.budget_rows(uow.conn, program_id):
        account = ledger.get_account(uow, row["account_id"])
        years.append(
            {
                "year": row["year"],
                "budget_fen": row["budget_fen"],
                "account_id": row["account_id"],
                "funded_fen": account.posted_credits,
                "paid_fen": account.posted_debits,
                "held_fen": account.pending_debits,
                "left_fen": ledger.balance(uow, row["account_id"]).available_minor,
            }
        )
    return {
        "program_id": program_id,
        "currency": program.currency,
        "budget_per_year_fen": program.budget_per_year_fen,
        "cap_per_entity_fen": program.cap_per_entity_fen,
        "cap_period": program.cap_period,
        "years": years,
        "commitments": repo.commitments_of(uow.conn, program_id),
    }
