"""``suanli program`` and ``suanli subsidy`` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from suanli.cli import app
from suanli.services.programs import load_programs, programs_dir

runner = CliRunner()
TENANT = {
    "id": "qiantang-llm",
    "name": "Qiantang LLM Studio",
    "registered_city": "Hangzhou",
    "founded_on": "2024-01-10",
    "headcount": 22,
    "annual_revenue_fen": 300_000_000,
    "currency": "CNY",
    "sector": "ai-model",
    "is_startup": True,
}
CONTRACT = {
    "provider_id": "hz-xixi-compute",
    "provider_city": "Hangzhou",
    "accelerator_id": "910B",
    "accelerator_hours": 1000,
    "amount_fen": 890_000,
    "currency": "CNY",
    "start_on": "2026-02-01",
}


def _files(tmp_path: Path, contract: dict[str, object]) -> list[str]:
    (tmp_path / "t.json").write_text(json.dumps(TENANT))
    (tmp_path / "c.json").write_text(json.dumps(contract))
    return ["--tenant", str(tmp_path / "t.json"), "--contract", str(tmp_path / "c.json")]


def test_program_list_json_lists_every_program() -> None:
    result = runner.invoke(app, ["program", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert {p["id"] for p in json.loads(result.stdout)} == set(load_programs())


def test_program_check_good_and_bad(tmp_path: Path) -> None:
    good = runner.invoke(app, ["program", "check", str(programs_dir() / "shenzhen-2024.toml")])
    assert good.exit_code == 0 and good.stdout.startswith("ok")
    text = (
        (programs_dir() / "shenzhen-2024.toml").read_text().replace('any = "50%"', 'any = "150%"')
    )
    (tmp_path / "bad.toml").write_text(text)
    bad = runner.invoke(app, ["program", "check", str(tmp_path / "bad.toml")])
    assert bad.exit_code == 2
    assert "bad.toml: rates.any" in bad.output and "between 0 and 1" in bad.output


def test_program_show_explains_in_words() -> None:
    result = runner.invoke(app, ["program", "show", "hangzhou-2025"])
    assert result.exit_code == 0
    assert "30 %" in result.stdout and "20 %" in result.stdout
    assert runner.invoke(app, ["program", "show", "atlantis"]).exit_code == 1


def test_subsidy_json(tmp_path: Path) -> None:
    args = ["subsidy", "--program", "hangzhou-2025", *_files(tmp_path, CONTRACT), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["eligible"] is True and out["subsidy_fen"] == 267_000 and out["rate"] == "3/10"
    assert all({"check", "passed", "reason"} <= set(r) for r in out["reasons"])


def test_subsidy_bad_input_exits_2_naming_the_field(tmp_path: Path) -> None:
    for change, field in (({"amount_fen": -5}, "amount_fen"), ({"currency": "USD"}, "currency")):
        args = ["subsidy", "--program", "hangzhou-2025", *_files(tmp_path, {**CONTRACT, **change})]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert field in result.output
    unknown = runner.invoke(app, ["subsidy", "--program", "nope", *_files(tmp_path, CONTRACT)])
    assert unknown.exit_code == 1 and "program not found" in unknown.output
