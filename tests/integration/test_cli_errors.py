"""What a newcomer meets first on the command line: a database never migrated, an unknown
party, each one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from suanli.cli import app
from suanli.services.world import load_world

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["token", "list"],
        ["offers", "list"],
        ["vouchers", "list"],
        ["ledger", "check"],
        ["audit", "verify"],
        ["statement", "--tenant", "deepharbor-ai"],
    ],
)
def test_a_database_never_migrated_says_to_upgrade(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUANLI_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    done = runner.invoke(app, args)
    assert done.exit_code == 1
    assert done.exception is None or isinstance(done.exception, SystemExit)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "run `suanli db upgrade`" in lines[0] and "never.db" in lines[0]
    assert "Traceback" not in done.output


def test_after_the_upgrade_the_same_command_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUANLI_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    done = runner.invoke(app, ["token", "list", "--json"])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("party", ["tenant", "provider", "program"])
def test_a_statement_of_an_unknown_party_is_not_found(
    party: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_world(sqlite_engine)
    monkeypatch.setenv("SUANLI_DATABASE_URL", str(sqlite_engine.url))
    done = runner.invoke(app, ["statement", f"--{party}", "ghost"])
    assert done.exit_code == 1
    assert done.stderr.strip() == f"error: {party} not found: ghost"
    assert done.stdout == ""


def test_the_demo_leaves_a_database_with_records_alone(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SUANLI_DATABASE_URL naming a database that holds a registry: refused before the tour."""
    load_world(sqlite_engine)
    monkeypatch.setenv("SUANLI_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("SUANLI_VAR_DIR", str(tmp_path / "var"))
    done = runner.invoke(app, ["demo", "--no-serve"])
    assert done.exit_code == 1
    assert "the demo needs an empty database" in done.stderr
    assert "accelerator models loaded" not in done.stdout
    assert not (tmp_path / "var" / "demo.db").exists()
