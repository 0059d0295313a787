"""The audit log on SQLite and PostgreSQL: one entry per change, none for a replay, tampering
through SQL caught by ``suanli audit verify``, the append-only trigger, and the API's view."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from suanli.cli import app
from suanli.domain.audit import Entry
from suanli.domain.registry import Provider
from suanli.domain.roles import SYSTEM, Principal, Role
from suanli.domain.subsidy_facts import Contract
from suanli.services import applications as apps
from suanli.services import audit, ledger, registry, settlement, tokens
from suanli.store.tables.audit import audit_log
from suanli.store.uow import UnitOfWork
from tests.conftest import ApiClient

runner = CliRunner()
REVIEWER = Principal(Role.REVIEWER, None, "rev-audit", "Wang Fang")
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
)


def _entries(engine: Engine) -> list[Entry]:
    with UnitOfWork(engine, read_only=True) as uow:
        return list(audit.export(uow, SYSTEM))


def _apply_and_review(engine: Engine, app_id: str, tenant: str, decision: str) -> None:
    day = date.today()
    contract = Contract(
        "hz-xixi-compute", "910B", Fraction(20_000), 40_000_000, "CNY", day,
        day + timedelta(days=200), contract_id=f"C-{app_id}",
    )  # fmt: skip
    with UnitOfWork(engine) as uow:
        filed = apps.apply(
            uow, SYSTEM, application_id=app_id, program_id="hangzhou-2025", tenant_id=tenant,
            requested_fen=2_000_000, contract=contract,
        )  # fmt: skip
    assert filed.eligible, filed.reasons
    with UnitOfWork(engine) as uow:
        out = apps.review(uow, REVIEWER, app_id, decision, reason="not documented")  # type: ignore[arg-type]
    assert out.ok, out


def _populate(engine: Engine) -> None:
    """Decisions, transfers (single, hold, post, void) and, last, three token creations."""
    _apply_and_review(engine, "audit-qt-1", "qiantang-llm", "approve")
    _apply_and_review(engine, "audit-jj-1", "jinjiang-vision", "reject")
    with UnitOfWork(engine) as uow:
        settlement.fund_wallet(uow, "deepharbor-ai", 500_000, "CNY", "audit-topup")
        wallet = settlement.wallet_account("deepharbor-ai")
        ledger.open_account(uow, "audit-escrow", "escrow", "CNY", "deepharbor-ai")
        assert ledger.transfer(uow, "audit-h1", wallet, "audit-escrow", 9, "CNY", pending=True).ok
        assert ledger.post_pending(uow, "audit-p1", "audit-h1", 5).ok
        assert ledger.transfer(uow, "audit-h2", wallet, "audit-escrow", 7, "CNY", pending=True).ok
        assert ledger.void_pending(uow, "audit-v2", "audit-h2").ok
        uow.commit()
    for n in range(3):
        with UnitOfWork(engine) as uow:
            tokens.create_token(uow, "auditor", None, f"auditor {n}")
            uow.commit()


def _cli(engine: Engine, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("SUANLI_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    result = runner.invoke(app, ["audit", *args])
    return result.exit_code, result.stdout + result.stderr


@contextmanager
def _unguarded(engine: Engine) -> Iterator[None]:
    """Lift the append-only triggers, as the table's owner could, to tamper in a test."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
            else:
                for statement in SQLITE_TRIGGERS:
                    conn.execute(text(statement))


