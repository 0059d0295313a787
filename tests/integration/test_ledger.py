"""The ledger on SQLite and PostgreSQL: holds, posts, voids, expiry, retries, floors, bad input.

Every refusal is checked to leave every balance as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from suanli.errors import ConflictError, NotFoundError, ValidationError
from suanli.ledger.model import Balance, TransferResult, TransferStatus
from suanli.services import ledger
from suanli.store.uow import UnitOfWork

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ACCOUNTS = {
    "issuer:sh": ("issuer", "CNY", None),
    "budget:sh-2026": ("program_budget", "CNY", "sh-2026"),
    "voucher:v1": ("voucher", "CNY", "deepharbor-ai"),
    "receivable:dc1": ("provider_receivable", "CNY", "bj-zhongguancun-dc"),
    "wallet:usd": ("tenant_wallet", "USD", "deepharbor-ai"),
}


@pytest.fixture
def books(engine: Engine) -> Engine:
    """Accounts opened; the budget holds 1,000.00 CNY and the voucher 300.00 CNY."""
    with UnitOfWork(engine) as uow:
        for account_id, (kind, currency, owner) in ACCOUNTS.items():
            ledger.open_account(uow, account_id, kind, currency, owner)
        assert ledger.transfer(uow, "fund", "issuer:sh", "budget:sh-2026", 100_000, "CNY").ok
        assert ledger.transfer(uow, "issue", "budget:sh-2026", "voucher:v1", 30_000, "CNY").ok
        uow.commit()
    return engine


def balances(engine: Engine) -> dict[str, Balance]:
    with UnitOfWork(engine) as uow:
        return {a.id: ledger.balance(uow, a.id) for a in ledger.list_accounts(uow)}


def run(engine: Engine, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(engine) as uow:
        out = fn(uow, *args, **kwargs)
        uow.commit()
    return out


def healthy(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        assert ledger.check_invariants(uow) == []


def test_single_transfer_moves_money_and_sums_to_zero(books: Engine) -> None:
    b = balances(books)
    assert b["issuer:sh"].posted_minor == -100_000
    assert b["budget:sh-2026"].posted_minor == 70_000
    assert b["voucher:v1"].available_minor == 30_000
    assert sum(x.posted_minor for x in b.values() if x.currency == "CNY") == 0
    healthy(books)


def test_hold_then_partial_post_releases_the_rest(books: Engine) -> None:
    hold = run(
        books,
        ledger.transfer,
        "h1",
        "voucher:v1",
        "receivable:dc1",
        20_000,
        "CNY",
        pending=True,
        timeout_s=3600,
        now=T0,
    )
    assert hold.ok and hold.transfer.status is TransferStatus.PENDING
    b = balances(books)
    assert (b["voucher:v1"].posted_minor, b["voucher:v1"].available_minor) == (30_000, 10_000)
    assert b["receivable:dc1"].pending_minor == 20_000
    assert b["receivable:dc1"].available_minor == 0  # incoming holds are not spendable

    posted = run(books, ledger.post_pending, "p1", "h1", 12_345, now=T0 + timedelta(minutes=5))
    assert posted.result is TransferResult.OK
    b = balances(books)
    assert b["voucher:v1"].available_minor == 30_000 - 12_345
    assert b["voucher:v1"].pending_minor == 0
    assert b["receivable:dc1"].posted_minor == 12_345
    healthy(books)


def test_post_above_hold_and_second_resolution_are_refused(books: Engine) -> None:
    run(books, ledger.transfer, "h1", "voucher:v1", "receivable:dc1", 5_000, "CNY", pending=True)
    before = balances(books)
    over = run(books, ledger.post_pending, "p1", "h1", 5_001)
    assert over.result is TransferResult.EXCEEDS_PENDING_AMOUNT
    assert balances(books) == before
    assert run(books, ledger.post_pending, "p1", "h1").ok  # None posts the full hold
    after = balances(books)
    assert after["receivable:dc1"].posted_minor == 5_000
    assert run(books, ledger.void_pending, "v1", "h1").result is (
        TransferResult.PENDING_ALREADY_POSTED
    )
    assert run(books, ledger.post_pending, "p2", "h1", 1).result is (
        TransferResult.PENDING_ALREADY_POSTED
    )
    assert balances(books) == after
    healthy(books)


def test_void_releases_the_whole_hold(books: Engine) -> None:
    before = balances(books)
    run(books, ledger.transfer, "h1", "voucher:v1", "receivable:dc1", 9_000, "CNY", pending=True)
    assert run(books, ledger.void_pending, "v1", "h1").ok
    assert balances(books) == before
    assert run(books, ledger.post_pending, "p1", "h1").result is (
        TransferResult.PENDING_ALREADY_VOIDED
    )
    assert run(books, ledger.post_pending, "p1", "fund").result is (
        TransferResult.NOT_A_PENDING_TRANSFER
    )
    assert run(books, ledger.post_pending, "p1", "nope").result is TransferResult.PENDING_NOT_FOUND
    assert balances(books) == before
    healthy(books)


def test_expiry_releases_holds_past_their_timeout(books: Engine) -> None:
    before = balances(books)
    run(
        books,
        ledger.transfer,
        "h-short",
        "voucher:v1",
        "receivable:dc1",
        1_000,
        "CNY",
        pending=True,
        timeout_s=60,
        now=T0,
    )
    run(
        books,
        ledger.transfer,
        "h-long",
        "voucher:v1",
        "receivable:dc1",
        2_000,
        "CNY",
        pending=True,
        timeout_s=3600,
        now=T0,
    )
    late = T0 + timedelta(seconds=61)
    # Past its timeout a hold can be neither posted nor voided, even before expiry runs.
    assert run(books, ledger.post_pending, "p", "h-short", now=late).result is (
        TransferResult.PENDING_EXPIRED
    )
    assert run(books, ledger.expire_pending, late) == 1
    assert run(books, ledger.expire_pending, late) == 0
    assert (
        balances(books)["voucher:v1"].available_minor
        == before["voucher:v1"].available_minor - 2_000
    )
    assert run(books, ledger.void_pending, "v", "h-short", now=late).result is (
        TransferResult.PENDING_EXPIRED
    )
    assert run(books, ledger.void_pending, "v", "h-long", now=late).ok
    assert balances(books) == before
    healthy(books)


def test_retries_are_idempotent_and_different_content_is_refused(books: Engine) -> None:
    first = run(
        books, ledger.transfer, "t1", "voucher:v1", "receivable:dc1", 1_000, "CNY", memo="job 7"
    )
    after = balances(books)
    again = run(
        books, ledger.transfer, "t1", "voucher:v1", "receivable:dc1", 1_000, "CNY", memo="job 7"
    )
    assert again.result is TransferResult.EXISTS and again.ok
    assert again.transfer == first.transfer
    for change in ({"amount_minor": 999}, {"memo": "other"}, {"pending": True}):
        args: dict[str, Any] = {"amount_minor": 1_000, "memo": "job 7", **change}
        clash = run(
            books, ledger.transfer, "t1", "voucher:v1", "receivable:dc1", currency="CNY", **args
        )
        assert clash.result is TransferResult.EXISTS_WITH_DIFFERENT_CONTENT and not clash.ok
    # Posts and voids are idempotent by their own id too.
    run(books, ledger.transfer, "h1", "voucher:v1", "receivable:dc1", 500, "CNY", pending=True)
    assert run(books, ledger.post_pending, "p1", "h1", 400).result is TransferResult.OK
    assert run(books, ledger.post_pending, "p1", "h1", 400).result is TransferResult.EXISTS
    assert run(books, ledger.post_pending, "p1", "h1").result is TransferResult.EXISTS
    assert run(books, ledger.post_pending, "p1", "h1", 300).result is (
        TransferResult.EXISTS_WITH_DIFFERENT_CONTENT
    )
    assert run(books, ledger.void_pending, "p1", "h1").result is (
        TransferResult.EXISTS_WITH_DIFFERENT_CONTENT
    )
    assert (
        balances(books)["receivable:dc1"].posted_minor == after["receivable:dc1"].posted_minor + 400
    )
    healthy(books)


def test_floors_refuse_overspending_but_issuers_may_go_negative(books: Engine) -> None:
    before = balances(books)
    out = run(books, ledger.transfer, "t1", "voucher:v1", "receivable:dc1", 30_001, "CNY")
    assert out.result is TransferResult.INSUFFICIENT_FUNDS and "30000 available" in out.reason
    run(books, ledger.transfer, "h1", "voucher:v1", "receivable:dc1", 20_000, "CNY", pending=True)
    held = balances(books)
    # Holds count against the floor: 10,001 more is refused, posted or held.
    for pending in (False, True):
        out = run(
            books,
            ledger.transfer,
            "t2",
            "voucher:v1",
            "receivable:dc1",
            10_001,
            "CNY",
            pending=pending,
        )
        assert out.result is TransferResult.INSUFFICIENT_FUNDS
    assert balances(books) == held
    assert run(books, ledger.transfer, "t3", "issuer:sh", "budget:sh-2026", 10**12, "CNY").ok
    assert balances(books)["issuer:sh"].posted_minor == before["issuer:sh"].posted_minor - 10**12
    healthy(books)


def test_state_refusals_are_result_codes_and_change_nothing(books: Engine) -> None:
    before = balances(books)
    cases = {
        TransferResult.ACCOUNT_NOT_FOUND: ("voucher:v1", "nobody", 1, "CNY"),
        TransferResult.CURRENCY_MISMATCH: ("voucher:v1", "receivable:dc1", 1, "USD"),
    }
    for code, args in cases.items():
        out = run(books, ledger.transfer, f"t-{code}", *args)
        assert out.result is code and not out.ok and out.reason
    out = run(books, ledger.transfer, "t-x", "voucher:v1", "wallet:usd", 1, "CNY")
    assert out.result is TransferResult.CURRENCY_MISMATCH
    assert balances(books) == before
    healthy(books)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("amount_minor", {"amount_minor": -5}),
        ("amount_minor", {"amount_minor": 0}),
        ("amount_minor", {"amount_minor": 12.5}),
        ("amount_minor", {"amount_minor": "100"}),
        ("currency", {"currency": "XYZ"}),
        ("transfer_id", {"transfer_id": ""}),
        ("transfer_id", {"transfer_id": "has space"}),
        ("debit_account_id", {"debit_account_id": None}),
        ("credit_account_id", {"credit_account_id": "voucher:v1"}),
        ("timeout_s", {"timeout_s": 60}),
        ("timeout_s", {"pending": True, "timeout_s": -1}),
    ],
)
def test_malformed_input_is_a_validation_error_naming_the_field(
    books: Engine, field: str, change: dict[str, Any]
) -> None:
    before = balances(books)
    args: dict[str, Any] = {
        "transfer_id": "t-bad",
        "debit_account_id": "voucher:v1",
        "credit_account_id": "receivable:dc1",
        "amount_minor": 100,
        "currency": "CNY",
        **change,
    }
    with pytest.raises(ValidationError) as err:
        run(books, ledger.transfer, **args)
    assert err.value.field == field
    assert balances(books) == before
    with pytest.raises(ValidationError):
        run(books, ledger.post_pending, "p-bad", "fund", 0)


def test_accounts_open_idempotently_and_reads_fail_clearly(books: Engine) -> None:
    again = run(books, ledger.open_account, "voucher:v1", "voucher", "CNY", "deepharbor-ai")
    assert again.posted_credits == 30_000
    with pytest.raises(ConflictError):
        run(books, ledger.open_account, "voucher:v1", "voucher", "USD", "deepharbor-ai")
    with pytest.raises(ValidationError) as err:
        run(books, ledger.open_account, "x", "piggy_bank", "CNY")
    assert err.value.field == "kind"
    with pytest.raises(NotFoundError):
        run(books, ledger.balance, "nobody")


def test_statement_lists_the_accounts_transfers_in_order(books: Engine) -> None:
    run(books, ledger.transfer, "h1", "voucher:v1", "receivable:dc1", 700, "CNY", pending=True)
    run(books, ledger.post_pending, "p1", "h1", 600)
    with UnitOfWork(books) as uow:
        lines = ledger.account_statement(uow, "voucher:v1")
    assert [(x.transfer.id, x.side) for x in lines] == [
        ("issue", "credit"),
        ("h1", "debit"),
        ("p1", "debit"),
    ]
    assert lines[1].transfer.status is TransferStatus.POSTED
