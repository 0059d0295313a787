"""``suanli tenants|providers|sites create|list``: from JSON or TOML, idempotent by id, errors
naming the field, nothing written on a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from suanli.cli import app

runner = CliRunner()
TENANT_TOML = """
id = "nanhu-ai"
name = "Nanhu AI"
registered_city = "Hangzhou"
founded_on = 2024-05-01
headcount = 12
annual_revenue_fen = 100000000
sector = "ai-model"
is_startup = true
"""


@pytest.fixture
def db(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("SUANLI_DATABASE_URL", str(sqlite_engine.url))
    return sqlite_engine


def _listed(kind: str) -> list[dict]:
    done = runner.invoke(app, [kind, "list", "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_provider_site_and_tenant_from_files(db: Engine, tmp_path: Path) -> None:
    provider = tmp_path / "provider.json"
    provider.write_text(json.dumps({"id": "nh-dc", "name": "Nanhu DC", "city": "Hangzhou"}))
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"id": "nh-1", "provider_id": "nh-dc", "name": "Hall 1",
                                "city": "Hangzhou", "backend": "slurm"}))  # fmt: skip
    tenant = tmp_path / "tenant.toml"
    tenant.write_text(TENANT_TOML)
    for kind, path in (("providers", provider), ("sites", site), ("tenants", tenant)):
        first = runner.invoke(app, [kind, "create", str(path)])
        assert first.exit_code == 0, first.output
        again = runner.invoke(app, [kind, "create", str(path)])  # idempotent by id
        assert again.exit_code == 0 and json.loads(again.stdout) == json.loads(first.stdout)
    assert [s["id"] for s in _listed("sites")] == ["nh-1"]
    assert _listed("tenants")[0]["founded_on"] == "2024-05-01"
    table = runner.invoke(app, ["tenants", "list"], env={"COLUMNS": "200"})
    assert "nanhu-ai" in table.stdout and "1 tenants" in table.stdout
    # The same id with other content is a conflict, and changes nothing.
    tenant.write_text(TENANT_TOML.replace("Nanhu AI", "Someone else"))
    clash = runner.invoke(app, ["tenants", "create", str(tenant)])
    assert clash.exit_code == 1 and "exists with other content" in clash.stderr
    assert _listed("tenants")[0]["name"] == "Nanhu AI"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (TENANT_TOML.replace("headcount = 12", "headcount = -1"), "headcount"),
        (TENANT_TOML.replace('sector = "ai-model"\n', ""), "sector"),
        (TENANT_TOML.replace("is_startup = true", 'is_startup = "yes"'), "is_startup"),
        ("id = ", "tenant"),
    ],
)
def test_a_bad_tenant_file_names_the_field(
    body: str, field: str, db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "tenant.toml"
    path.write_text(body)
    done = runner.invoke(app, ["tenants", "create", str(path)])
    assert done.exit_code == 2
    assert done.stderr.startswith(f"error: {field}:"), done.stderr
    assert _listed("tenants") == []


def test_a_site_of_an_unknown_provider_is_refused(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text(
        json.dumps({"id": "x-1", "provider_id": "nope", "name": "X", "city": "Hangzhou"})
    )
    done = runner.invoke(app, ["sites", "create", str(path)])
    assert done.exit_code == 2 and "provider_id" in done.stderr
    assert _listed("sites") == []
