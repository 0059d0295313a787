"""The simulator on traces small enough to check by hand."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from suanli.errors import ValidationError
from suanli.placement.fleet import Fleet, FleetPool, FleetProgram
from suanli.placement.simulate import simulate
from suanli.placement.trace import read_trace

PROGRAM = FleetProgram("v", Fraction(1, 2), Fraction(1, 4), Fraction(1, 2))


def _trace(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text("submit_s,duration_s,gpus,tenant\n" + rows)
    return path


def test_fifo_by_hand(tmp_path: Path) -> None:
    # One pool of 2 GPUs at speed 1: job 0 holds both for 3600 s; jobs 1 and 2 wait for it.
    trace = read_trace(_trace(tmp_path, "0,3600,2,a\n10,1800,1,b\n20,1800,1,b\n"))
    fleet = Fleet("ref", (FleetPool("p", "ref", True, 2, 1000, 1.0),), PROGRAM)
    r = simulate(trace, fleet, "fifo")
    assert r.jobs == 3
    assert r.wait_p50_s == 3580  # waits are 0, 3590, 3580
    assert r.makespan_s == 5400
    assert r.cost_fen == 2 * 1000 + 500 + 500  # 2 GPU-hours + 2 × 0.5 GPU-hours
    assert r.subsidy_fen == 1500
    assert r.domestic_share == 1.0
    assert r.utilization == pytest.approx(3 / (2 * 1.5))


def test_greedy_backfills_and_keeps_the_domestic_floor(tmp_path: Path) -> None:
    # Foreign pool is cheaper and twice as fast; the floor (1/2) still sends half the hours home.
    rows = "".join(f"{i},3600,1,t{i % 2}\n" for i in range(8))
    trace = read_trace(_trace(tmp_path, rows))
    fleet = Fleet(
        "ref",
        (
            FleetPool("dom", "d", True, 8, 1000, 1.0),
            FleetPool("for", "f", False, 8, 800, 2.0),
        ),
        PROGRAM,
    )
    fifo = simulate(trace, fleet, "fifo")
    greedy = simulate(trace, fleet, "greedy")
    batch = simulate(trace, fleet, "batch", window_s=60)
    assert fifo.domestic_share == 1.0  # first fit: the domestic pool is listed first
    for r in (greedy, batch):
        assert r.domestic_share >= 0.5 - 1e-9
        assert r.cost_fen < fifo.cost_fen
        assert r.jobs == 8


def test_philly_rows_are_sorted_and_tenants_are_the_virtual_cluster(tmp_path: Path) -> None:
    path = tmp_path / "philly.csv"
    path.write_text(
        "timestamp,duration,num_gpus,gpu_time,cluster\n"
        "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
        "2017-10-09 06:13:03,2951.0,2,5902.0,6214e9\n"
    )
    t = read_trace(path)
    assert t.submit_s.tolist() == [0.0, 2932.0]
    assert t.tenant == ("6214e9", "11cb48")
    assert t.gpus.tolist() == [2, 1]


def test_bad_trace_rows_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        read_trace(_trace(tmp_path, "0,10,1,a\n5,-1,1,a\n"))
    assert err.value.field == "line 3: duration_s"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window_s": float("nan")}, "window_s"),  # never advanced the batch clock: it hung
        ({"window_s": 0.0}, "window_s"),  # divided by zero
        ({"window_s": -60.0}, "window_s"),
        ({"limit": 0}, "limit"),  # replayed nothing and reported zeros
        ({"reference": "no-such-chip"}, "reference_accelerator"),
    ],
)
def test_bad_simulator_options_name_the_field(
    tmp_path: Path, kwargs: dict[str, object], field: str
) -> None:
    from suanli.services import simulation

    path = _trace(tmp_path, "0,60,1,a\n")
    with pytest.raises(ValidationError) as err:
        simulation.run(path, "batch", **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_generic_csv_with_tenants_emits_the_listed_keys(tmp_path: Path) -> None:
    from suanli.services import simulation

    path = _trace(tmp_path, "0,3600,8,a\n10,7200,4,b\n20,600,1,a\n30,1800,2,c\n")
    for policy in ("fifo", "greedy", "batch"):
        out = simulation.run(path, policy).to_dict()
        listed = {
            "jobs", "wait_p50_s", "wait_p95_s", "makespan_s", "utilization", "cost_fen",
            "subsidy_fen", "domestic_share", "jain_fairness", "sim_seconds",
        }  # fmt: skip
        assert listed <= set(out)
        assert out["jobs"] == 4 and isinstance(out["cost_fen"], int)
        assert out["domestic_share"] >= 0.7 - 1e-9 or policy == "fifo"


def test_duration_is_scaled_by_the_pools_relative_speed(tmp_path: Path) -> None:
    trace = read_trace(_trace(tmp_path, "0,3600,2,a\n"))
    fleet = Fleet("ref", (FleetPool("fast", "x", True, 2, 1000, 2.0),), PROGRAM)
    r = simulate(trace, fleet, "fifo")
    assert r.makespan_s == 1800  # twice the reference's speed: half the trace's duration
    assert r.cost_fen == 1000  # 2 accelerators × 0.5 h


def test_reference_accelerator_sets_the_speeds_from_the_estimator() -> None:
    from suanli.services.estimates import relative_speed
    from suanli.services.simulation import load_fleet

    a100 = load_fleet()
    h100 = load_fleet(reference="nvidia-h100-sxm5-80gb")
    for p, q in zip(a100.pools, h100.pools, strict=True):
        assert p.speed == pytest.approx(relative_speed("nvidia-a100-sxm4-80gb", p.accelerator_id))
        assert q.speed == pytest.approx(relative_speed("nvidia-h100-sxm5-80gb", q.accelerator_id))
    assert h100.pools[0].speed < a100.pools[0].speed  # the same trace ran on a faster chip


def test_the_cli_labels_yuan_as_yuan(tmp_path: Path) -> None:
    """The table shows money in CNY under plain labels; the JSON keeps integer fen."""
    from typer.testing import CliRunner

    from suanli.cli import app

    trace = _trace(tmp_path, "0,3600,2,a\n10,1800,1,b\n")
    runner = CliRunner()
    table = runner.invoke(app, ["simulate", "--trace", str(trace), "--policy", "fifo"],
                          env={"COLUMNS": "200"})  # fmt: skip
    assert table.exit_code == 0, table.output
    rows = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if "│" in line}
    assert "cost" in rows and "CNY" in rows["cost"] and "subsidy" in rows
    assert "cost_fen" not in table.stdout and "subsidy_fen" not in table.stdout
    as_json = runner.invoke(app, ["simulate", "--trace", str(trace), "--policy", "fifo", "--json"])
    out = json.loads(as_json.stdout)
    assert isinstance(out["cost_fen"], int) and isinstance(out["subsidy_fen"], int)
