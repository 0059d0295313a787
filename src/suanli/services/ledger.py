"""The ledger's API for every other area: open accounts, transfer, hold, post, void, expire, read.

These are building blocks: they take the caller's ``UnitOfWork`` and never commit, so a voucher
spend and its ledger transfers commit or roll back together.

Errors. Input that is malformed on its face (an amount that is not a positive int, an unknown
currency code or account kind, an id that is not an id, a debit and credit on the same account)
raises ``ValidationError`` before anything is read. Refusals that depend on the ledger's state
are result codes (``TransferResult``) with a reason: unknown account, currency of an account
differing from the transfer's, insufficient funds, unknown/resolved/expired hold, a post above
its hold. Either way nothing is written.

Idempotency. A transfer id is an idempotency key. Retrying an applied transfer with the same
content returns ``exists`` (``.ok`` is true) and the stored transfer; with different content it
returns ``exists_with_different_content`` and changes nothing. A refused transfer is not stored,
so its retry is judged afresh. ``open_account`` is idempotent the same way but raises
``ConflictError`` for an id reused with another kind, currency or owner.

Concurrency. On PostgreSQL a transfer locks its two account rows (``SELECT ... FOR UPDATE``, in
id order); a post or void first locks its hold's row, then the accounts; expiry locks the due
holds, then their accounts. Locks are always taken holds-before-accounts and in id order, so
writers queue rather than deadlock. On SQLite every writing unit of work is serialised by
``BEGIN IMMEDIATE``.

Expiry. A hold past ``timeout_at`` can no longer be posted or voided (``pending_expired``); its
amount stays held until ``expire_pending`` releases it, which ``suanli ledger expire`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from suanli.domain.roles import READ_ALL_ROLES, Principal
from suanli.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from suanli.ledger import invariants
from suanli.ledger.model import (
    Account,
    Balance,
    Transfer,
    TransferKind,
    TransferOutcome,
    TransferResult,
    TransferStatus,
    balance_of,
)
from suanli.ledger.rules import (
    debit_fits,
    replayed,
    same_request,
    same_resolution,
    valid_amount,
    valid_currency,
    valid_id,
    valid_kind,
    valid_timeout,
)
from suanli.services import audit
from suanli.services.common import aware_now
from suanli.store.repositories import ledger as repo
from suanli.store.uow import UnitOfWork

MAX_MEMO_CHARS = 500


def open_account(
    uow: UnitOfWork,
    account_id: str,
    kind: str,
    currency: str,
    owner_id: str | None = None,
    *,
    now: datetime | None = None,
) -> Account:
    """Open an account with zero totals; the same request again returns the stored account."""
    valid_id("account_id", account_id)
    account_kind = valid_kind("kind", kind)
    valid_currency("currency", currency)
    if owner_id is not None:
        valid_id("owner_id", owner_id)
    wanted = Account(account_id, account_kind, currency, owner_id, 0, 0, 0, 0, aware_now(now))
    existing = repo.get_account(uow.conn, account_id)
    if existing is None and repo.insert_account(uow.conn, wanted):
        return wanted
    existing = existing or repo.get_account(uow.conn, account_id)
    assert existing is not None  # the insert lost to a concurrent open, now committed
    if (existing.kind, existing.currency, existing.owner_id) != (account_kind, currency, owner_id):
        raise ConflictError(f"ledger account {account_id} exists with another kind/currency/owner")
    return existing


def transfer(
    uow: UnitOfWork,
    transfer_id: str,
    debit_account_id: str,
    credit_account_id: str,
    amount_minor: int,
    currency: str,
    *,
    pending: bool = False,
    timeout_s: int | None = None,
    memo: str = "",
    now: datetime | None = None,
) -> TransferOutcome:
    """Move ``amount_minor`` from the debit account to the credit account, or hold it."""
    _check_transfer(transfer_id, debit_account_id, credit_account_id, amount_minor, currency,
                    pending, timeout_s, memo)  # fmt: skip
    kind = TransferKind.PENDING if pending else TransferKind.SINGLE
    request = {
        "kind": kind,
        "debit_account_id": debit_account_id,
        "credit_account_id": credit_account_id,
        "amount_minor": amount_minor,
        "currency": currency,
        "pending_id": None,
        "timeout_s": timeout_s,
        "memo": memo,
    }
    # The id is looked up only on a refusal or an insert conflict, to save a round trip on the
    # common path; either way a retry is answered from the stored transfer.
    accounts = repo.lock_accounts(uow.conn, [debit_account_id, credit_account_id])
    refusal = _refusal(accounts, debit_account_id, credit_account_id, amount_minor, currency)
    if refusal is not None:
        stored = repo.get_transfer(uow.conn, transfer_id)
        if stored is not None:
            return replayed(stored, same_request(stored, **request))  # type: ignore[arg-type]
        return refusal
    at = aware_now(now)
    new = Transfer(
        id=transfer_id,
        kind=kind,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount_minor=amount_minor,
        currency=currency,
        status=TransferStatus.PENDING if pending else TransferStatus.POSTED,
        pending_id=None,
        timeout_s=timeout_s,
        timeout_at=at + timedelta(seconds=timeout_s) if timeout_s else None,
        memo=memo,
        created_at=at,
    )
    if not repo.insert_transfer(uow.conn, new):  # a retry, or a concurrent one got there first
        stored = repo.get_transfer(uow.conn, transfer_id)
        assert stored is not None
        return replayed(stored, same_request(stored, **request))  # type: ignore[arg-type]
    side = "pending" if pending else "posted"
    repo.add_to_pair(uow.conn, debit_account_id, {f"{side}_debits": amount_minor},
                     credit_account_id, {f"{side}_credits": amount_minor})  # fmt: skip
    return audit.transferred(uow, new)


def _check_transfer(
    transfer_id: str, debit_account_id: str, credit_account_id: str, amount_minor: int,
    currency: str, pending: bool, timeout_s: int | None, memo: str,
) -> None:  # fmt: skip
    """Bad input to a transfer is a ValidationError naming the field; nothing was written."""
    valid_id("transfer_id", transfer_id)
    valid_id("debit_account_id", debit_account_id)
    valid_id("credit_account_id", credit_account_id)
    valid_amount("amount_minor", amount_minor)
    valid_currency("currency", currency)
    valid_timeout("timeout_s", timeout_s)
    if timeout_s is not None and not pending:
        raise ValidationError("timeout_s", "only a pending transfer (a hold) has a timeout")
    if debit_account_id == credit_account_id:
        raise ValidationError("credit_account_id", "must differ from debit_account_id")
    if not isinstance(memo, str) or len(memo) > MAX_MEMO_CHARS:
        raise ValidationError("memo", f"must be text of at most {MAX_MEMO_CHARS} characters")


def _refusal(
    accounts: dict[str, Account], debit_id: str, credit_id: str, amount: int, currency: str
) -> TransferOutcome | None:
    for name in (debit_id, credit_id):
        if name not in accounts:
            return TransferOutcome(TransferResult.ACCOUNT_NOT_FOUND, None, f"no account {name}")
        if accounts[name].currency != currency:
            reason = f"account {name} is in {accounts[name].currency}, not {currency}"
            return TransferOutcome(TransferResult.CURRENCY_MISMATCH, None, reason)
    debit = accounts[debit_id]
    if not debit_fits(debit, amount):
        reason = f"account {debit_id} has {balance_of(debit).available_minor} available < {amount}"
        return TransferOutcome(TransferResult.INSUFFICIENT_FUNDS, None, reason)
    return None


def post_pending(
    uow: UnitOfWork,
    transfer_id: str,
    pending_id: str,
    amount_minor: int | None = None,
    *,
    now: datetime | None = None,
) -> TransferOutcome:
    """Post ``amount_minor`` (at most the hold; None = all of it) and release the rest."""
    if amount_minor is not None:
        valid_amount("amount_minor", amount_minor)
    return _resolve(uow, transfer_id, pending_id, TransferKind.POST, amount_minor, aware_now(now))


def void_pending(
    uow: UnitOfWork, transfer_id: str, pending_id: str, *, now: datetime | None = None
) -> TransferOutcome:
    """Release a hold entirely."""
    return _resolve(uow, transfer_id, pending_id, TransferKind.VOID, None, aware_now(now))


_ALREADY = {
    TransferStatus.POSTED: TransferResult.PENDING_ALREADY_POSTED,
    TransferStatus.VOIDED: TransferResult.PENDING_ALREADY_VOIDED,
    TransferStatus.EXPIRED: TransferResult.PENDING_EXPIRED,
}


def _resolve(
    uow: UnitOfWork,
    transfer_id: str,
    pending_id: str,
    kind: TransferKind,
    amount_minor: int | None,
    now: datetime,
) -> TransferOutcome:
    valid_id("transfer_id", transfer_id)
    valid_id("pending_id", pending_id)
    stored = repo.get_transfer(uow.conn, transfer_id)
    if stored is not None:
        same = same_resolution(stored, kind=kind, pending_id=pending_id, amount_minor=amount_minor)
        return replayed(stored, same)
    hold = repo.get_transfer(uow.conn, pending_id, lock=True)
    if hold is None:
        return TransferOutcome(TransferResult.PENDING_NOT_FOUND, None, f"no hold {pending_id}")
    if hold.kind is not TransferKind.PENDING:
        reason = f"transfer {pending_id} is a {hold.kind} transfer, not a hold"
        return TransferOutcome(TransferResult.NOT_A_PENDING_TRANSFER, None, reason)
    if hold.status is not TransferStatus.PENDING:
        # A concurrent retry of this very request may have resolved it while we waited.
        stored = repo.get_transfer(uow.conn, transfer_id)
        if stored is not None:
            same = same_resolution(
                stored, kind=kind, pending_id=pending_id, amount_minor=amount_minor
            )
            return replayed(stored, same)
        return TransferOutcome(_ALREADY[hold.status], hold, f"hold {pending_id} is {hold.status}")
    if hold.timeout_at is not None and now >= hold.timeout_at:
        reason = f"hold {pending_id} timed out at {hold.timeout_at.isoformat()}"
        return TransferOutcome(TransferResult.PENDING_EXPIRED, hold, reason)
    amount = hold.amount_minor if amount_minor is None else amount_minor
    if kind is TransferKind.POST and amount > hold.amount_minor:
        reason = f"post of {amount} exceeds hold {pending_id} of {hold.amount_minor}"
        return TransferOutcome(TransferResult.EXCEEDS_PENDING_AMOUNT, hold, reason)
    return _apply_resolution(uow, transfer_id, hold, kind, amount, now)


def _apply_resolution(
    uow: UnitOfWork,
    transfer_id: str,
    hold: Transfer,
    kind: TransferKind,
    amount: int,
    now: datetime,
) -> TransferOutcome:
    posting = kind is TransferKind.POST
    new = Transfer(
        id=transfer_id,
        kind=kind,
        debit_account_id=hold.debit_account_id,
        credit_account_id=hold.credit_account_id,
        amount_minor=amount,
        currency=hold.currency,
        status=TransferStatus.POSTED if posting else TransferStatus.VOIDED,
        pending_id=hold.id,
        timeout_s=None,
        timeout_at=None,
        memo="",
        created_at=now,
    )
    repo.lock_accounts(uow.conn, [hold.debit_account_id, hold.credit_account_id])
    if not repo.insert_transfer(uow.conn, new):  # the id was taken concurrently
        stored = repo.get_transfer(uow.conn, transfer_id)
        if stored is None:
            raise ConflictError(f"hold {hold.id} was resolved concurrently")
        same = same_resolution(stored, kind=kind, pending_id=hold.id, amount_minor=amount)
        return replayed(stored, same)
    repo.resolve_hold(uow.conn, hold.id, new.status, now)
    posted = amount if posting else 0
    repo.add_to_pair(
        uow.conn,
        hold.debit_account_id,
        {"pending_debits": -hold.amount_minor, "posted_debits": posted},
        hold.credit_account_id,
        {"pending_credits": -hold.amount_minor, "posted_credits": posted},
    )
    return audit.transferred(uow, new)


def expire_pending(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Release every open hold whose timeout has passed; return how many. In bulk: a burst of
    due holds costs a few statements, not a few per hold."""
    from suanli.services import ledger_batch  # it builds on this module

    return ledger_batch.expire_pending(uow, now)


