"""``suanli tenants|providers|sites create|list``: register organisations and sites from a file,
through the same registry service as ``POST /api/v1/{tenants,providers,sites}``."""

# No ``from __future__ import annotations``: Typer reads the options' help, made per kind in
# ``_commands``, from annotations it would otherwise evaluate where ``name`` is unknown.
import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.table import Table

from suanli.cli.common import console, handle_errors, print_json, unit_of_work
from suanli.cli.records import read_record
from suanli.domain.registry import Provider, Site, Tenant
from suanli.domain.roles import SYSTEM
from suanli.schemas.registry import ProviderIn, SiteIn, TenantIn
from suanli.services import registry

# name, record, request schema, the columns a listing shows after id and name
KINDS: tuple[tuple[str, type[Any], type[BaseModel], tuple[str, ...]], ...] = (
    ("tenant", Tenant, TenantIn, ("registered_city", "sector", "is_startup", "ownership")),
    ("provider", Provider, ProviderIn, ("city", "parent_id")),
    ("site", Site, SiteIn, ("provider_id", "city", "backend", "pue")),
)


def _commands(
    name: str, kind: type[Any], schema: type[BaseModel], columns: tuple[str, ...]
) -> typer.Typer:
    group = typer.Typer(help=f"{name.capitalize()}s in the registry.", no_args_is_help=True)

    @group.command("create")
    @handle_errors
    def create(
        record_file: Annotated[
            Path, typer.Argument(help=f"the {name} as JSON or TOML (as POST /{name}s takes)")
        ],
    ) -> None:
        """Create it (idempotent by id): the same record again changes nothing."""
        data = read_record(record_file, name, schema)
        with unit_of_work() as uow:
            out = dataclasses.asdict(registry.create(uow, SYSTEM, kind(**data)))
            uow.commit()
        print_json(out)

    @group.command("list")
    @handle_errors
    def list_(
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        all_: Annotated[bool, typer.Option("--all", help="also retired ones")] = False,
    ) -> None:
        """List them."""
        with unit_of_work() as uow:
            found = registry.list_records(uow, SYSTEM, kind, include_retired=all_)
        rows = [dataclasses.asdict(r) for r in found]
        if as_json:
            print_json(rows)
            return
        table = Table("id", "name", *columns, title=f"{len(rows)} {name}s")
        for r in rows:
            table.add_row(
                *(str(r[c]) if r[c] is not None else "" for c in ("id", "name", *columns))
            )
        console.print(table)

    return group


def register(app: typer.Typer) -> None:
    for name, kind, schema, columns in KINDS:
        app.add_typer(_commands(name, kind, schema, columns), name=f"{name}s")
