"""Top-level commands: db, token, serve, demo."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from suanli.cli.common import console, err_console, handle_errors, print_json, unit_of_work
from suanli.errors import BackendError
from suanli.services import tokens
from suanli.store.db import make_engine

WORKER_HEALTHCHECK_S = 60  # uvicorn waits this long for a worker to answer a health check

db_app = typer.Typer(help="Database schema.")
token_app = typer.Typer(help="API tokens.")


@db_app.command("upgrade")
@handle_errors
def db_upgrade(url: Annotated[str | None, typer.Option(help="database URL")] = None) -> None:
    """Apply every migration (SUANLI_DATABASE_URL, default a SQLite file under ./var/)."""
    from suanli.store.migrate import upgrade  # Alembic, only for this command

    engine = make_engine(url)
    upgrade(engine)
    console.print(f"database at newest schema: {engine.url.render_as_string(hide_password=True)}")
    engine.dispose()


@token_app.command("create")
@handle_errors
def token_create(
    role: Annotated[str, typer.Option(help="officer|reviewer|tenant|provider|agent|auditor")],
    org: Annotated[str | None, typer.Option(help="tenant, provider or site id")] = None,
    name: Annotated[str, typer.Option(help="the person or service it is for")] = "",
    label: Annotated[str, typer.Option(help="a note to recognise the token by")] = "",
    expires_days: Annotated[
        int, typer.Option(help="days until it stops working")
    ] = tokens.DEFAULT_TTL_DAYS,
) -> None:
    """Create an API token and print it once; only its digest is kept."""
    with unit_of_work() as uow:
        token = tokens.create_token(uow, role, org, label, name=name, expires_days=expires_days)
        uow.commit()
    typer.echo(token)


@token_app.command("list")
@handle_errors
def token_list(
    all_: Annotated[bool, typer.Option("--all", help="also expired and revoked ones")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """Tokens with their role, organisation, holder and state; never their secrets."""
    with unit_of_work() as uow:
        found = tokens.list_tokens(uow, include_ended=all_)
    now = datetime.now(UTC)
    if as_json:
        print_json([{**dataclasses.asdict(t), "state": t.state(now)} for t in found])
        return
    table = Table("id", "role", "org", "name", "created", "expires", "state")
    for t in found:
        expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
        table.add_row(t.id, t.role, t.org_id or "", t.name, f"{t.created_at:%Y-%m-%d}", expires,
                      t.state(now))  # fmt: skip
    console.print(table)


@token_app.command("revoke")
@handle_errors
def token_revoke(token_id: Annotated[str, typer.Argument(help="the token's id")]) -> None:
    """Revoke a token at once; the next request that presents it is refused."""
    with unit_of_work() as uow:
        info = tokens.revoke_token(uow, token_id)
        uow.commit()
    console.print(f"token {info.id} revoked at {info.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    threads: Annotated[
        int | None,
        typer.Option(
            help="requests one worker serves at once, one database connection each "
            "(default 40, or 40 / workers, at least 4, with --workers)"
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="API processes (PostgreSQL only; SQLite: one)")
    ] = 1,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /docs) and the web dashboard (/)."""
    import dataclasses as dc
    import os

    import uvicorn

    from suanli.api.app import DEFAULT_THREADS, ApiSettings, create_app
    from suanli.paths import default_database_url
    from suanli.store.db import normalise_url

    url = normalise_url(os.environ.get("SUANLI_DATABASE_URL") or default_database_url())
    if workers > 1 and url.startswith("sqlite"):
        # SQLite has one writer per file; more processes would only queue on its lock.
        err_console.print("SQLite serves with one worker; use PostgreSQL for --workers N")
        workers = 1
    if workers == 1:
        settings = ApiSettings.from_env()
        if threads is not None:
            settings = dc.replace(settings, threads=max(1, threads))
        uvicorn.run(create_app(settings=settings), host=host, port=port, log_level="info")
        return
    # Each worker imports the app afresh and reads its settings from the environment; the
    # connections of all workers together stay near one worker's default.
    os.environ["SUANLI_API_THREADS"] = str(max(1, threads or max(4, DEFAULT_THREADS // workers)))
    os.environ["SUANLI_DATABASE_URL"] = url
    uvicorn.run(
        "suanli.api.app:create_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        # A worker spawned on a busy machine can take longer than uvicorn's default 5 s to
        # answer its first health check (it imports the whole app); killed for that, it was
        # restarted again and again and the server never came up. A dead worker is still
        # replaced at once: the check is for hung ones.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


def _check_port_free(host: str, port: int) -> None:
    """Fail before the tour, not after it, when the server could not bind its port."""
    import socket

    with socket.socket() as probe:
        # As the server binds: reuse an address in TIME_WAIT, but not one that is listened on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise BackendError(
                f"port {port} on {host} is in use ({exc.strerror}): choose another with "
                f"`suanli demo --port {port + 1}` (or `make demo PORT={port + 1}`)"
            ) from None


@handle_errors
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="start the server after the tour")
    ] = True,
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to serve on")] = 8000,
) -> None:
    """Build a fresh demo database (SUANLI_DATABASE_URL, else var/demo.db), load the catalog and
    a demo world, and tour the product."""
    import os

    from suanli.demo import run_demo

    if serve_after:
        _check_port_free("127.0.0.1", port)
    url = run_demo(console, port=port, url=os.environ.get("SUANLI_DATABASE_URL") or None)
    if serve_after:
        os.environ["SUANLI_DATABASE_URL"] = url
        serve(port=port)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(token_app, name="token")
    app.command("serve")(serve)
    app.command("demo")(demo)
