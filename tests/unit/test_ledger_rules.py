"""The ledger's pure rules: floors, input checks, retry matching, and each invariant's detection."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from suanli.errors import ValidationError
from suanli.ledger import invariants
from suanli.ledger.model import (
    Account,
    AccountKind,
    Transfer,
    TransferKind,
    TransferResult,
    TransferStatus,
    balance_of,
)
from suanli.ledger.rules import (
    debit_fits,
    same_request,
    same_resolution,
    valid_amount,
    valid_currency,
    valid_id,
    valid_kind,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def account(
    id_: str,
    kind: AccountKind,
    pd: int = 0,
    pc: int = 0,
    hd: int = 0,
    hc: int = 0,
    currency: str = "CNY",
) -> Account:
    return Account(id_, kind, currency, None, pd, pc, hd, hc, T0)


def transfer(
    id_: str,
    debit: str,
    credit: str,
    amount: int,
    kind: TransferKind = TransferKind.SINGLE,
    status: TransferStatus = TransferStatus.POSTED,
    pending_id: str | None = None,
) -> Transfer:
    return Transfer(id_, kind, debit, credit, amount, "CNY", status, pending_id, None, None, "", T0)


def healthy_books() -> tuple[list[Account], list[Transfer]]:
    """Issuer funds a voucher with 100; 30 held to a provider, of which 20 posted; 10 held open."""
    accounts = [
        account("iss", AccountKind.ISSUER, pd=100),
        account("v", AccountKind.VOUCHER, pd=20, pc=100, hd=10),
        account("r", AccountKind.PROVIDER_RECEIVABLE, pc=20, hc=10),
    ]
    transfers = [
        transfer("fund", "iss", "v", 100),
        transfer("h1", "v", "r", 30, TransferKind.PENDING, TransferStatus.POSTED),
        transfer("p1", "v", "r", 20, TransferKind.POST, pending_id="h1"),
        transfer("h2", "v", "r", 10, TransferKind.PENDING, TransferStatus.PENDING),
    ]
    return accounts, transfers


def test_floors_by_kind() -> None:
    assert debit_fits(account("iss", AccountKind.ISSUER), 10**15)
    assert debit_fits(account("f", AccountKind.FUNDING), 1)
    voucher = account("v", AccountKind.VOUCHER, pd=20, pc=100, hd=10)
    assert debit_fits(voucher, 70)
    assert not debit_fits(voucher, 71)  # held money counts as spent
    for kind in AccountKind:
        if kind.value not in ("issuer", "funding", "settlement"):
            assert not debit_fits(account("x", kind), 1), kind


def test_balance_available_excludes_outgoing_holds_and_incoming_ones() -> None:
    b = balance_of(account("v", AccountKind.VOUCHER, pd=20, pc=100, hd=10, hc=5))
    assert (b.posted_minor, b.pending_minor, b.available_minor) == (80, -5, 70)


def test_only_ok_and_exists_are_ok() -> None:
    assert {r for r in TransferResult if r.ok} == {TransferResult.OK, TransferResult.EXISTS}


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "5", None, 2**62])
def test_amounts_must_be_positive_ints(bad: object) -> None:
    with pytest.raises(ValidationError) as err:
        valid_amount("amount_minor", bad)
    assert err.value.field == "amount_minor"


def test_ids_currencies_and_kinds_are_checked() -> None:
    assert valid_id("id", "voucher:sh-2026/v-1@t") == "voucher:sh-2026/v-1@t"
    for bad in ("", " x", "a b", "x" * 129, 7, "x\n", "x\r\n"):
        with pytest.raises(ValidationError):
            valid_id("id", bad)
    assert valid_currency("currency", "CNY") == "CNY"
    with pytest.raises(ValidationError):
        valid_currency("currency", "cny")
    assert valid_kind("kind", "voucher") is AccountKind.VOUCHER
    with pytest.raises(ValidationError):
        valid_kind("kind", "piggy_bank")


def test_retries_match_only_on_identical_content() -> None:
    stored = transfer("t", "a", "b", 10)
    ask = {
        "kind": TransferKind.SINGLE,
        "debit_account_id": "a",
        "credit_account_id": "b",
        "amount_minor": 10,
        "currency": "CNY",
        "pending_id": None,
        "timeout_s": None,
        "memo": "",
    }
    assert same_request(stored, **ask)  # type: ignore[arg-type]
    for key, value in (("amount_minor", 11), ("memo", "x"), ("kind", TransferKind.PENDING)):
        assert not same_request(stored, **{**ask, key: value})  # type: ignore[arg-type]
    post = transfer("p", "a", "b", 7, TransferKind.POST, pending_id="h")
    assert same_resolution(post, kind=TransferKind.POST, pending_id="h", amount_minor=None)
    assert same_resolution(post, kind=TransferKind.POST, pending_id="h", amount_minor=7)
    assert not same_resolution(post, kind=TransferKind.POST, pending_id="h", amount_minor=6)
    assert not same_resolution(post, kind=TransferKind.VOID, pending_id="h", amount_minor=None)


def test_healthy_books_have_no_breaks() -> None:
    assert invariants.check(*healthy_books()) == []


def _breaks(accounts: list[Account], transfers: list[Transfer]) -> str:
    found = invariants.check(accounts, transfers)
    assert found, "a break went unnoticed"
    return "\n".join(found)


def test_each_break_is_detected() -> None:
    accounts, transfers = healthy_books()
    iss, v, r = accounts
    # A balance that does not sum to zero (and no longer matches its transfers).
    text = _breaks([dataclasses.replace(iss, posted_debits=99), v, r], transfers)
    assert "CNY: posted debits 119 != posted credits 120" in text
    assert "sum of its transfers" in text
    # An account below its floor.
    over = [iss, dataclasses.replace(v, pending_debits=81), r]
    assert "exceed credits" in _breaks(over, transfers)
    # A post above its hold.
    big = [*transfers[:2], dataclasses.replace(transfers[2], amount_minor=31), transfers[3]]
    assert "posts 31 > hold 30" in _breaks(accounts, big)
    # A hold resolved twice.
    twice = [
        *transfers,
        transfer("v1", "v", "r", 30, TransferKind.VOID, TransferStatus.VOIDED, "h1"),
    ]
    assert "resolved by ['post', 'void']" in _breaks(accounts, twice)
    # A posted hold with nothing that posted it.
    assert "resolved by nothing" in _breaks(accounts, [t for t in transfers if t.id != "p1"])
    # A transfer in a currency its accounts do not hold.
    usd = [dataclasses.replace(transfers[0], currency="USD"), *transfers[1:]]
    assert "USD on CNY account" in _breaks(accounts, usd)
