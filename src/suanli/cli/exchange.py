"""Exchange commands: the trace-driven placement simulator."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from suanli.cli.common import console, err_console, handle_errors, print_json
from suanli.domain.money import Money
from suanli.placement.trace import read_trace
from suanli.services import simulation


@handle_errors
def simulate_cmd(
    trace: Annotated[Path, typer.Option("--trace", help="Philly CSV or submit_s,duration_s,gpus")],
    policy: Annotated[str, typer.Option(help="fifo, greedy or batch")] = "greedy",
    fleet: Annotated[Path | None, typer.Option(help="fleet TOML (default: the sample)")] = None,
    reference_accelerator: Annotated[
        str | None, typer.Option(help="catalog model the trace's durations were measured on")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="replay only the first N jobs")] = None,
    window_s: Annotated[float, typer.Option(help="batch policy: seconds between solves")] = 600,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Replay a job trace over a fleet under a placement policy."""
    total = len(read_trace(trace)) if trace.is_file() else 0
    total = min(total, limit) if limit else total
    show = sys.stderr.isatty()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not show,
    ) as bar:
        task = bar.add_task(f"simulate {policy}", total=total)
        result = simulation.run(
            trace,
            policy,
            fleet_path=fleet,
            reference=reference_accelerator,
            limit=limit,
            window_s=window_s,
            progress=lambda n: bar.advance(task, n),
        )
    out = result.to_dict()
    if as_json:
        print_json(out)
        return
    table = Table(title=f"{policy}: {trace.name}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in out.items():
        if key in ("cost_fen", "subsidy_fen"):
            text = str(Money(int(value), "CNY"))
        elif isinstance(value, float):
            text = f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
        else:
            text = f"{value:,}"
        table.add_row(key, text)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)
