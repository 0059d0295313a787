from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from suanli.cli import remote
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
    all_: Annotated[bool, typer.Option("--all", help="also retired ones")] = False,
    server: remote.Server = None,
    token: remote.Token = None,
) -> None:
    """List live offers."""
    catalog = load_catalog()
    if server:
        offers = remote.offers(server, token, all_)
    else:
        with unit_of_work() as uow:
            found = registry.list_records(uow, SYSTEM, Offer, include_retired=all_)
        offers = [dataclasses.asdict(o) for o in found]
    offers = [o for o in offers if origin in (None, catalog.get(o["accelerator_id"]).origin)]
    if as_json:
        print_json(offers)
        return
    table = Table(title=f"{len(offers)} offers")
    for col in ("id", "site", "accelerator", "origin", "count", "price / accel-hour", "until"):
        table.add_column(col)
    for o in offers:
        acc = catalog.get(o["accelerator_id"])
        price = Money(o["price_fen_per_accel_hour"], o["currency"])
        until = str(o["available_until"])[:10]
        table.add_row(
            o["id"], o["site_id"], acc.model, acc.origin, str(o["count"]), str(price), until
        )
    console.print(table)


@offers_app.command("create")
@handle_errors
def create_offer(
    offer_file: Annotated[
        Path, typer.Argument(help="the offer as JSON or TOML (as POST /offers takes)")
    ],
    server: remote.Server = None,
    token: remote.Token = None,
) -> None:
    """Create an offer (idempotent by its id): the same offer again changes nothing."""
    from suanli.cli.records import read_body, record_facts
    from suanli.schemas.registry import OfferIn

    body = read_body(offer_file, "offer", OfferIn)
    if server:
        out = remote.create_offer(server, token, body.model_dump(mode="json"))
    else:
        data = record_facts(body)
        with unit_of_work() as uow:
            out = dataclasses.asdict(registry.create(uow, SYSTEM, Offer(**data)))
            uow.commit()
    print_json(out)


@offers_app.command("retire")
@handle_errors
def retire_offer(
    offer_id: Annotated[str, typer.Argument(help="the offer's id")],
    server: remote.Server = None,
    token: remote.Token = None,
) -> None:
    """Retire an offer: no new placements on it."""
    if server:
        out = remote.retire_offer(server, token, offer_id)
    else:
        with unit_of_work() as uow:
            out = dataclasses.asdict(registry.retire(uow, SYSTEM, Offer, offer_id))
            uow.commit()
    console.print(f"offer {out['id']} retired")


def register(root: typer.Typer) -> None:
    root.add_typer(offers_app, name="offers")
