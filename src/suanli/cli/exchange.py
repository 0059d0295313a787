"""Exchange commands: quotes, submissions, cancellations, reservations, batch placement, and the
trace-driven placement simulator."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from suanli.cli import remote
from suanli.cli.common import (
    console,
    err_console,
    exit_if_rejected,
    handle_errors,
    print_json,
    unit_of_work,
)
from suanli.domain.money import Money
from suanli.domain.roles import SYSTEM
from suanli.errors import ValidationError
from suanli.services import exchange
from suanli.tables import print_quote


@handle_errors
def simulate_cmd(
    trace: Annotated[Path, typer.Option("--trace", help="Philly CSV or submit_s,duration_s,gpus")],
    policy: Annotated[str, typer.Option(help="fifo, greedy or batch")] = "greedy",
    fleet: Annotated[Path | None, typer.Option(help="fleet TOML (default: the sample)")] = None,
    reference_accelerator: Annotated[
        str | None, typer.Option(help="catalog model the trace's durations were measured on")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="replay only the first N jobs")] = None,
    window_s: Annotated[float, typer.Option(help="batch policy: seconds between solves")] = 600,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Replay a job trace over a fleet under a placement policy."""
    # The placement solvers (numpy, SciPy's sparse matrices, HiGHS) load with the commands that
    # place, not with every command.
    from suanli.placement.trace import read_trace
    from suanli.services import simulation

    total = len(read_trace(trace)) if trace.is_file() else 0
    total = min(total, limit) if limit else total
    show = sys.stderr.isatty()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not show,
    ) as bar:
        task = bar.add_task(f"simulate {policy}", total=total)
        result = simulation.run(
            trace,
            policy,
            fleet_path=fleet,
            reference=reference_accelerator,
            limit=limit,
            window_s=window_s,
            progress=lambda n: bar.advance(task, n),
        )
    out = result.to_dict()
    if as_json:
        print_json(out)
        return
    table = Table(title=f"{policy}: {trace.name}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in out.items():
        label = key
        if key in ("cost_fen", "subsidy_fen"):
            # Shown in yuan, so labelled without the fen suffix (the JSON keeps fen integers).
            label, text = key.removesuffix("_fen"), str(Money(int(value), "CNY"))
        elif isinstance(value, float):
            text = f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
        else:
            text = f"{value:,}"
        table.add_row(label, text)
    console.print(table)


# Quotes, submissions, cancellations, reservations and the batch placement.

AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def _request(
    request_file: Path | None,
    tenant: str | None,
    kind: str,
    params_b: float | None,
    tokens_b: float,
    accelerators: int | None,
    vouchers: list[str] | None,
    origins: list[str] | None,
    objective: str,
    max_net_fen: int | None,
    deadline: str | None,
    command: str | None,
    request_id: str,
    mode: str = "online",
) -> dict[str, Any]:
    """The request from a JSON file, or from the flags."""
    if request_file is not None:
        try:
            raw: dict[str, Any] = json.loads(request_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValidationError("request", f"{request_file}: {exc}") from None
        return raw
    if tenant is None or params_b is None:
        raise ValidationError("tenant", "give --request FILE, or --tenant and --params-b")
    return {
        "id": request_id, "tenant_id": tenant, "accelerators": accelerators,
        "workload": {"kind": kind, "params_b": params_b, "tokens_b": tokens_b},
        "voucher_ids": vouchers or [], "allowed_origins": origins or ["domestic", "foreign"],
        "objective": objective, "max_net_fen": max_net_fen, "deadline": deadline,
        "spec": {"command": shlex.split(command)} if command else None, "mode": mode,
    }  # fmt: skip


RequestFile = Annotated[Path | None, typer.Option("--request", help="request JSON file")]
Tenant = Annotated[str | None, typer.Option(help="tenant id")]
Kind = Annotated[str, typer.Option(help="pretrain, finetune, lora or inference")]
ParamsB = Annotated[float | None, typer.Option(help="model parameters, billions")]
TokensB = Annotated[float, typer.Option(help="training tokens, billions")]
Count = Annotated[int | None, typer.Option(help="accelerators (default: fewest that fit)")]
Vouchers = Annotated[list[str] | None, typer.Option("--voucher", help="voucher id (repeatable)")]
Origins = Annotated[list[str] | None, typer.Option("--origin", help="domestic/foreign")]
ObjectiveOpt = Annotated[str, typer.Option(help="net_cost, finish_time or energy")]
Ceiling = Annotated[int | None, typer.Option(help="ceiling on the net cost, fen")]
Deadline = Annotated[str | None, typer.Option(help="ISO time with zone")]


def _money_text(fen: int, currency: str) -> str:
    return str(Money(fen, currency))


def _print_remote_quote(q: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(q)
    else:
        table = Table(title=f"Quote {q['request_id']} by {q['objective']}")
        for col in ("offer", "origin", "chips", "cost", "subsidy", "net", "start"):
            table.add_column(col, justify="left" if col in ("offer", "origin") else "right")
        for r in q["feasible"][:10]:
            money = [
                _money_text(r[k], r["currency"]) for k in ("cost_fen", "subsidy_fen", "net_fen")
            ]
            table.add_row(r["offer_id"], r["origin"], str(r["count"]), *money, str(r["start"]))
        console.print(table)
        for r in q["infeasible"]:
            console.print(
                f"  [dim]{r['offer_id']}[/dim] {r['code']}: {r['reason']}", highlight=False
            )
    exit_if_rejected(remote.rejection(q))


@handle_errors
def quote_cmd(
    request_file: RequestFile = None,
    tenant: Tenant = None,
    kind: Kind = "finetune",
    params_b: ParamsB = None,
    tokens_b: TokensB = 1.0,
    accelerators: Count = None,
    voucher: Vouchers = None,
    origin: Origins = None,
    objective: ObjectiveOpt = "net_cost",
    max_net_fen: Ceiling = None,
    deadline: Deadline = None,
    as_json: AsJson = False,
    server: remote.Server = None,
    token: remote.Token = None,
) -> None:
    """Price a job on every live offer; list the others with the reason."""
    raw = _request(request_file, tenant, kind, params_b, tokens_b, accelerators, voucher, origin,
                   objective, max_net_fen, deadline, None, "cli-quote")  # fmt: skip
    if server:
        _print_remote_quote(remote.quote(server, token, raw), as_json)
        return
    with unit_of_work() as uow:
        q = exchange.quote_for(uow, SYSTEM, raw)
    if as_json:
        print_json(q.to_dict())
        return
    print_quote(q)
    for r in q.refused:
        console.print(f"  [dim]{r.offer_id}[/dim] {r.code}: {r.reason}", highlight=False)


@handle_errors
def submit_cmd(
    request_id: Annotated[str, typer.Option("--id", help="request id (idempotency key)")] = "",
    request_file: RequestFile = None,
    tenant: Tenant = None,
    kind: Kind = "finetune",
    params_b: ParamsB = None,
    tokens_b: TokensB = 1.0,
    accelerators: Count = None,
    voucher: Vouchers = None,
    origin: Origins = None,
    objective: ObjectiveOpt = "net_cost",
    max_net_fen: Ceiling = None,
    deadline: Deadline = None,
    command: Annotated[str | None, typer.Option(help="the command the site runs")] = None,
    batch: Annotated[bool, typer.Option("--batch", help="keep for the batch placement")] = False,
    as_json: AsJson = False,
    server: remote.Server = None,
    token: remote.Token = None,
) -> None:
    """Submit a job request: placed now on the best offer, or kept for the batch."""
    raw = _request(request_file, tenant, kind, params_b, tokens_b, accelerators, voucher, origin,
                   objective, max_net_fen, deadline, command, request_id,
                   "batch" if batch else "online")  # fmt: skip
    if server:
        out = remote.submit(server, token, raw)
        placed = out.get("placement")
        if as_json:
            print_json(out)
        elif placed:
            q = placed["quote"]
            net = _money_text(q["net_fen"], q["currency"])
            console.print(f"{out['request_id']}: placed on {q['offer_id']} from {q['start']}, "
                          f"run {placed['run_id']}, net {net}")  # fmt: skip
        else:
            console.print(f"{out['request_id']}: {out['status']} {out.get('reason', '')}".rstrip())
        exit_if_rejected(remote.rejection(out))
        return
    with unit_of_work() as uow:
        done = exchange.submit(uow, SYSTEM, exchange.request_from_dict(raw))
    if as_json:
        print_json(done.to_dict())
    elif done.placement is not None:
        q = done.placement.quote
        net = _money_text(q["net_fen"], q["currency"])
        run_id = done.placement.run_id
        console.print(
            f"{done.request_id}: placed on {q['offer_id']} from {q['start']}, run {run_id}, "
            f"net {net}"
        )
    else:
        console.print(f"{done.request_id}: {done.status} {done.reason}".rstrip())
    exit_if_rejected(done.rejection)


@handle_errors
def cancel_cmd(request_id: Annotated[str, typer.Argument()], as_json: AsJson = False) -> None:
    """Cancel a request: its reservation is released and its run cancelled."""
    with unit_of_work() as uow:
        out = exchange.cancel(uow, SYSTEM, request_id)
    if as_json:
        print_json(out.to_dict())
    else:
        console.print(f"{request_id}: {out.request.status}")


@handle_errors
def place_cmd(
    batch: Annotated[bool, typer.Option("--batch", help="place every pending request")] = False,
    policy: Annotated[Path | None, typer.Option(help="policy TOML (default: the default)")] = None,
    time_limit: Annotated[float | None, typer.Option(help="solver seconds")] = None,
    as_json: AsJson = False,
) -> None:
    """Place every pending request at once (MILP over real quotes, under the policy)."""
    if not batch:
        raise ValidationError("batch", "only --batch placement is offered here")
    from suanli.services import batch_placement

    with unit_of_work() as uow:
        report = batch_placement.place_batch(
            uow, SYSTEM, exchange.load_policy(policy), time_limit_s=time_limit
        )
    out = report.to_dict()
    if as_json:
        print_json(out)
        return
    console.print(
        f"batch: {out['placed_count']} placed, {out['unplaced_count']} unplaced of "
        f"{out['pending']}; objective {out['objective']:,}, LP bound {out['lp_bound']}, gap "
        f"{out['gap']}, {out['status']}, {out['seconds']} s, violations {len(out['violations'])}"
    )


@handle_errors
def reservations_cmd(
    offer: Annotated[str | None, typer.Option(help="only this offer")] = None,
    active: Annotated[bool, typer.Option(help="only active ones")] = False,
    as_json: AsJson = False,
) -> None:
    """Capacity reservations on offers."""
    with unit_of_work() as uow:
        rows = exchange.list_reservations(uow, SYSTEM, offer_id=offer, active_only=active)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    table = Table(title="Reservations")
    for col in ("id", "tenant", "offer", "chips", "start", "end", "status"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.id, r.tenant_id, r.offer_id, str(r.accelerators),
                      f"{r.start_at:%Y-%m-%d %H:%M}", f"{r.end_at:%Y-%m-%d %H:%M}",
                      r.status)  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)
    app.command("quote")(quote_cmd)
    app.command("submit")(submit_cmd)
    app.command("cancel")(cancel_cmd)
    app.command("place")(place_cmd)
    app.command("reservations")(reservations_cmd)
