"""The ``suanli`` command line. Each area adds its commands from its own module.

Starting the command line imports none of those modules: the root lists every command with its
one-line help from ``COMMANDS`` and imports the module behind a command only when that command
runs, so a command loads its own area (its services, the database layer, a solver), not every
area's. ``tests/unit/test_cli_startup.py`` checks the table against what the modules register.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# Each command: the module under ``suanli.cli`` whose ``register`` adds it, and its help as the
# root lists it (the first paragraph of its own). Single commands first, then groups, each in
# the order the areas register them: the order Typer lists them in.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("core", "Serve the REST API (/api/v1, OpenAPI at /docs) and the web dashboard (/)."),
    "demo": (
        "core",
        "Build a fresh demo database (SUANLI_DATABASE_URL, else var/demo.db), load the catalog "
        "and\na demo world, and tour the product.",
    ),
    "statement": (
        "agent",
        "A monthly statement of settled runs for a tenant, a provider or a program.",
    ),
    "calibrate": (
        "calibrate",
        "Measure dense matmul TFLOPS on the local accelerator (needs PyTorch and a GPU).",
    ),
    "subsidy": ("programs", "The subsidy a program pays a tenant on one contract, line by line."),
    "apply": (
        "applications",
        "Apply for a voucher: every eligibility rule is judged now, with its reason.",
    ),
    "review": (
        "applications",
        "Approve an application (issues the voucher) or reject it with a reason.",
    ),
    "budget": (
        "applications",
        "A program's budget per year: funded, paid, held for later tranches, left.",
    ),
    "simulate": ("exchange", "Replay a job trace over a fleet under a placement policy."),
    "quote": ("exchange", "Price a job on every live offer; list the others with the reason."),
    "submit": (
        "exchange",
        "Submit a job request: placed now on the best offer, or kept for the batch.",
    ),
    "cancel": ("exchange", "Cancel a request: its reservation is released and its run cancelled."),
    "place": (
        "exchange",
        "Place every pending request at once (MILP over real quotes, under the policy).",
    ),
    "reservations": ("exchange", "Capacity reservations on offers."),
    "report": (
        "reports",
        "A report over posted records: domestic-share, burn, utilisation, energy or fairness.",
    ),
    "db": ("core", "Database schema."),
    "token": ("core", "API tokens."),
    "agent": ("agent", "The site agent: lease runs, run them on the site's backend, report."),
    "catalog": (
        "catalog",
        "The accelerator catalog: sourced specs, origin, export status; systems.",
    ),
    "offers": ("registry", "Offers: accelerators for rent at a site."),
    "tenants": ("parties", "Tenants in the registry."),
    "providers": ("parties", "Providers in the registry."),
    "sites": ("parties", "Sites in the registry."),
    "filings": ("filings", "Filed generative-AI services (生成式人工智能服务备案)."),
    "estimate": (
        "estimate",
        "Estimate hours, chips, energy and cost of a workload; validate the model.",
    ),
    "program": ("programs", "Subsidy programs declared as files under data/programs/."),
    "applications": ("applications", "Voucher applications."),
    "vouchers": ("applications", "Vouchers issued on approved applications."),
    "claim": ("applications", "Purchase-subsidy claims."),
    "ledger": ("ledger", "The double-entry ledger: accounts, balances, invariants."),
    "audit": ("audit", "The append-only, hash-chained audit log."),
    "compliance": (
        "compliance",
        "Compliance rules (data/compliance/*.toml) and the offers they flag.",
    ),
}


class _Listed(TyperCommand):
    """A command as the root lists it: its name and help, nothing loaded behind it."""


# Typer ships its own copy of click, whose names are private: its commands and contexts are
# typed ``Any`` here.
def load_command(name: str) -> Any:
    """The command ``name`` as its module registers it, importing that module."""
    module = importlib.import_module(f"suanli.cli.{COMMANDS[name][0]}")
    area = typer.Typer()
    module.register(area)
    return typer.main.get_group(area).commands[name]


class LazyGroup(TyperGroup):
    """The root group: lists every command from ``COMMANDS`` and loads one only to run it (or
    to show its own help, or complete its arguments: click resolves it for those too)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (_, help_text) in COMMANDS.items():
            self.commands.setdefault(name, _Listed(name, help=help_text))

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(cmd, _Listed):
            cmd = self.commands[name] = load_command(name)
        return name, cmd, rest


app = typer.Typer(
    name="suanli",
    cls=LazyGroup,
    help="Compute-voucher programs and a heterogeneous AI-compute exchange.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    # Without a callback Typer would not build a group for a root that registers no command
    # itself; with one and no docstring, the help above stays the root's.
    pass


def main() -> None:
    app()
