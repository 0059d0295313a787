"""The ledger batch's statements that go to psycopg directly (``store.driver``) behave as the
ones through SQLAlchemy: inside the unit of work's transaction, with SQLAlchemy's errors, and
with array literals that carry every id as it was."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from suanli.ledger.batch import TransferSpec
from suanli.services import ledger
from suanli.store.driver import driver_of, int_array, sent, sqlalchemy_errors, text_array
from suanli.store.repositories import ledger as repo
from suanli.store.repositories import ledger_batch as batch_repo
from suanli.store.uow import UnitOfWork
from tests.integration.test_ledger import books  # noqa: F401  (the fixture)

pytestmark = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # the driver's


def _count(engine: Engine, account_id: str) -> int:
    with engine.connect() as conn:
        sql = "SELECT count(*) FROM ledger_accounts WHERE id = %(id)s"
        return int(conn.exec_driver_sql(sql, {"id": account_id}).scalar_one())


INSERT_ACCOUNT = (
    "INSERT INTO ledger_accounts (id, kind, currency, posted_debits, posted_credits,"
    " pending_debits, pending_credits, created_at) VALUES (%s, 'funding', 'CNY', 0, 0, 0, 0, now())"
)


@pytest.mark.parametrize("commit", [True, False])
def test_what_the_driver_runs_first_is_the_unit_of_works_to_commit(engine: Engine, commit: bool):
    with UnitOfWork(engine) as uow:
        driver_of(uow.conn).execute(INSERT_ACCOUNT, ["funding:driver"])  # the work's first write
        if commit:
            uow.commit()
    assert _count(engine, "funding:driver") == (1 if commit else 0)


def test_driver_errors_are_sqlalchemys(engine: Engine):
    with UnitOfWork(engine) as uow:
        driver_of(uow.conn).execute(INSERT_ACCOUNT, ["funding:twice"])
        with pytest.raises(IntegrityError) as taken, sqlalchemy_errors(INSERT_ACCOUNT):
            driver_of(uow.conn).execute(INSERT_ACCOUNT, ["funding:twice"])
    assert getattr(taken.value.orig, "sqlstate", None) == "23505"
    assert _count(engine, "funding:twice") == 0


def test_a_lock_wait_past_its_timeout_is_an_operational_error(engine: Engine, books: Engine):  # noqa: F811
    """What the API answers 503 (or retries) for, as it did through SQLAlchemy."""
    with UnitOfWork(engine) as holder, UnitOfWork(engine) as waiter:
        repo.lock_accounts(holder.conn, ["voucher:v1"])
        waiter.conn.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
        with pytest.raises(OperationalError) as waited:
            repo.lock_accounts(waiter.conn, ["issuer:sh", "voucher:v1"])
    assert getattr(waited.value.orig, "sqlstate", None) == "55P03"  # lock_not_available


def test_sent_statements_run_in_the_unit_of_works_transaction_beside_the_block(engine: Engine):
    ran_in_block = []
    with UnitOfWork(engine) as uow:
        insert = INSERT_ACCOUNT.replace("%s", "%(id)s")
        with sent(uow.conn, [("SAVEPOINT s", None), (insert, {"id": "funding:sent"})]):
            ran_in_block.append(True)
        assert ran_in_block == [True]
        in_work = "SELECT count(*) FROM ledger_accounts WHERE id = 'funding:sent'"
        assert uow.conn.exec_driver_sql(in_work).scalar_one() == 1
        assert _count(engine, "funding:sent") == 0  # not committed by leaving the block
        uow.commit()
    assert _count(engine, "funding:sent") == 1


def test_a_sent_statement_that_fails_is_raised_on_leaving_and_stops_the_rest(engine: Engine):
    insert = INSERT_ACCOUNT.replace("%s", "%(id)s")
    with UnitOfWork(engine) as uow:
        driver_of(uow.conn).execute(INSERT_ACCOUNT, ["funding:taken"])
        statements = [(insert, {"id": "funding:taken"}), (insert, {"id": "funding:after"})]
        with pytest.raises(IntegrityError) as taken, sent(uow.conn, statements):
            pass
        uow.rollback()
    assert getattr(taken.value.orig, "sqlstate", None) == "23505"
    assert _count(engine, "funding:after") == 0


def test_an_error_of_the_block_is_its_own_and_the_connection_stays_usable(engine: Engine):
    with UnitOfWork(engine) as uow:
        statements = [(INSERT_ACCOUNT.replace("%s", "%(id)s"), {"id": "funding:block"})]
        with pytest.raises(KeyError), sent(uow.conn, statements):
            raise KeyError("the block's")
        uow.commit()  # the statement ran; the block's error was the caller's to handle
    assert _count(engine, "funding:block") == 1


def test_a_taken_id_writes_nothing_but_an_error_of_the_block_is_passed_on(books: Engine):  # noqa: F811
    taken = TransferSpec("fund", "budget:sh-2026", "voucher:v1", 100, "CNY").applied(
        datetime.now(UTC)
    )
    deltas = {"budget:sh-2026": [100, 0, 0, 0], "voucher:v1": [0, 100, 0, 0]}
    with UnitOfWork(books) as uow:
        with batch_repo.inserting_and_adding(uow.conn, [taken], deltas) as written:
            pass
        assert not written.stored  # "fund" is stored: undone to the savepoint, work goes on
        assert repo.lock_accounts(uow.conn, ["voucher:v1"])["voucher:v1"].posted_credits == 30_000
        with pytest.raises(KeyError), batch_repo.inserting_and_adding(uow.conn, [taken], deltas):
            raise KeyError("the block's own")


ODD_IDS = ["NULL", "null", "a/b@c-d.e_f", "", "x" * 128, "with space", "曲江", "{braces}", "a,b"]


@pytest.mark.parametrize(
    "values", [ODD_IDS, ['a"quote', "back\\slash", "NULL"], []], ids=["plain", "escaped", "empty"]
)
def test_text_arrays_carry_every_value_as_it_was(engine: Engine, values: list[str]):
    with engine.connect() as conn:
        sql = "SELECT coalesce(array_agg(v), '{}') FROM unnest(%(v)s::text[]) AS v"
        assert conn.exec_driver_sql(sql, {"v": text_array(values)}).scalar_one() == values


def test_int_arrays_carry_every_value_as_it_was(engine: Engine):
    values = [0, -1, 1, 2**62, -(2**62), 100]
    with engine.connect() as conn:
        sql = "SELECT array_agg(v) FROM unnest(%(v)s::bigint[]) AS v"
        assert conn.exec_driver_sql(sql, {"v": int_array(values)}).scalar_one() == values


def test_ledger_ids_compare_byte_by_byte(engine: Engine):
    """Migration 0013: the ids' collation is C, whatever the database's, and its order is the
    order in which Python sorts the ids it locks."""
    with engine.connect() as conn:
        sql = (
            "SELECT table_name, column_name, collation_name FROM information_schema.columns"
            " WHERE table_name IN ('ledger_accounts', 'ledger_transfers')"
            " AND column_name IN ('id', 'debit_account_id', 'credit_account_id', 'pending_id')"
        )
        assert [row[2] for row in conn.exec_driver_sql(sql)] == ["C"] * 5
    ids = ["funding:b", "funding:B", "funding:a-1", "funding:a_1", "funding:a.1", "funding:a/1",
           "funding:a@1", "funding:Z9", "funding:z9"]  # fmt: skip
    with UnitOfWork(engine) as uow:
        for account_id in ids:
            ledger.open_account(uow, account_id, "funding", "CNY")
        assert list(repo.lock_accounts(uow.conn, ids)) == sorted(ids)
        uow.commit()


def test_the_locked_accounts_are_read_as_stored(engine: Engine, books: Engine):  # noqa: F811
    with UnitOfWork(engine) as uow:
        locked = repo.lock_accounts(uow.conn, ["voucher:v1", "budget:sh-2026", "ghost"])
        assert set(locked) == {"voucher:v1", "budget:sh-2026"}
        for account_id, account in locked.items():
            assert account == repo.get_account(uow.conn, account_id)
        assert ledger.balance(uow, "voucher:v1").available_minor == 30_000
