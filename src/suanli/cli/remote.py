"""The tenant and provider commands against a server: ``--server URL`` (or ``SUANLI_SERVER``)
with ``--token`` (or ``SUANLI_TOKEN``), through ``suanli.client``. Without a server the commands
work on the local database as before. The one module of the CLI that imports the client."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from suanli.errors import Unauthenticated
from suanli.rejection import Rejection

if TYPE_CHECKING:  # the client (and httpx) load only for a command given --server
    from suanli.client import Client, JsonObject, Rows

Server = Annotated[
    str | None,
    typer.Option("--server", envvar="SUANLI_SERVER", help="API base URL; default: local database"),
]
Token = Annotated[
    str | None, typer.Option("--token", envvar="SUANLI_TOKEN", help="API token for --server")
]


@contextmanager
def connect(server: str, token: str | None) -> Iterator[Client]:
    if not token:
        raise Unauthenticated("--server needs a token: give --token or set SUANLI_TOKEN")
    from suanli.client import Client

    with Client(server, token) as client:
        yield client


def rejection(answer: Mapping[str, Any]) -> Rejection | None:
    from suanli.client import rejection_of

    return rejection_of(answer)


def quote(server: str, token: str | None, request: Mapping[str, Any]) -> JsonObject:
    with connect(server, token) as api:
        return api.exchange.quote(request)


def submit(server: str, token: str | None, request: Mapping[str, Any]) -> JsonObject:
    with connect(server, token) as api:
        return api.exchange.submit(request)


def vouchers(server: str, token: str | None, tenant: str | None, program: str | None) -> Rows:
    with connect(server, token) as api:
        return api.vouchers.list(tenant_id=tenant, program_id=program)


def statement(server: str, token: str | None, month: str, csv: bool, **party: str | None) -> Any:
    with connect(server, token) as api:
        if csv:
            return api.statements.monthly_csv(month, **party)
        return api.statements.monthly(month, **party)


def offers(server: str, token: str | None, include_retired: bool) -> Rows:
    with connect(server, token) as api:
        return api.offers.list(include_retired=include_retired)


def create_offer(server: str, token: str | None, body: Mapping[str, Any]) -> JsonObject:
    with connect(server, token) as api:
        return api.offers.create(body)


def retire_offer(server: str, token: str | None, offer_id: str) -> JsonObject:
    with connect(server, token) as api:
        return api.offers.retire(offer_id)
