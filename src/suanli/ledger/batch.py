"""A batch of transfers decided in memory: result codes, the new transfers, the total changes.

``plan`` judges each transfer of a batch in order against the locked accounts, as if each were
made alone after the ones before it: replays answer ``exists`` (or ``exists_with_different_
content``), unknown accounts, other currencies and debits past an account's floor are refused
on their own, and the rest apply. It keeps one running "available" figure per account and one
list of four deltas per account instead of copying an ``Account`` per transfer: copying the
frozen accounts was a tenth of a batch's time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from suanli.ledger.model import (
    Account,
    Floor,
    Transfer,
    TransferKind,
    TransferOutcome,
    TransferResult,
    TransferStatus,
)
from suanli.ledger.rules import replayed, same_request
from suanli.records import quick_init

# Members read once: reading an enum member through its class costs a descriptor call in
# CPython 3.11, three a transfer in a batch of thousands.
_SINGLE, _PENDING = TransferKind.SINGLE, TransferKind.PENDING
_POSTED, _HELD = TransferStatus.POSTED, TransferStatus.PENDING
_OK = TransferResult.OK

# The order of an account's totals in a delta list (and in the batch's UPDATE).
TOTALS = ("posted_debits", "posted_credits", "pending_debits", "pending_credits")
# Their places in a delta list, as TOTALS orders them.
POSTED_DEBITS, POSTED_CREDITS, PENDING_DEBITS, PENDING_CREDITS = range(len(TOTALS))


@quick_init
@dataclass(frozen=True, slots=True)
class TransferSpec:
    """One transfer of a batch: the arguments of ``ledger.transfer``."""

    id: str
    debit_account_id: str
    credit_account_id: str
    amount_minor: int
    currency: str
    pending: bool = False
    timeout_s: int | None = None
    memo: str = ""

    @property
    def kind(self) -> TransferKind:
        return _PENDING if self.pending else _SINGLE

    def same_as(self, stored: Transfer) -> bool:
        return same_request(
            stored, kind=self.kind, debit_account_id=self.debit_account_id,
            credit_account_id=self.credit_account_id, amount_minor=self.amount_minor,
            currency=self.currency, pending_id=None, timeout_s=self.timeout_s, memo=self.memo,
        )  # fmt: skip

    def applied(self, at: datetime) -> Transfer:
        held = self.pending
        return Transfer(
            self.id,
            _PENDING if held else _SINGLE,
            self.debit_account_id,
            self.credit_account_id,
            self.amount_minor,
            self.currency,
            _HELD if held else _POSTED,
            None,
            self.timeout_s,
            at + timedelta(seconds=self.timeout_s) if self.timeout_s else None,
            self.memo,
            at,
        )  # fmt: skip  (positional: Transfer's field order; keywords cost a tenth more)


@dataclass(frozen=True, slots=True)
class Plan:
    outcomes: list[TransferOutcome]  # one per spec, in order
    new: list[Transfer]  # the transfers to insert, in order
    deltas: dict[str, list[int]]  # account id -> additions to its TOTALS, in that order


def plan(
    accounts: Mapping[str, Account],
    stored: Mapping[str, Transfer],
    specs: Sequence[TransferSpec],
    at: datetime,
) -> Plan:
    """Judge ``specs`` in order; ``stored``: the transfers already stored among their ids."""
    seen = dict(stored)
    available = {a.id: a.posted_credits - a.posted_debits - a.pending_debits
                 for a in accounts.values()}  # fmt: skip
    floored = {a.id for a in accounts.values() if a.floor is not Floor.NONE}
    currency_of = {a.id: a.currency for a in accounts.values()}
    deltas: dict[str, list[int]] = {}
    outcomes: list[TransferOutcome] = []
    new: list[Transfer] = []
    for spec in specs:
        earlier = seen.get(spec.id)
        if earlier is not None:
            outcomes.append(replayed(earlier, spec.same_as(earlier)))
            continue
        debit, credit, amount = spec.debit_account_id, spec.credit_account_id, spec.amount_minor
        # Both accounts known and in the transfer's currency (the usual case) leave only the
        # funds to check; anything else goes to _refusal, which names what is wrong.
        known = currency_of.get(debit) == spec.currency == currency_of.get(credit)
        if not known or (debit in floored and amount > available[debit]):
            outcomes.append(_refusal(accounts, available, floored, spec))
            continue
        made = spec.applied(at)
        seen[made.id] = made
        new.append(made)
        outcomes.append(TransferOutcome(_OK, made))
        available[debit] -= amount
        if spec.pending:  # a hold: counted in the pending totals, not yet spendable by credit
            side = PENDING_DEBITS
        else:
            side = POSTED_DEBITS
            available[credit] += amount
        debits = deltas.get(debit)
        if debits is None:
            debits = deltas[debit] = [0, 0, 0, 0]
        debits[side] += amount
        credits = deltas.get(credit)
        if credits is None:
            credits = deltas[credit] = [0, 0, 0, 0]
        credits[side + 1] += amount  # this side's credits total
    return Plan(outcomes, new, deltas)


def _refusal(
    accounts: Mapping[str, Account],
    available: Mapping[str, int],
    floored: set[str],
    spec: TransferSpec,
) -> TransferOutcome:
    """As ``services.ledger``'s single path refuses, with the balances so far in the batch."""
    for name in (spec.debit_account_id, spec.credit_account_id):
        account = accounts.get(name)
        if account is None:
            return TransferOutcome(TransferResult.ACCOUNT_NOT_FOUND, None, f"no account {name}")
        if account.currency != spec.currency:
            reason = f"account {name} is in {account.currency}, not {spec.currency}"
            return TransferOutcome(TransferResult.CURRENCY_MISMATCH, None, reason)
    debit, amount = spec.debit_account_id, spec.amount_minor
    reason = f"account {debit} has {available[debit]} available < {amount}"
    return TransferOutcome(TransferResult.INSUFFICIENT_FUNDS, None, reason)
