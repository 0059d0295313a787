"""Two batches name the same transfer id on different accounts at once (PostgreSQL): the second
waits on the first's uncommitted row, then answers that id from what the first did (or applies
it, if the first rolled back), and the rest of its batch applies exactly once."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine

from suanli.ledger.model import TransferOutcome, TransferResult
from suanli.services.ledger_batch import TransferSpec, transfer_batch
from suanli.store.uow import UnitOfWork
from tests.integration import test_ledger
from tests.integration.test_ledger import balances, healthy

books = test_ledger.books  # the fixture: accounts opened, budget and voucher funded
R = TransferResult
FIRST = [TransferSpec("x", "budget:sh-2026", "voucher:v1", 1_000, "CNY")]
SECOND = [  # other accounts: the two batches take no account lock in common
    TransferSpec("y", "issuer:sh", "receivable:dc1", 2_000, "CNY"),
    TransferSpec("x", "issuer:sh", "receivable:dc1", 3_000, "CNY"),
]


def _race(engine: Engine, first_commits: bool) -> list[TransferOutcome]:
    """The first batch inserts and holds its transaction open; the second starts, waits on the
    first's row, and goes on once the first commits or rolls back."""
    done: list[list[TransferOutcome]] = []

    def second() -> None:
        with UnitOfWork(engine) as uow:
            done.append(transfer_batch(uow, SECOND))
            uow.commit()

    with UnitOfWork(engine) as uow:
        assert transfer_batch(uow, FIRST)[0].ok
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive(), "the second batch should wait on the first's row"
        if first_commits:
            uow.commit()
    racer.join(timeout=30)
    assert not racer.is_alive() and len(done) == 1
    return done[0]


@pytest.mark.postgres
@pytest.mark.parametrize("first_commits", [True, False])
def test_a_raced_id_is_answered_from_the_winner(books: Engine, first_commits: bool) -> None:
    if books.dialect.name != "postgresql":
        pytest.skip("a writer waiting on another's uncommitted row is exercised on PostgreSQL")
    before = balances(books)
    out = _race(books, first_commits)
    after = balances(books)
    assert out[0].result is R.OK
    receivable = after["receivable:dc1"].posted_minor - before["receivable:dc1"].posted_minor
    voucher = after["voucher:v1"].posted_minor - before["voucher:v1"].posted_minor
    if first_commits:  # "x" is the first batch's: the second's "x" is another transfer
        assert out[1].result is R.EXISTS_WITH_DIFFERENT_CONTENT
        assert (receivable, voucher) == (2_000, 1_000)
    else:  # the first rolled back: the second's "x" is new
        assert out[1].result is R.OK
        assert (receivable, voucher) == (5_000, 0)
    healthy(books)
