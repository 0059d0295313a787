"""The ``suanli`` command line. Each area adds its commands from its own module."""

from __future__ import annotations

import typer

from suanli.cli import (
    agent,
    applications,
    audit,
    calibrate,
    catalog,
    compliance,
    core,
    estimate,
    exchange,
    filings,
    ledger,
    parties,
    programs,
    registry,
    reports,
)

app = typer.Typer(
    name="suanli",
    help="Compute-voucher programs and a heterogeneous AI-compute exchange.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

core.register(app)
agent.register(app)
app.add_typer(catalog.app, name="catalog")
app.add_typer(registry.offers_app, name="offers")
parties.register(app)
app.add_typer(filings.app, name="filings")
app.add_typer(estimate.app, name="estimate")
app.command("calibrate")(calibrate.calibrate)
programs.register(app)
applications.register(app)
ledger.register(app)
exchange.register(app)
audit.register(app)
reports.register(app)
app.add_typer(compliance.app, name="compliance")


def main() -> None:
    app()
