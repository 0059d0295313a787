"""``suanli ledger``: verify the invariants, show balances, release expired holds."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from suanli.cli.common import console, err_console, handle_errors, print_json, unit_of_work
from suanli.domain.money import Money
from suanli.ledger.model import balance_of
from suanli.services import ledger

app = typer.Typer(help="The double-entry ledger: accounts, balances, invariants.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ledger")


@app.command("check")
@handle_errors
def check(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Verify every ledger invariant; exit 1 listing the breaks if any."""
    with unit_of_work() as uow:
        breaks = ledger.check_invariants(uow)
        accounts = ledger.list_accounts(uow)
    if as_json:
        print_json({"healthy": not breaks, "accounts": len(accounts), "breaks": breaks})
    elif breaks:
        for line in breaks:
            err_console.print(f"[red]break:[/red] {line}", highlight=False)
    else:
        currencies = sorted({a.currency for a in accounts})
        console.print(
            f"ledger healthy: {len(accounts)} accounts in {', '.join(currencies) or 'no currency'};"
            " balances sum to zero, totals match transfers, floors and holds intact"
        )
    if breaks:
        raise typer.Exit(1)


@app.command("balances")
@handle_errors
def balances(
    owner: Annotated[str | None, typer.Option(help="only accounts of this owner")] = None,
    kind: Annotated[str | None, typer.Option(help="only accounts of this kind")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Posted, held and available balance of each account."""
    with unit_of_work() as uow:
        rows = [balance_of(a) for a in ledger.list_accounts(uow, owner, kind)]
    if as_json:
        print_json([dataclasses.asdict(b) for b in rows])
        return
    table = Table(title=f"{len(rows)} ledger accounts")
    for col in ("account", "kind", "owner", "posted", "held (net)", "available"):
        table.add_column(
            col, justify="right" if col in ("posted", "held (net)", "available") else "left"
        )
    for b in rows:
        table.add_row(
            b.account_id,
            b.kind.value,
            b.owner_id or "",
            str(Money(b.posted_minor, b.currency)),
            str(Money(b.pending_minor, b.currency)),
            str(Money(b.available_minor, b.currency)),
        )
    console.print(table)


@app.command("expire")
@handle_errors
def expire(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Release every hold whose timeout has passed."""
    with unit_of_work() as uow:
        count = ledger.expire_pending(uow)
        uow.commit()
    if as_json:
        print_json({"expired": count})
    else:
        console.print(f"{count} expired holds released")
