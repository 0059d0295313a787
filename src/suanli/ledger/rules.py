"""Pure decisions: is this input well formed, may this account take this debit, and is this
retry the same transfer. Malformed input raises ``ValidationError`` before anything is read."""

from __future__ import annotations

import re

from suanli.domain.money import MINOR_UNITS
from suanli.errors import ValidationError
from suanli.ledger.model import (
    Account,
    AccountKind,
    Floor,
    Transfer,
    TransferKind,
    TransferOutcome,
    TransferResult,
)


def debit_fits(account: Account, amount_minor: int) -> bool:
    """Whether debiting ``amount_minor`` more (posted or held) keeps the account above its floor.

    Holds count against the floor when they are made, so posting a hold can never break it.
    """
    if account.floor is Floor.NONE:
        return True
    spent = account.posted_debits + account.pending_debits + amount_minor
    return spent <= account.posted_credits


def replayed(stored: Transfer, same: bool) -> TransferOutcome:
    """The outcome of a transfer id already stored: the same transfer again, or another one."""
    if same:
        return TransferOutcome(TransferResult.EXISTS, stored, f"transfer {stored.id} was applied")
    return TransferOutcome(
        TransferResult.EXISTS_WITH_DIFFERENT_CONTENT,
        stored,
        f"transfer id {stored.id} is taken by a transfer with other content",
    )


def same_request(
    stored: Transfer,
    *,
    kind: TransferKind,
    debit_account_id: str,
    credit_account_id: str,
    amount_minor: int | None,
    currency: str,
    pending_id: str | None,
    timeout_s: int | None,
    memo: str,
) -> bool:
    """Whether a retried request asks for exactly what ``stored`` did.

    ``amount_minor=None`` on a post means "the full hold", which the stored post resolved.
    """
    return (
        stored.kind == kind
        and stored.debit_account_id == debit_account_id
        and stored.credit_account_id == credit_account_id
        and (amount_minor is None or stored.amount_minor == amount_minor)
        and stored.currency == currency
        and stored.pending_id == pending_id
        and stored.timeout_s == timeout_s
        and stored.memo == memo
    )


def same_resolution(
    stored: Transfer, *, kind: TransferKind, pending_id: str, amount_minor: int | None
) -> bool:
    """Whether a retried post or void asks for what ``stored`` did (None: the full hold)."""
    return (
        stored.kind == kind
        and stored.pending_id == pending_id
        and (amount_minor is None or stored.amount_minor == amount_minor)
    )


MAX_AMOUNT = 2**62  # an amount's bound: room for sums in a signed 64-bit column
# Matched whole (``fullmatch``): with ``match`` and ``$``, an id ending in a newline passed.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}")


def valid_id(field: str, value: object) -> str:
    """Account and transfer ids: 1-128 characters, letters, digits and ``._:/@-``."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ValidationError(field, f"{value!r} is not an id (1-128 of A-Z a-z 0-9 . _ : / @ -)")
    return value


def valid_amount(field: str, value: object) -> int:
    """A positive whole number of minor units; floats and bools are refused, not rounded."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(field, f"must be a whole number of minor units, got {value!r}")
    if value <= 0:
        raise ValidationError(field, f"must be positive, got {value}")
    if value >= MAX_AMOUNT:
        raise ValidationError(field, f"{value} is too large")
    return value


def valid_currency(field: str, value: object) -> str:
    if not isinstance(value, str) or value not in MINOR_UNITS:
        raise ValidationError(field, f"unknown currency {value!r}; known: {sorted(MINOR_UNITS)}")
    return value


def valid_kind(field: str, value: object) -> AccountKind:
    try:
        return AccountKind(str(value))
    except ValueError:
        known = ", ".join(k.value for k in AccountKind)
        raise ValidationError(field, f"unknown account kind {value!r}; known: {known}") from None


def valid_timeout(field: str, value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError(field, f"must be a positive number of seconds, got {value!r}")
    return value
