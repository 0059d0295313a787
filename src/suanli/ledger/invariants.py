"""Every invariant of the ledger, checked over all accounts and transfers.

``check`` returns one line per break, empty when the ledger is healthy:

- per currency, posted debits equal posted credits, and pending debits equal pending credits
  (balances sum to zero);
- each account's four totals equal the sums of the transfers that touch it: single and post
  transfers count as posted, holds still ``pending`` count as pending;
- no account is below its floor and no total is negative;
- every transfer has a positive amount in the currency of both its accounts, which differ;
- a hold is resolved at most once: ``posted`` by exactly one post of at most the hold, ``voided``
  by exactly one void of the hold, ``pending``/``expired`` by none; a post or void matches its
  hold's accounts and currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from suanli.ledger.model import (
    Account,
    Floor,
    Transfer,
    TransferKind,
    TransferStatus,
)

Totals = tuple[int, int, int, int]  # posted debits, posted credits, pending debits, credits


def check(accounts: Sequence[Account], transfers: Sequence[Transfer]) -> list[str]:
    by_id = {a.id: a for a in accounts}
    return [
        *_zero_sum(accounts),
        *_totals_match(accounts, transfers),
        *_floors(accounts),
        *_transfers_well_formed(by_id, transfers),
        *_holds_resolved_once(transfers),
    ]


def _zero_sum(accounts: Iterable[Account]) -> list[str]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for a in accounts:
        s = sums[a.currency]
        s[0] += a.posted_debits
        s[1] += a.posted_credits
        s[2] += a.pending_debits
        s[3] += a.pending_credits
    breaks = []
    for currency, (pd, pc, hd, hc) in sorted(sums.items()):
        if pd != pc:
            breaks.append(f"{currency}: posted debits {pd} != posted credits {pc}")
        if hd != hc:
            breaks.append(f"{currency}: pending debits {hd} != pending credits {hc}")
    return breaks


def expected_totals(transfers: Iterable[Transfer]) -> dict[str, Totals]:
    """Each account's totals as its transfers say they should be."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for t in transfers:
        if t.kind in (TransferKind.SINGLE, TransferKind.POST):
            sums[t.debit_account_id][0] += t.amount_minor
            sums[t.credit_account_id][1] += t.amount_minor
        elif t.kind is TransferKind.PENDING and t.status is TransferStatus.PENDING:
            sums[t.debit_account_id][2] += t.amount_minor
            sums[t.credit_account_id][3] += t.amount_minor
    return {k: (v[0], v[1], v[2], v[3]) for k, v in sums.items()}


def _totals_match(accounts: Iterable[Account], transfers: Iterable[Transfer]) -> list[str]:
    expected = expected_totals(transfers)
    breaks = []
    for a in accounts:
        stored = (a.posted_debits, a.posted_credits, a.pending_debits, a.pending_credits)
        want = expected.pop(a.id, (0, 0, 0, 0))
        if stored != want:
            breaks.append(f"account {a.id}: totals {stored} != sum of its transfers {want}")
    breaks += [f"transfers name unknown account {name}" for name in sorted(expected)]
    return breaks


def _floors(accounts: Iterable[Account]) -> list[str]:
    breaks = []
    for a in accounts:
        if min(a.posted_debits, a.posted_credits, a.pending_debits, a.pending_credits) < 0:
            breaks.append(f"account {a.id}: a negative total")
        spent = a.posted_debits + a.pending_debits
        if a.floor is Floor.DEBITS_WITHIN_CREDITS and spent > a.posted_credits:
            breaks.append(
                f"account {a.id} ({a.kind}): debits {spent} exceed credits {a.posted_credits}"
            )
    return breaks


def _transfers_well_formed(by_id: dict[str, Account], transfers: Iterable[Transfer]) -> list[str]:
    breaks = []
    for t in transfers:
        if t.amount_minor <= 0:
            breaks.append(f"transfer {t.id}: amount {t.amount_minor} is not positive")
        if t.debit_account_id == t.credit_account_id:
            breaks.append(f"transfer {t.id}: debits and credits the same account")
        for name in (t.debit_account_id, t.credit_account_id):
            account = by_id.get(name)
            if account is not None and account.currency != t.currency:
                breaks.append(f"transfer {t.id}: {t.currency} on {account.currency} account {name}")
    return breaks


def _holds_resolved_once(transfers: Sequence[Transfer]) -> list[str]:
    holds = {t.id: t for t in transfers if t.kind is TransferKind.PENDING}
    resolutions: dict[str, list[Transfer]] = defaultdict(list)
    breaks = []
    for t in transfers:
        if t.kind in (TransferKind.POST, TransferKind.VOID):
            if t.pending_id not in holds:
                breaks.append(f"transfer {t.id}: resolves unknown hold {t.pending_id}")
                continue
            resolutions[t.pending_id].append(t)
    for hold in holds.values():
        breaks += _hold_breaks(hold, resolutions.get(hold.id, []))
    return breaks


def _hold_breaks(hold: Transfer, found: list[Transfer]) -> list[str]:
    wanted = {
        TransferStatus.POSTED: TransferKind.POST,
        TransferStatus.VOIDED: TransferKind.VOID,
    }.get(hold.status)
    kinds = sorted(t.kind.value for t in found)
    if (wanted is None and found) or (wanted is not None and kinds != [wanted.value]):
        return [f"hold {hold.id} ({hold.status}): resolved by {kinds or 'nothing'}"]
    breaks = []
    for t in found:
        same_route = (t.debit_account_id, t.credit_account_id, t.currency) == (
            hold.debit_account_id,
            hold.credit_account_id,
            hold.currency,
        )
        if not same_route:
            breaks.append(f"transfer {t.id}: accounts or currency differ from hold {hold.id}")
        if t.kind is TransferKind.POST and t.amount_minor > hold.amount_minor:
            breaks.append(f"transfer {t.id}: posts {t.amount_minor} > hold {hold.amount_minor}")
        if t.kind is TransferKind.VOID and t.amount_minor != hold.amount_minor:
            breaks.append(f"transfer {t.id}: voids {t.amount_minor} != hold {hold.amount_minor}")
    return breaks
