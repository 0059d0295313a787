"""Batches of ledger transfers on SQLite and PostgreSQL: mixed results in one batch, replays,
ids repeated inside a batch, the size limit, bad input writing nothing, bulk expiry, audit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from suanli.domain.audit import BATCH_ACTION, batch_transfer_ids
from suanli.errors import ValidationError
from suanli.ledger.model import TransferResult, TransferStatus
from suanli.services import ledger
from suanli.services.ledger_batch import MAX_BATCH, TransferSpec, transfer_batch
from suanli.store.repositories import audit as audit_repo
from suanli.store.uow import UnitOfWork
from tests.integration.test_audit import _tamper
from tests.integration.test_ledger import ACCOUNTS, T0, balances, healthy, run

R = TransferResult


@pytest.fixture
def books(engine: Engine) -> Engine:
    """As in test_ledger: the budget holds 1,000.00 CNY and the voucher 300.00 CNY."""
    with UnitOfWork(engine) as uow:
        for account_id, (kind, currency, owner) in ACCOUNTS.items():
            ledger.open_account(uow, account_id, kind, currency, owner)
        assert ledger.transfer(uow, "fund", "issuer:sh", "budget:sh-2026", 100_000, "CNY").ok
        assert ledger.transfer(uow, "issue", "budget:sh-2026", "voucher:v1", 30_000, "CNY").ok
        uow.commit()
    return engine


def test_mixed_results_in_one_batch(books: Engine) -> None:
    before = balances(books)
    specs = [
        TransferSpec("b1", "voucher:v1", "receivable:dc1", 10_000, "CNY"),
        TransferSpec("b2", "voucher:v1", "receivable:dc1", 25_000, "CNY"),  # 20,000 left: refused
        TransferSpec("b3", "voucher:v1", "nowhere", 1, "CNY"),
        TransferSpec("b4", "voucher:v1", "wallet:usd", 1, "CNY"),
        TransferSpec(
            "b5", "voucher:v1", "receivable:dc1", 20_000, "CNY", pending=True, timeout_s=60
        ),  # fmt: skip
        TransferSpec("b6", "voucher:v1", "receivable:dc1", 1, "CNY"),  # all spent or held
        TransferSpec("fund", "issuer:sh", "budget:sh-2026", 100_000, "CNY"),  # stored before
        TransferSpec("issue", "issuer:sh", "budget:sh-2026", 5, "CNY"),  # the id, other content
    ]
    out = run(books, transfer_batch, specs, now=T0)
    assert [o.result for o in out] == [
        R.OK, R.INSUFFICIENT_FUNDS, R.ACCOUNT_NOT_FOUND, R.CURRENCY_MISMATCH, R.OK,
        R.INSUFFICIENT_FUNDS, R.EXISTS, R.EXISTS_WITH_DIFFERENT_CONTENT,
    ]  # fmt: skip
    after = balances(books)
    assert after["voucher:v1"].posted_minor == before["voucher:v1"].posted_minor - 10_000
    assert after["voucher:v1"].available_minor == 0
    assert after["receivable:dc1"].pending_minor == 20_000
    assert out[4].transfer is not None and out[4].transfer.status is TransferStatus.PENDING
    assert out[4].transfer.timeout_at == T0 + timedelta(seconds=60)
    healthy(books)


def test_replay_of_a_batch_changes_nothing(books: Engine) -> None:
    specs = [
        TransferSpec(f"r{i}", "budget:sh-2026", "voucher:v1", 100 + i, "CNY") for i in range(50)
    ]
    first = run(books, transfer_batch, specs)
    assert all(o.result is R.OK for o in first)
    after_first = balances(books)
    again = run(books, transfer_batch, specs)
    assert all(o.result is R.EXISTS for o in again)
    assert [o.transfer for o in again] == [o.transfer for o in first]
    assert balances(books) == after_first
    # Each transfer alone is answered the same way as in the batch.
    alone = run(books, ledger.transfer, "r7", "budget:sh-2026", "voucher:v1", 107, "CNY")
    assert alone.result is R.EXISTS
    healthy(books)


def test_an_id_repeated_inside_a_batch(books: Engine) -> None:
    specs = [
        TransferSpec("d1", "voucher:v1", "receivable:dc1", 100, "CNY"),
        TransferSpec("d1", "voucher:v1", "receivable:dc1", 100, "CNY"),
        TransferSpec("d1", "voucher:v1", "receivable:dc1", 999, "CNY"),
        TransferSpec("d2", "voucher:v1", "receivable:dc1", 10**9, "CNY"),  # refused: not stored
        TransferSpec("d2", "voucher:v1", "receivable:dc1", 200, "CNY"),  # so judged afresh
    ]
    out = run(books, transfer_batch, specs)
    assert [o.result for o in out] == [
        R.OK, R.EXISTS, R.EXISTS_WITH_DIFFERENT_CONTENT, R.INSUFFICIENT_FUNDS, R.OK,
    ]  # fmt: skip
    assert balances(books)["receivable:dc1"].posted_minor == 300


@pytest.mark.parametrize("repeated", [False, True])
def test_a_stored_id_is_answered_as_stored_even_where_it_would_be_refused(
    books: Engine, repeated: bool
) -> None:
    # "issue" is stored: judged as new, the first would be refused (and the repeat applied).
    again = [TransferSpec("issue", "budget:sh-2026", "voucher:v1", 30_000, "CNY")]
    specs = [
        TransferSpec("issue", "budget:sh-2026", "voucher:v1", 10**9, "CNY"),
        *(again if repeated else []),
        TransferSpec("n1", "voucher:v1", "receivable:dc1", 30_000, "CNY"),
        TransferSpec("n2", "voucher:v1", "receivable:dc1", 1, "CNY"),  # nothing left
    ]
    out = run(books, transfer_batch, specs)
    assert [o.result for o in out] == [
        R.EXISTS_WITH_DIFFERENT_CONTENT, *([R.EXISTS] if repeated else []), R.OK,
        R.INSUFFICIENT_FUNDS,
    ]  # fmt: skip
    after = balances(books)
    assert after["voucher:v1"].available_minor == 0
    assert after["budget:sh-2026"].available_minor == 70_000
    healthy(books)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (TransferSpec("x", "voucher:v1", "receivable:dc1", 0, "CNY"), "transfers[1].amount_minor"),
        (TransferSpec("x", "voucher:v1", "voucher:v1", 5, "CNY"), "transfers[1].credit_account_id"),
        (TransferSpec("bad id!", "voucher:v1", "receivable:dc1", 5, "CNY"), "transfers[1].id"),
        (TransferSpec("x", "voucher:v1", "receivable:dc1", 5, "XXX"), "transfers[1].currency"),
        (
            TransferSpec("x", "voucher:v1", "receivable:dc1", 5, "CNY", timeout_s=5),
            "transfers[1].timeout_s",
        ),
    ],
)
def test_a_bad_transfer_refuses_the_whole_batch(
    books: Engine, spec: TransferSpec, field: str
) -> None:
    before = balances(books)
    ok = TransferSpec("fine", "voucher:v1", "receivable:dc1", 5, "CNY")
    with pytest.raises(ValidationError) as err:
        run(books, transfer_batch, [ok, spec])
    assert err.value.field == field
    assert balances(books) == before
    # "fine" was not stored: alone now, it applies afresh.
    again = run(books, ledger.transfer, "fine", "voucher:v1", "receivable:dc1", 5, "CNY")
    assert again.result is R.OK


def test_a_batch_over_the_limit_is_refused(books: Engine) -> None:
    before = balances(books)
    specs = [TransferSpec(f"l{i}", "budget:sh-2026", "voucher:v1", 1, "CNY")
             for i in range(MAX_BATCH + 1)]  # fmt: skip
    with pytest.raises(ValidationError) as err:
        run(books, transfer_batch, specs)
    assert err.value.field == "transfers"
    assert balances(books) == before


def test_a_full_batch_applies_with_one_audit_entry_listing_every_transfer(books: Engine) -> None:
    specs = [TransferSpec(f"f{i}", "budget:sh-2026", "voucher:v1", 1, "CNY")
             for i in range(MAX_BATCH)]  # fmt: skip
    out = run(books, transfer_batch, specs)
    assert all(o.result is R.OK for o in out)
    assert balances(books)["voucher:v1"].posted_minor == 30_000 + MAX_BATCH
    with UnitOfWork(books, read_only=True) as uow:
        batches = [e for e in audit_repo.all_entries(uow.conn) if e.action == BATCH_ACTION]
        assert audit_repo.unlogged_transfers(uow.conn) == []
    assert len(batches) == 1
    assert batch_transfer_ids(batches[0].change) == [s.id for s in specs]
    assert json.loads(batches[0].change)["transfers"][0] == [
        "f0", "single", "budget:sh-2026", "voucher:v1", 1, "CNY", None, ""
    ]  # fmt: skip
    healthy(books)


def test_a_transfer_left_out_of_its_batch_entry_is_reported_unlogged(books: Engine) -> None:
    specs = [TransferSpec(f"u{i}", "budget:sh-2026", "voucher:v1", 1, "CNY") for i in range(3)]
    assert all(o.ok for o in run(books, transfer_batch, specs))
    last = ',["u2","single","budget:sh-2026","voucher:v1",1,"CNY",null,""]'
    _tamper(books, f"UPDATE audit_log SET change = replace(change, '{last}', '') "
                   f"WHERE action = '{BATCH_ACTION}'")  # fmt: skip
    with UnitOfWork(books, read_only=True) as uow:
        assert audit_repo.unlogged_transfers(uow.conn) == ["u2"]


def test_bulk_expiry_releases_every_due_hold(books: Engine) -> None:
    specs = [TransferSpec(f"h{i}", "voucher:v1", "receivable:dc1", 1000, "CNY", pending=True,
                          timeout_s=60 + i) for i in range(20)]  # fmt: skip
    assert all(o.ok for o in run(books, transfer_batch, specs, now=T0))
    assert balances(books)["voucher:v1"].available_minor == 10_000
    assert run(books, ledger.expire_pending, T0 + timedelta(seconds=70)) == 11
    b = balances(books)
    assert b["voucher:v1"].available_minor == 21_000
    assert b["receivable:dc1"].pending_minor == 9_000
    assert run(books, ledger.expire_pending, T0 + timedelta(days=1)) == 9
    assert balances(books)["voucher:v1"].available_minor == 30_000
    healthy(books)


def test_a_search_for_one_transfer_finds_its_batch_entry(books: Engine) -> None:
    """An auditor looking up one transfer of a batch finds the entry that lists it, and a
    transfer whose id merely starts the same is not confused with it."""
    specs = [TransferSpec(f"s_{i}", "budget:sh-2026", "voucher:v1", 1, "CNY") for i in range(3)]
    assert all(o.ok for o in run(books, transfer_batch, specs))
    with UnitOfWork(books, read_only=True) as uow:
        found = audit_repo.search(uow.conn, object_kind="transfer", object_id="s_1")
        assert [e.action for e in found] == [BATCH_ACTION]
        assert "s_1" in batch_transfer_ids(found[0].change)
        assert audit_repo.search(uow.conn, object_id="s__") == []
        assert audit_repo.search(uow.conn, object_id="s_") == []
        singles = audit_repo.search(uow.conn, object_kind="transfer", object_id="issue")
        assert [e.object_id for e in singles] == ["issue"]