def _tamper(engine: Engine, *statements: str) -> None:
    with _unguarded(engine), engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_operations_append_entries_and_verify(
    world: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(world)
    entries = _entries(world)
    actions = [e.action for e in entries]
    assert actions.count("application.review") == 2
    assert {"ledger.single", "ledger.pending", "ledger.post", "ledger.void"} <= set(actions)
    assert "write" not in actions  # every change here says what it was
    review = next(e for e in entries if e.action == "application.review")
    assert (review.actor.role, review.actor.name) == ("reviewer", "Wang Fang")
    # The voucher's issue is a transfer made by the review: logged as the reviewer's, same request.
    issue = next(e for e in entries if e.object_id == "issue:v-audit-qt-1")
    assert issue.actor == review.actor and issue.request_id == review.request_id
    code, out = _cli(world, monkeypatch, "verify", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] and report["entries"] == len(entries) and report["unlogged_count"] == 0
    code, out = _cli(world, monkeypatch, "head", "--json")
    assert json.loads(out) == {"seq": entries[-1].seq, "hash": entries[-1].hash}


def test_a_replay_appends_nothing(world: Engine) -> None:
    provider = Provider("audit-dc", "Audit DC", "Wuhan")
    with UnitOfWork(world) as uow:
        registry.create(uow, SYSTEM, provider)
    with UnitOfWork(world) as uow:
        settlement.fund_wallet(uow, "deepharbor-ai", 100, "CNY", "audit-once")
        uow.commit()
    before = len(_entries(world))
    with UnitOfWork(world) as uow:
        registry.create(uow, SYSTEM, provider)  # the same create again
    with UnitOfWork(world) as uow:
        settlement.fund_wallet(uow, "deepharbor-ai", 100, "CNY", "audit-once")  # same id
        uow.commit()
    assert len(_entries(world)) == before


def test_a_rolled_back_savepoint_leaves_no_entry(world: Engine) -> None:
    with UnitOfWork(world) as uow:
        settlement.fund_wallet(uow, "deepharbor-ai", 100, "CNY", "audit-kept")
        savepoint = uow.conn.begin_nested()
        settlement.fund_wallet(uow, "deepharbor-ai", 100, "CNY", "audit-undone")
        savepoint.rollback()
        uow.commit()
    ids = {e.object_id for e in _entries(world)}
    assert "audit-kept" in ids and "audit-undone" not in ids


def test_update_and_delete_are_refused(world: Engine) -> None:
    _populate(world)
    for statement in ("UPDATE audit_log SET action = 'x' WHERE seq = 1",
                      "DELETE FROM audit_log WHERE seq = 1"):  # fmt: skip
        with pytest.raises(DBAPIError, match="append-only"), world.begin() as conn:
            conn.execute(text(statement))
    if world.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), world.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    assert len(_entries(world)) > 0


