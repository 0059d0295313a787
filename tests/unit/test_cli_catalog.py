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


def test_catalog_list_json_has_the_named_next_parts() -> None:
    models = {
        m["id"]: m for m in json.loads(runner.invoke(app, ["catalog", "list", "--json"]).stdout)
    }
    for chip_id in ("huawei-ascend-910d", "cambricon-mlu690"):
        assert models[chip_id]["sources"] and models[chip_id]["confidence"] == "rumoured"
        assert models[chip_id]["missing_reason"]["compute"]
    for m in models.values():
        compute = any(k.endswith(("_tflops", "_tops")) for k in m["figures"])
        assert compute or m["missing_reason"].get("compute"), m["id"]
        assert "tdp_w" in m["figures"] or m["missing_reason"].get("tdp_w"), m["id"]


def test_catalog_lists_and_shows_systems() -> None:
    listed = json.loads(runner.invoke(app, ["catalog", "list", "--systems", "--json"]).stdout)
    assert {"cloudmatrix-384", "gb200-nvl72"} <= {s["id"] for s in listed}
    for name in ("cloudmatrix-384", "CM384", "gb200-nvl72"):
        result = runner.invoke(app, ["catalog", "show", name])
        assert result.exit_code == 0, result.output
        assert "source:" in result.output and "power_kw" in result.output
    shown = json.loads(runner.invoke(app, ["catalog", "show", "CloudMatrix384", "--json"]).stdout)
    assert shown["interconnect"] == {
        "scale_up_domain_chips": 384,
        "scale_up_gbps_per_chip": 392.0,
        "scale_out_gbps_per_chip": 50.0,
    }
    assert all(c["within"] for c in shown["totals_check"])


def test_compare_cloudmatrix_and_nvl72() -> None:
    args = ["catalog", "compare", "cloudmatrix-384", "gb200-nvl72", "--params-b", "70",
            "--tokens-b", "2000"]  # fmt: skip
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for word in ("wall hours", "energy kWh", "cost", "FLOP per joule", "FP8", "memory fit"):
        assert word in result.output
    assert "CNY" in result.output and "amortised" in result.output  # the price basis is said
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    cm, nvl = data["sides"]
    for side in (cm, nvl):
        assert side["estimate"]["feasible"] and side["energy_kwh"] > 0 and side["cost_fen"] > 0
        assert side["estimate"]["wall_hours"] > 0
    assert cm["estimate"]["count"] == 384 and nvl["estimate"]["count"] == 72
    assert "559" in cm["energy_basis"] and "145" in nvl["energy_basis"]  # wall power, not TDP
    # The CloudMatrix run uses more energy per FLOP: fewer FLOP per joule.
    assert cm["flop_per_joule"] < nvl["flop_per_joule"]
    assert nvl["fp8"] and not cm["fp8"]


def test_compare_chips_and_an_unknown_name() -> None:
    result = runner.invoke(
        app, ["catalog", "compare", "H100", "910B", "--params-b", "7", "--tokens-b", "10",
              "--price-fen-a", "2000", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    h100, ascend = json.loads(result.stdout)["sides"]
    assert h100["cost_fen"] > 0 and h100["price_basis"].startswith("given")
    assert ascend["cost_fen"] is None  # no price given, none assumed for a bare chip
    assert runner.invoke(app, ["catalog", "compare", "H100", "no-such"]).exit_code == 1
