from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from suanli.cli.common import console, handle_errors, print_json, unit_of_work
from suanli.domain.money import Money
from suanli.domain.registry import Offer
from suanli.domain.roles import SYSTEM
from suanli.services import registry
from suanli.services.catalog import load_catalog

offers_app = typer.Typer(help="Offers: accelerators for rent at a site.")


@offers_app.command("list")
@handle_errors
def list_offers(
    origin: Annotated[str | None, typer.Option(help="domestic or foreign")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List live offers."""
    catalog = load_catalog()
    with unit_of_work() as uow:
        offers = registry.list_records(uow, SYSTEM, Offer)
    offers = [o for o in offers if origin in (None, catalog.get(o.accelerator_id).origin)]
    if as_json:
        print_json([dataclasses.asdict(o) for o in offers])
        return
    table = Table(title=f"{len(offers)} offers")
    for col in ("id", "site", "accelerator", "origin", "count", "price / accel-hour", "until"):
        table.add_column(col)
    for o in offers:
        acc = catalog.get(o.accelerator_id)
        price = Money(o.price_fen_per_accel_hour, o.currency)
        table.add_row(
            o.id,
            o.site_id,
            acc.model,
            acc.origin,
            str(o.count),
            str(price),
            o.available_until.date().isoformat(),
        )
    console.print(table)
