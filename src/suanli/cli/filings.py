"""``suanli filings``: the registry of filed generative-AI services."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from suanli.cli.common import console, handle_errors, print_json, unit_of_work
from suanli.domain.filings import ModelFiling
from suanli.domain.roles import SYSTEM
from suanli.schemas.filings import filing_json
from suanli.services import filings

app = typer.Typer(
    help="Filed generative-AI services (生成式人工智能服务备案).", no_args_is_help=True
)


@app.command("list")
@handle_errors
def list_filings(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every filed service: the shipped list and the entries officers added."""
    with unit_of_work() as uow:
        found = filings.list_filings(uow, SYSTEM)
    if as_json:
        print_json([filing_json(f) for f in found])
        return
    table = Table(title=f"{len(found)} filed generative-AI services")
    table.add_column("filing number", no_wrap=True)
    for col in ("name", "developer", "filed on", "confidence"):
        table.add_column(col)
    for f in found:
        filed = f.filed_on.isoformat() if f.filed_on else "-"
        table.add_row(f.filing_number, f.name, f.developer, filed, f.confidence)
    console.print(table)


@app.command("show")
@handle_errors
def show_filing(filing_number: str) -> None:
    """One filed service, with its source."""
    with unit_of_work() as uow:
        print_json(filing_json(filings.get_filing(uow, SYSTEM, filing_number)))


@app.command("add")
@handle_errors
def add_filing(
    number: Annotated[str, typer.Option("--number", help="the CAC filing number")],
    name: Annotated[str, typer.Option(help="the filed service's name")],
    developer: Annotated[str, typer.Option(help="the filing entity")],
    source_url: Annotated[str, typer.Option(help="where the entry was read")],
    source_title: Annotated[str, typer.Option(help="that source's title")],
    source_date: Annotated[str, typer.Option(help="the source's date, ISO")],
    filed_on: Annotated[str | None, typer.Option(help="the filing date, ISO")] = None,
    confidence: Annotated[str, typer.Option(help="vendor, registry or secondary")] = "registry",
    jurisdiction: Annotated[str, typer.Option(help="e.g. Beijing")] = "",
    note: Annotated[str, typer.Option(help="what else the source says")] = "",
) -> None:
    """Record a filed service (as an officer); the same entry again changes nothing."""
    filing = ModelFiling(
        number, name, developer, source_url, source_title,
        filings.parse_day(source_date, "source_date"), confidence,
        None if filed_on is None else filings.parse_day(filed_on, "filed_on"), jurisdiction, note,
    )  # fmt: skip
    with unit_of_work() as uow:
        added = filings.add_filing(uow, SYSTEM, filing)
    print_json(filing_json(added))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="filings")
