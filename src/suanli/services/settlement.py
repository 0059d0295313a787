"""Money for runs: hold the most a run can cost when it is queued, post what it used when it ends.

A run's cost is split once: the voucher pays its program's rate of it (rounded down), the tenant's
wallet the rest. Each share is a ledger hold (pending transfer) to the provider's receivable; at
the end each hold is posted with the share of the metered cost and the remainder released, or
voided when nothing was used. Transfer ids derive from the run id, so a retried settlement
replays instead of paying twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from suanli.domain.jobs import split_cost
from suanli.domain.money import apply_rate
from suanli.domain.runs import PARTS, Hold, RunVoucher
from suanli.errors import ConflictError
from suanli.rejection import Rejection
from suanli.services import ledger
from suanli.store.uow import UnitOfWork


def wallet_account(tenant_id: str) -> str:
    return f"wallet:{tenant_id}"


def receivable_account(provider_id: str) -> str:
    return f"receivable:{provider_id}"


def open_party_accounts(uow: UnitOfWork, tenant_id: str, provider_id: str, currency: str) -> None:
    ledger.open_account(uow, wallet_account(tenant_id), "tenant_wallet", currency, tenant_id)
    ledger.open_account(
        uow, receivable_account(provider_id), "provider_receivable", currency, provider_id
    )


def fund_wallet(
    uow: UnitOfWork, tenant_id: str, amount_fen: int, currency: str, transfer_id: str
) -> None:
    """Top up a tenant's wallet from its own money (a ``funding`` account)."""
    ledger.open_account(uow, f"funding:{tenant_id}", "funding", currency, tenant_id)
    ledger.open_account(uow, wallet_account(tenant_id), "tenant_wallet", currency, tenant_id)
    outcome = ledger.transfer(
        uow, transfer_id, f"funding:{tenant_id}", wallet_account(tenant_id), amount_fen, currency
    )
    if not outcome.result.ok:
        raise ConflictError(f"top-up {transfer_id}: {outcome.result}: {outcome.reason}")


@dataclass(frozen=True, slots=True)
class Holds:
    holds: dict[str, Hold]  # part ("voucher", "wallet") -> its hold
    rejection: Rejection | None = None  # why nothing is held

    @property
    def ok(self) -> bool:
        return self.rejection is None


def cover_rate(balance_fen: int, hold_total_fen: int) -> Fraction:
    """The highest rate at which a voucher's share of a hold fits its balance."""
    return Fraction(max(balance_fen, 0), hold_total_fen) if hold_total_fen else Fraction(1)


def place_holds(
    uow: UnitOfWork,
    run_id: str,
    *,
    tenant_id: str,
    provider_id: str,
    currency: str,
    total_fen: int,
    voucher: RunVoucher | None,
    timeout_s: int,
) -> Holds:
    """Hold ``total_fen``: the voucher's share from the voucher, the rest from the wallet."""
    open_party_accounts(uow, tenant_id, provider_id, currency)
    shares = {"voucher": 0 if voucher is None else apply_rate(total_fen, voucher.rate)}
    shares["wallet"] = total_fen - shares["voucher"]
    accounts = {"voucher": "" if voucher is None else voucher.account_id,
                "wallet": wallet_account(tenant_id)}  # fmt: skip
    holds: dict[str, Hold] = {}
    for part in PARTS:
        amount = shares[part]
        if amount <= 0:
            continue
        hold_id = f"run:{run_id}:hold:{part}"
        outcome = ledger.transfer(
            uow,
            hold_id,
            accounts[part],
            receivable_account(provider_id),
            amount,
            currency,
            pending=True,
            timeout_s=timeout_s,
            memo=f"hold for run {run_id}",
        )
        if outcome.rejection is not None:
            release(uow, run_id, holds)
            why = outcome.rejection
            message = f"{part} hold refused: {why.code}: {why.message}"
            return Holds({}, Rejection(why.code, message, part))
        holds[part] = Hold(hold_id, accounts[part], amount)
    return Holds(holds)


def release(uow: UnitOfWork, run_id: str, holds: Mapping[str, Hold]) -> None:
    for part, hold in holds.items():
        ledger.void_pending(uow, f"run:{run_id}:void:{part}", hold.transfer_id)


@dataclass(frozen=True, slots=True)
class Settled:
    total_fen: int
    voucher_fen: int
    wallet_fen: int


def settle(
    uow: UnitOfWork, run_id: str, holds: Mapping[str, Hold], cost: int, rate: Fraction
) -> Settled:
    """Post each share of ``cost`` from its hold and release the rest of the hold."""
    caps = {part: holds[part].amount_fen if part in holds else 0 for part in PARTS}
    split = split_cost(cost, rate, caps["voucher"], caps["wallet"])
    amounts = {"voucher": split.voucher_fen, "wallet": split.wallet_fen}
    for part, hold in holds.items():
        if amounts[part] > 0:
            outcome = ledger.post_pending(
                uow, f"run:{run_id}:post:{part}", hold.transfer_id, amounts[part]
            )
        else:
            outcome = ledger.void_pending(uow, f"run:{run_id}:void:{part}", hold.transfer_id)
        if not outcome.result.ok:
            raise ConflictError(f"settling run {run_id}: {outcome.result}: {outcome.reason}")
    return Settled(split.voucher_fen + split.wallet_fen, split.voucher_fen, split.wallet_fen)
