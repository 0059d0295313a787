"""The ``suanli`` command line. Each area adds its commands from its own module."""

from __future__ import annotations

import typer

from suanli.cli import agent, catalog, core, registry
from suanli.cli import applications as applications
from suanli.cli import calibrate as calibrate
from suanli.cli import estimate as estimate
from suanli.cli import exchange as exchange
from suanli.cli import ledger as ledger
from suanli.cli import programs as programs

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
app.add_typer(estimate.app, name="estimate")
app.command("calibrate")(calibrate.calibrate)
programs.register(app)
applications.register(app)
ledger.register(app)
exchange.register(app)


def main() -> None:
    app()