TAMPERING = {
    "one field": ("UPDATE audit_log SET object_id = 'someone-else' WHERE seq = 5",),
    "the change": ("UPDATE audit_log SET change = '{}' WHERE seq = 5",),
    "an entry deleted": ("DELETE FROM audit_log WHERE seq = 5",),
    "two entries swapped": (
        "UPDATE audit_log SET seq = -5 WHERE seq = 5",
        "UPDATE audit_log SET seq = 5 WHERE seq = 6",
        "UPDATE audit_log SET seq = 6 WHERE seq = -5",
    ),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_is_detected(world: Engine, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    _populate(world)
    assert _cli(world, monkeypatch, "verify")[0] == 0
    _tamper(world, *TAMPERING[how])
    code, out = _cli(world, monkeypatch, "verify")
    assert code == 1 and "broken at sequence 5" in out, out
    code, out = _cli(world, monkeypatch, "verify", "--json")
    assert code == 1 and json.loads(out)["first_broken_seq"] == 5


def test_a_truncated_tail_is_detected_against_a_saved_head(
    world: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _populate(world)
    code, out = _cli(world, monkeypatch, "head", "--json")
    head = json.loads(out)
    saved = tmp_path / "head.json"
    saved.write_text(out)
    # The newest three entries are token creations: no ledger row or decision points at them.
    _tamper(world, f"DELETE FROM audit_log WHERE seq > {head['seq'] - 3}")
    assert _cli(world, monkeypatch, "verify")[0] == 0  # a shorter chain is still a chain
    code, out = _cli(world, monkeypatch, "verify", "--head", str(saved), "--json")
    report = json.loads(out)
    assert code == 1 and report["first_broken_seq"] == head["seq"] - 2
    assert "truncated" in report["problem"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"seq": "x"}')
    code, out = _cli(world, monkeypatch, "verify", "--head", str(bad))
    assert code == 2 and "seq" in out


def test_a_transfer_without_its_entry_is_reported(
    world: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(world)
    with world.begin() as conn:  # written around the services, so it has no entry
        conn.execute(
            text(
                "INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id,"
                " amount_minor, currency, status, memo, created_at) VALUES ('sneaky', 'single',"
                " 'wallet:deepharbor-ai', 'audit-escrow', 1, 'CNY', 'posted', '', :at)"
            ),
            {"at": datetime.now(UTC)},
        )
    code, out = _cli(world, monkeypatch, "verify", "--json")
    report = json.loads(out)
    assert code == 1 and report["unlogged"] == [{"kind": "transfer", "id": "sneaky"}]
    assert report["first_broken_seq"] is None and "sneaky" in report["problem"]


def test_api_reads_filters_and_exports(api: ApiClient, world: Engine) -> None:
    officer = api.token("officer")
    made = api.http.post(
        "/api/v1/providers",
        json={"id": "audit-api-dc", "name": "Audit API DC", "city": "Wuhan"},
        headers={**officer, "X-Request-Id": "req-audit-1"},
    )
    assert made.status_code == 201 and made.headers["x-request-id"] == "req-audit-1"
    again = api.http.post(
        "/api/v1/providers",
        json={"id": "audit-api-dc", "name": "Audit API DC", "city": "Wuhan"},
        headers=officer,
    )
    assert again.status_code == 201
    auditor = api.token("auditor")
    page = api.http.get(
        "/api/v1/audit", params={"object_kind": "provider", "object_id": "audit-api-dc"},
        headers=auditor,
    ).json()  # fmt: skip
    assert [e["action"] for e in page["entries"]] == ["provider.create"]  # the retry: nothing
    entry = page["entries"][0]
    assert entry["request_id"] == "req-audit-1" and entry["actor"]["role"] == "officer"
    assert entry["change"]["city"] == "Wuhan"
    by_actor = api.http.get(
        "/api/v1/audit", params={"actor": entry["actor"]["token_id"]}, headers=auditor
    ).json()["entries"]
    assert [e["seq"] for e in by_actor] == [entry["seq"]]
    at = datetime.fromisoformat(entry["at"])
    window = {"since": at.isoformat(), "until": (at + timedelta(microseconds=1)).isoformat()}
    timed = api.http.get("/api/v1/audit", params=window, headers=auditor).json()["entries"]
    assert entry["seq"] in [e["seq"] for e in timed]
    first = api.http.get("/api/v1/audit", params={"limit": 2}, headers=auditor).json()
    rest = api.http.get(
        "/api/v1/audit", params={"after_seq": first["next_after_seq"], "limit": 1000},
        headers=auditor,
    ).json()  # fmt: skip
    export = api.http.get("/api/v1/audit/export", headers=auditor)
    assert export.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert lines == first["entries"] + rest["entries"]
    assert api.http.get("/api/v1/audit/head", headers=auditor).json()["seq"] == lines[-1]["seq"]
    assert api.http.get("/api/v1/audit/verify", headers=auditor).json()["ok"] is True
    naive = api.http.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}, headers=auditor)
    assert naive.status_code == 422 and "since" in naive.text
    seconds = api.http.get("/api/v1/audit", params={"until": "0.5"}, headers=auditor)
    assert seconds.status_code == 422 and "until" in seconds.text
    tenant = api.token("tenant", "deepharbor-ai")
    assert api.http.get("/api/v1/audit", headers=tenant).status_code == 403


def test_entries_are_in_sequence_order_with_their_hashes(world: Engine) -> None:
    _populate(world)
    with world.connect() as conn:
        rows = list(conn.execute(select(audit_log.c.seq, audit_log.c.prev_hash, audit_log.c.hash)))
    rows.sort()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


def test_an_upgraded_database_adopts_what_it_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from suanli.store.db import make_engine
    from suanli.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0006_security")
    upgrade(engine, "0002_ledger")
    now = datetime.now(UTC)
    with engine.begin() as conn:  # books kept before there was a log
        for account, kind in (("old-issuer", "issuer"), ("old-wallet", "tenant_wallet")):
            conn.execute(
                text(
                    "INSERT INTO ledger_accounts (id, kind, currency, posted_debits,"
                    " posted_credits, pending_debits, pending_credits, created_at)"
                    " VALUES (:id, :kind, 'CNY', 0, 0, 0, 0, :at)"
                ),
                {"id": account, "kind": kind, "at": now},
            )
        conn.execute(
            text(
                "INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id,"
                " amount_minor, currency, status, memo, created_at) VALUES ('old-t', 'single',"
                " 'old-issuer', 'old-wallet', 5, 'CNY', 'posted', '', :at)"
            ),
            {"at": now},
        )
    upgrade(engine)
    (first,) = _entries(engine)
    assert (first.seq, first.action) == (1, "audit.start")
    assert json.loads(first.change)["adopted"]["transfer"] == ["old-t"]
    code, out = _cli(engine, monkeypatch, "verify", "--json")
    assert code == 0 and json.loads(out)["entries"] == 1, out
    engine.dispose()
