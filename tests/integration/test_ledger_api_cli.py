"""Ledger balances over HTTP with roles enforced, and ``suanli ledger check|balances|expire``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from typer.testing import CliRunner

from suanli.cli import app
from suanli.services import ledger
from suanli.store.tables.ledger import ledger_accounts
from suanli.store.uow import UnitOfWork
from tests.conftest import ApiClient


def _books(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        ledger.open_account(uow, "issuer:sh", "issuer", "CNY")
        ledger.open_account(uow, "voucher:dh-1", "voucher", "CNY", "deepharbor-ai")
        ledger.open_account(uow, "voucher:other-1", "voucher", "CNY", "other-ai")
        ledger.open_account(
            uow, "receivable:zgc", "provider_receivable", "CNY", "bj-zhongguancun-dc"
        )
        assert ledger.transfer(uow, "f1", "issuer:sh", "voucher:dh-1", 50_000, "CNY").ok
        assert ledger.transfer(uow, "f2", "issuer:sh", "voucher:other-1", 10_000, "CNY").ok
        assert ledger.transfer(uow, "s1", "voucher:dh-1", "receivable:zgc", 8_000, "CNY").ok
        uow.commit()


def test_tenants_and_providers_see_only_their_own_accounts(api: ApiClient, world: Engine) -> None:
    _books(api.engine)
    tenant = api.token("tenant", "deepharbor-ai")
    mine = api.http.get("/api/v1/ledger/accounts", headers=tenant).json()
    assert [(a["account_id"], a["available_minor"]) for a in mine] == [("voucher:dh-1", 42_000)]
    assert (
        api.http.get("/api/v1/ledger/accounts?owner_id=other-ai", headers=tenant).status_code == 403
    )
    assert (
        api.http.get("/api/v1/ledger/accounts/voucher:other-1", headers=tenant).status_code == 403
    )
    provider = api.token("provider", "bj-zhongguancun-dc")
    got = api.http.get("/api/v1/ledger/accounts/receivable:zgc", headers=provider)
    assert got.status_code == 200 and got.json()["posted_minor"] == 8_000

    auditor = api.token("auditor")
    everything = api.http.get("/api/v1/ledger/accounts", headers=auditor).json()
    assert len(everything) == 4 and sum(a["posted_minor"] for a in everything) == 0
    vouchers = api.http.get("/api/v1/ledger/accounts?kind=voucher", headers=auditor).json()
    assert {a["account_id"] for a in vouchers} == {"voucher:dh-1", "voucher:other-1"}
    assert api.http.get("/api/v1/ledger/accounts?kind=piggy", headers=auditor).status_code == 422
    assert api.http.get("/api/v1/ledger/accounts/nobody", headers=auditor).status_code == 404
    assert (
        api.http.get("/api/v1/ledger/accounts", headers=api.token("agent", "bj-zgc-1")).status_code
        == 403
    )


def test_statement_over_http(api: ApiClient, world: Engine) -> None:
    _books(api.engine)
    tenant = api.token("tenant", "deepharbor-ai")
    body = api.http.get("/api/v1/ledger/accounts/voucher:dh-1/statement", headers=tenant).json()
    assert body["balance"]["posted_minor"] == 42_000
    assert [(t["id"], t["side"]) for t in body["transfers"]] == [("f1", "credit"), ("s1", "debit")]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    since = api.http.get(
        "/api/v1/ledger/accounts/voucher:dh-1/statement", params={"since": later}, headers=tenant
    )
    assert since.json()["transfers"] == []


runner = CliRunner()


def test_cli_check_balances_and_expire(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUANLI_DATABASE_URL", sqlite_engine.url.render_as_string())
    _books(sqlite_engine)
    with UnitOfWork(sqlite_engine) as uow:
        past = datetime.now(UTC) - timedelta(hours=1)
        ledger.transfer(
            uow,
            "h1",
            "voucher:dh-1",
            "receivable:zgc",
            1_000,
            "CNY",
            pending=True,
            timeout_s=60,
            now=past,
        )
        uow.commit()

    ok = runner.invoke(app, ["ledger", "check"])
    assert ok.exit_code == 0 and "ledger healthy: 4 accounts" in ok.stdout
    rows = json.loads(
        runner.invoke(app, ["ledger", "balances", "--owner", "deepharbor-ai", "--json"]).stdout
    )
    assert [(r["account_id"], r["available_minor"]) for r in rows] == [("voucher:dh-1", 41_000)]
    table = runner.invoke(app, ["ledger", "balances"])
    assert table.exit_code == 0 and "420.00 CNY" in table.stdout

    assert json.loads(runner.invoke(app, ["ledger", "expire", "--json"]).stdout) == {"expired": 1}
    rows = json.loads(
        runner.invoke(app, ["ledger", "balances", "--kind", "voucher", "--json"]).stdout
    )
    assert rows[0]["available_minor"] == 42_000

    # Break the books behind the ledger's back: check must say so and exit non-zero.
    with sqlite_engine.begin() as conn:
        conn.execute(
            update(ledger_accounts)
            .where(ledger_accounts.c.id == "voucher:dh-1")
            .values(posted_debits=ledger_accounts.c.posted_debits + 1)
        )
    broken = runner.invoke(app, ["ledger", "check", "--json"])
    assert broken.exit_code == 1
    report = json.loads(broken.stdout)
    assert not report["healthy"] and any("voucher:dh-1" in b for b in report["breaks"])
