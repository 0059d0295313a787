"""The voucher commands on a SQLite file: apply, review, list, budget, claim, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from suanli.cli import app
from suanli.services import ledger
from suanli.services.world import load_world
from suanli.store.uow import UnitOfWork

runner = CliRunner()
CONTRACT = {
    "provider_id": "hz-xixi-compute",
    "accelerator_id": "910B",
    "accelerator_hours": 100,
    "amount_fen": 1_000_000,
    "currency": "CNY",
    "start_on": "2026-02-01",
}


@pytest.fixture
def db(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    load_world(sqlite_engine)
    monkeypatch.setenv("SUANLI_DATABASE_URL", str(sqlite_engine.url))
    return sqlite_engine


def test_apply_review_list_and_budget(db: Engine, tmp_path: Path) -> None:
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps(CONTRACT))
    args = ["apply", "--program", "hangzhou-2025", "--tenant", "qiantang-llm", "--amount",
            "300000", "--contract", str(contract), "--id", "qt-1", "--json"]  # fmt: skip
    applied = runner.invoke(app, args)
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout)["status"] == "pending"
    reviewed = runner.invoke(app, ["review", "qt-1", "--approve", "--json"])
    assert reviewed.exit_code == 0, reviewed.output
    assert json.loads(reviewed.stdout)["voucher"]["amount_fen"] == 300_000
    listed = json.loads(runner.invoke(app, ["vouchers", "list", "--json"]).stdout)
    assert [(v["id"], v["available_fen"]) for v in listed] == [("v-qt-1", 300_000)]
    budget = json.loads(runner.invoke(app, ["budget", "hangzhou-2025", "--json"]).stdout)
    assert budget["years"][0]["paid_fen"] == 300_000
    again = runner.invoke(app, ["review", "qt-1", "--reject", "changed"])
    assert again.exit_code == 1 and "already approved" in again.output
    checked = runner.invoke(app, ["ledger", "check"])
    assert checked.exit_code == 0, checked.output


def test_bad_input_exits_2_naming_the_field(db: Engine, tmp_path: Path) -> None:
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps(CONTRACT))
    args = ["apply", "--program", "nope", "--tenant", "qiantang-llm", "--amount", "5",
            "--contract", str(contract), "--id", "x"]  # fmt: skip
    out = runner.invoke(app, args)
    assert out.exit_code == 2 and "program_id" in out.output
    args = ["claim", "new", "--program", "beijing-domestic-gpu-purchase", "--buyer",
            "deepharbor-ai", "--accelerator", "910B", "--count", "1", "--amount", "-3",
            "--invoice", "I", "--purchased-on", "2026-01-01", "--id", "k"]  # fmt: skip
    out = runner.invoke(app, args)
    assert out.exit_code == 2 and "amount_fen" in out.output
    with UnitOfWork(db) as uow:
        assert ledger.list_accounts(uow) == []
