"""The catalog through the CLI: listing, lookup by alias, and a malformed file refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suanli.cli import app
from suanli.services.catalog import catalog_path

runner = CliRunner()


def test_catalog_list_json_has_sourced_domestic_models() -> None:
    result = runner.invoke(app, ["catalog", "list", "--json"])
    assert result.exit_code == 0, result.output
    models = json.loads(result.stdout)
    assert len(models) >= 25
    assert sum(m["origin"] == "domestic" for m in models) >= 9
    assert all(m["sources"] for m in models)


def test_catalog_list_filters_by_origin() -> None:
    result = runner.invoke(app, ["catalog", "list", "--origin", "foreign", "--json"])
    assert {m["origin"] for m in json.loads(result.stdout)} == {"foreign"}
    bad = runner.invoke(app, ["catalog", "list", "--origin", "martian"])
    assert bad.exit_code != 0


def test_catalog_show_by_alias() -> None:
    result = runner.invoke(app, ["catalog", "show", "h20", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["figures"]["bf16_tflops"]["value"] == 148
    assert runner.invoke(app, ["catalog", "show", "no-such-chip"]).exit_code == 1


def test_malformed_catalog_file_is_refused_naming_row_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = catalog_path().read_text()
    # Break the third entry's memory figure.
    entries = text.split("\n[[accelerator]]\n")  # entries[0] is the header
    entries[3] = entries[3].replace("memory_gb = { value = ", "memory_gb = { value = -", 1)
    bad = tmp_path / "accelerators.toml"
    bad.write_text("\n[[accelerator]]\n".join(entries))
    monkeypatch.setenv("SUANLI_CATALOG", str(bad))
    result = runner.invoke(app, ["catalog", "list"])
    assert result.exit_code == 2
    assert "row 3" in result.output and "memory_gb" in result.output