def get_account(uow: UnitOfWork, account_id: str) -> Account:
    account = repo.get_account(uow.conn, account_id)
    if account is None:
        raise NotFoundError("ledger account", account_id)
    return account


def balance(uow: UnitOfWork, account_id: str) -> Balance:
    return balance_of(get_account(uow, account_id))


def list_accounts(
    uow: UnitOfWork, owner_id: str | None = None, kind: str | None = None
) -> list[Account]:
    if kind is not None:
        kind = valid_kind("kind", kind).value
    return repo.list_accounts(uow.conn, owner_id=owner_id, kind=kind)


@dataclass(frozen=True, slots=True)
class StatementLine:
    transfer: Transfer
    side: str  # "debit" or "credit": which side of the transfer this account is on


def account_statement(
    uow: UnitOfWork,
    account_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[StatementLine]:
    """Every transfer touching the account in ``[since, until)``, oldest first."""
    get_account(uow, account_id)
    return [
        StatementLine(t, "debit" if t.debit_account_id == account_id else "credit")
        for t in repo.statement(uow.conn, account_id, since, until)
    ]


def check_invariants(uow: UnitOfWork) -> list[str]:
    """Every break of the ledger's invariants (``suanli.ledger.invariants``); empty = healthy."""
    return invariants.check(repo.list_accounts(uow.conn), repo.all_transfers(uow.conn))


# Use cases for callers with a role: tenants and providers see only their own accounts.


def visible_balances(
    uow: UnitOfWork, who: Principal, owner_id: str | None = None, kind: str | None = None
) -> list[Balance]:
    if who.role not in READ_ALL_ROLES:
        if owner_id not in (None, who.org_id) or not who.can_read_org(who.org_id or ""):
            raise PermissionDenied(f"{who.role} may not read accounts of {owner_id}")
        owner_id = who.org_id or "\x00"
    return [balance_of(a) for a in list_accounts(uow, owner_id, kind)]


def _readable(uow: UnitOfWork, who: Principal, account_id: str) -> Account:
    account = get_account(uow, account_id)
    if not who.can_read_org(account.owner_id or "\x00"):
        raise PermissionDenied(f"{who.role} may not read ledger account {account_id}")
    return account


def visible_balance(uow: UnitOfWork, who: Principal, account_id: str) -> Balance:
    return balance_of(_readable(uow, who, account_id))


def visible_statement(
    uow: UnitOfWork,
    who: Principal,
    account_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Balance, list[StatementLine]]:
    account = _readable(uow, who, account_id)
    return balance_of(account), account_statement(uow, account_id, since, until)
