"""``suanli agent run``: a site agent; ``suanli statement``: monthly statements of runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from suanli.cli import remote
from suanli.cli.common import console, handle_errors, print_json, unit_of_work
from suanli.domain.roles import SYSTEM
from suanli.errors import ValidationError
from suanli.runtime import settle_heap
from suanli.tables import print_statement

app = typer.Typer(help="The site agent: lease runs, run them on the site's backend, report.")


def _backend(  # type: ignore[no-untyped-def]
    name: str, slurm_conf: str | None, devices: int, ray_address: str | None
):
    if name == "local":
        from suanli.agent.backends.local import LocalBackend

        return LocalBackend(devices=devices)
    if name == "slurm":
        from suanli.agent.backends.slurm import SlurmBackend

        return SlurmBackend(slurm_conf=slurm_conf)
    if name == "ray":
        from suanli.agent.backends.ray import RayBackend

        if not ray_address:
            raise ValidationError("ray_address", "the ray backend needs --ray-address")
        return RayBackend(address=ray_address).connect()
    raise ValidationError("backend", "must be local, slurm or ray")


@app.command("run")
@handle_errors
def run(
    site: Annotated[str, typer.Option(help="the site this agent serves")],
    backend: Annotated[str, typer.Option(help="local, slurm or ray")] = "local",
    api: Annotated[str | None, typer.Option(help="API base URL; default: in-process")] = None,
    token: Annotated[
        str | None, typer.Option(envvar="SUANLI_AGENT_TOKEN", help="agent token")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="run one job, then exit")] = False,
    workdir: Annotated[Path, typer.Option(help="job outputs and checkpoints")] = Path("var/agent"),
    lease_s: Annotated[float, typer.Option(help="lease length, seconds")] = 30.0,
    wait_s: Annotated[float, typer.Option(help="long-poll wait for work, seconds")] = 10.0,
    slurm_conf: Annotated[str | None, typer.Option(help="SLURM_CONF for the slurm backend")] = None,
    devices: Annotated[int, typer.Option(help="accelerators of the local backend")] = 8,
    ray_address: Annotated[
        str | None,
        typer.Option(envvar="RAY_ADDRESS", help="Ray dashboard URL for the ray backend"),
    ] = None,
) -> None:
    """Serve one site: lease runs, run them, report usage, complete."""
    import httpx

    from suanli.agent.loop import Agent, AgentApi

    if api is None:
        from suanli.api.app import in_process_client
        from suanli.services.tokens import create_token

        client: httpx.Client = in_process_client()
        if token is None:
            with unit_of_work() as uow:
                token = create_token(uow, "agent", site, "embedded agent")
                uow.commit()
    else:
        client = httpx.Client(base_url=api, timeout=wait_s + 60)
    if token is None:
        raise ValidationError("token", "an agent token is needed with --api")
    agent = Agent(
        AgentApi(client, token),
        _backend(backend, slurm_conf, devices, ray_address),
        site,
        workdir.resolve(),
        lease_s=lease_s,
        log=lambda line: console.print(line, highlight=False),
    )
    console.print(f"agent {agent.agent_id} serving site {site} on {backend}", highlight=False)
    settle_heap()
    if once:
        while agent.run_once(wait_s) is None:
            pass
        return
    agent.run_forever(wait_s)


@handle_errors
def statement(
    month: Annotated[str, typer.Option(help="YYYY-MM; default this month")] = "",
    tenant: Annotated[str | None, typer.Option(help="tenant id")] = None,
    provider: Annotated[str | None, typer.Option(help="provider id")] = None,
    program: Annotated[str | None, typer.Option(help="voucher program id")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    server: remote.Server = None,
    token: remote.Token = None,
) -> None:
    """A monthly statement of settled runs for a tenant, a provider or a program."""
    from suanli.services.statements import statement as build
    from suanli.services.statements import to_csv

    month = month or datetime.now(UTC).strftime("%Y-%m")
    if server:
        party = {"tenant": tenant, "provider": provider, "program": program}
        found = remote.statement(server, token, month, as_csv, **party)
        if as_csv:
            typer.echo(found, nl=False)
        elif as_json:
            print_json(found)
        else:
            print_statement(found)
        return
    with unit_of_work() as uow:
        result = build(uow, SYSTEM, month, tenant=tenant, provider=provider, program=program)
    if as_csv:
        typer.echo(to_csv(result), nl=False)
    elif as_json:
        print_json(result.to_dict())
    else:
        print_statement(result)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="agent")
    root.command("statement")(statement)
