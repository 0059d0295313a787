"""The database itself keeps a transfer's accounts and hold real, on both databases: foreign keys
on SQLite, statement-level triggers on PostgreSQL (migration 0011_ledger_keys). Each write below
goes around the services, as a bug or a hand at the console would, and is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from suanli.services import ledger
from suanli.store.repositories import ledger as repo
from suanli.store.uow import UnitOfWork
from tests.integration import test_ledger
from tests.integration.test_ledger import T0

books = test_ledger.books  # the fixture: accounts opened, budget and voucher funded

ROW = (
    "INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount_minor,"
    " currency, status, pending_id, memo, created_at) VALUES (:id, :kind, :debit, :credit, 100,"
    " 'CNY', :status, :pending, '', :at)"
)


def _refused(engine: Engine, sql: str, **params: object) -> None:
    """``sql`` raises and leaves the database as it was."""
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM ledger_transfers")).scalar_one()
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text(sql), params)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ledger_transfers")).scalar_one() == before


def _row(transfer_id: str, debit: str, credit: str, **more: object) -> dict[str, object]:
    return {"id": transfer_id, "kind": "single", "debit": debit, "credit": credit,
            "status": "posted", "pending": None, "at": T0} | more  # fmt: skip


@pytest.mark.parametrize("side", ["debit", "credit"])
def test_a_transfer_naming_an_unknown_account_is_refused(books: Engine, side: str) -> None:
    row = _row("ghost", "budget:sh-2026", "voucher:v1") | {side: "nobody:here"}
    _refused(books, ROW, **row)


def test_one_unknown_account_among_many_rows_refuses_the_statement(books: Engine) -> None:
    good = [_row(f"ok-{i}", "budget:sh-2026", "voucher:v1") for i in range(5)]
    rows = [*good, _row("bad", "budget:sh-2026", "nobody:here")]
    with pytest.raises(DBAPIError), books.begin() as conn:
        conn.execute(text(ROW), rows)
    with UnitOfWork(books, read_only=True) as uow:
        assert repo.get_transfer(uow.conn, "ok-0") is None


def test_a_post_of_an_unknown_hold_is_refused(books: Engine) -> None:
    row = _row("post-ghost", "budget:sh-2026", "voucher:v1", kind="post", pending="no-hold")
    _refused(books, ROW, **row)


def test_a_transfers_accounts_and_an_account_are_kept(books: Engine) -> None:
    _refused(
        books, "UPDATE ledger_transfers SET credit_account_id = 'nobody:here' WHERE id = 'fund'"
    )
    # Referenced by transfers: no database lets it go. PostgreSQL keeps every account.
    _refused(books, "DELETE FROM ledger_accounts WHERE id = 'voucher:v1'")
    if books.dialect.name == "postgresql":
        _refused(books, "DELETE FROM ledger_accounts WHERE id = 'wallet:usd'")
        _refused(books, "UPDATE ledger_accounts SET id = 'wallet:other' WHERE id = 'wallet:usd'")


def _hold_then(books: Engine, resolve: str) -> None:
    """Hold 50.00 CNY on the voucher as ``h1``, then post (``p1``) or void (``v1``) it."""
    with UnitOfWork(books) as uow:
        hold = ledger.transfer(uow, "h1", "voucher:v1", "receivable:dc1", 5_000, "CNY",
                               pending=True, timeout_s=3600, now=T0)  # fmt: skip
        how = ledger.post_pending if resolve == "post" else ledger.void_pending
        assert hold.ok and how(uow, f"{resolve[0]}1", "h1", now=T0).ok
        uow.commit()


def test_a_hold_that_was_posted_is_not_deleted(books: Engine) -> None:
    _hold_then(books, "post")
    _refused(books, "DELETE FROM ledger_transfers WHERE id = 'h1'")


def test_open_holds_are_found_through_their_index(books: Engine) -> None:
    with UnitOfWork(books) as uow:
        for i in range(3):
            made = ledger.transfer(uow, f"h{i}", "voucher:v1", "receivable:dc1", 100, "CNY",
                                   pending=True, timeout_s=60 * (i + 1), now=T0)  # fmt: skip
            assert made.ok
        assert ledger.post_pending(uow, "p0", "h0", now=T0).ok
        uow.commit()
    with UnitOfWork(books) as uow:
        due = repo.holds_due(uow.conn, T0 + timedelta(seconds=150))
        assert [h.id for h in due] == ["h1"]  # h0 was posted; h2 is not due
        if books.dialect.name == "postgresql":  # the query's predicate matches the index's
            uow.conn.execute(text("SET LOCAL enable_seqscan = off"))
            query = repo.HOLDS_DUE.compile(dialect=uow.conn.dialect)
            params = query.construct_params({"now": T0})
            plan = uow.conn.exec_driver_sql(f"EXPLAIN {query}", params).all()
            assert "ix_ledger_transfers_open_holds" in " ".join(r[0] for r in plan)


def test_a_hold_is_resolved_by_one_transfer_only(books: Engine) -> None:
    _hold_then(books, "void")
    second = _row("p-late", "voucher:v1", "receivable:dc1", kind="post", pending="h1")
    _refused(books, ROW, **second)
