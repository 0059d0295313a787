"""``suanli estimate`` and ``suanli estimate validate`` from the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from suanli.cli import app

runner = CliRunner()
REQUIRED = (
    "flops",
    "utilization",
    "accelerator_hours",
    "accelerator_hours_p10",
    "accelerator_hours_p90",
    "wall_hours",
    "min_count",
    "energy_kwh",
)


def test_estimate_json_has_the_required_keys() -> None:
    args = "estimate --params-b 70 --active-params-b 37 --tokens-b 2000 --accelerator A100-80GB"
    result = runner.invoke(app, [*args.split(), "--count", "2048", "--precision", "bf16", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(REQUIRED) <= set(data)
    # 6·N_active·D plus attention 12·L·d·s on the backbone guessed from 37B (57 × 7296).
    assert data["flops"] == pytest.approx((6 * 37e9 + 12 * 57 * 7296 * 4096) * 2000e9)
    assert data["count"] == 2048


def test_estimate_picks_the_smallest_count_and_prices_it() -> None:
    args = "estimate --kind finetune --params-b 7 --tokens-b 20 --accelerator h800 --json"
    result = runner.invoke(app, [*args.split(), "--price-fen", "2500", "--pue", "1.2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["count"] == data["min_count"] >= 1
    assert data["cost_fen"] == round(data["accelerator_hours"] * 2500)


def test_estimate_refusals_and_errors_name_the_problem() -> None:
    base = ["estimate", "--params-b", "7", "--tokens-b", "1", "--accelerator"]
    fp8 = runner.invoke(app, [*base, "910B", "--precision", "fp8", "--json"])
    assert fp8.exit_code == 1
    assert json.loads(fp8.stdout)["code"] == "precision_unsupported"
    negative = runner.invoke(
        app, ["estimate", "--params-b", "7", "--tokens-b", "-1", "--accelerator", "A100"]
    )
    assert negative.exit_code == 2 and "tokens_b" in negative.output
    unknown = runner.invoke(app, [*base, "zz9"])
    assert unknown.exit_code == 1 and "zz9" in unknown.output


def test_validate_prints_runs_and_mdape() -> None:
    result = runner.invoke(app, ["estimate", "validate", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mdape"] <= 0.20
    assert {"LLaMA-65B", "Pythia-12B"} <= {r["model"] for r in data["fitted"]}
    assert {r["hours_kind"] for r in data["compared"]} == {"upper_bound"}
    assert {"family_mdape", "coverage", "family_coverage", "serving_mdape"} <= set(data)
    assert data["runs_by_class"]["reported"] >= 29 and data["serving"]
    assert all(r["reason"] for r in data["excluded"])
    table = runner.invoke(app, ["estimate", "validate"])
    assert table.exit_code == 0 and "median absolute percentage error" in table.output
    assert "leave-one-family-out" in table.output and "coverage" in table.output
