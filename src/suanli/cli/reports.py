"""``suanli report NAME``: a report over posted records as a table, JSON, CSV or Parquet."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from suanli.cli.common import console, handle_errors, print_json, unit_of_work
from suanli.domain.roles import SYSTEM
from suanli.reports import NAMES
from suanli.reports.records import Report


def print_report(result: Report) -> None:
    table = Table(title=f"report {result.name}", show_lines=False)
    for column in result.columns:
        table.add_column(column, overflow="fold")
    for row in result.table():
        table.add_row(*("" if row[c] is None else str(row[c]) for c in result.columns))
    console.print(table)
    for key, value in result.summary.items():
        if isinstance(value, list):
            for item in value:
                console.print(f"{key}: {item}", highlight=False)
        else:
            console.print(f"{key}: {value}", highlight=False)


@handle_errors
def report(
    name: Annotated[str, typer.Argument(help=f"one of {', '.join(NAMES)}")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print the rows as CSV")] = False,
    as_parquet: Annotated[
        bool, typer.Option("--parquet", help="write the rows as Parquet (to --output or stdout)")
    ] = False,
    output: Annotated[Path | None, typer.Option(help="file for --parquet")] = None,
) -> None:
    """A report over posted records: domestic-share, burn, utilisation, energy or fairness."""
    from suanli.services import reports

    with unit_of_work() as uow:
        result = reports.report(uow, SYSTEM, name)
    if as_parquet:
        data = reports.to_parquet(result)
        if output is not None:
            output.write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
    elif as_csv:
        typer.echo(reports.to_csv(result), nl=False)
    elif as_json:
        print_json(result.to_dict())
    else:
        print_report(result)


def register(root: typer.Typer) -> None:
    root.command("report")(report)
