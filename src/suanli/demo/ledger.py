"""Demo step: a programme budget funded from an issuer, a hold posted in part, and the check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from suanli.domain.money import Money
from suanli.services import ledger
from suanli.store.uow import UnitOfWork

if TYPE_CHECKING:
    from suanli.demo.context import DemoContext

ISSUER, BUDGET, ESCROW = "ledger-demo:issuer", "ledger-demo:budget", "ledger-demo:escrow"


def step_ledger(ctx: DemoContext) -> None:
    with UnitOfWork(ctx.engine) as uow:
        ledger.open_account(uow, ISSUER, "issuer", "CNY")
        ledger.open_account(uow, BUDGET, "program_budget", "CNY", "ledger-demo")
        ledger.open_account(uow, ESCROW, "escrow", "CNY", "ledger-demo")
        ledger.transfer(uow, "ledger-demo:fund", ISSUER, BUDGET, 100_000_000, "CNY")
        ledger.transfer(uow, "ledger-demo:hold", BUDGET, ESCROW, 500_000, "CNY", pending=True)
        ledger.post_pending(uow, "ledger-demo:post", "ledger-demo:hold", 320_000)
        # A retry of the same post changes nothing; too large a spend is refused with a reason.
        retry = ledger.post_pending(uow, "ledger-demo:post", "ledger-demo:hold", 320_000)
        refused = ledger.transfer(uow, "ledger-demo:big", BUDGET, ESCROW, 10**9, "CNY")
        uow.commit()
        rows = [ledger.balance(uow, a) for a in (ISSUER, BUDGET, ESCROW)]
        breaks = ledger.check_invariants(uow)
        count = len(ledger.list_accounts(uow))
    ctx.section("Ledger: holds, posts, retries and the invariant check")
    table = Table(title="Issuer funds a budget; a 5,000 hold is posted at 3,200 and the rest freed")
    for col in ("account", "kind", "posted", "available"):
        table.add_column(col, justify="left" if col in ("account", "kind") else "right")
    for b in rows:
        posted, available = Money(b.posted_minor, b.currency), Money(b.available_minor, b.currency)
        table.add_row(b.account_id, b.kind.value, str(posted), str(available))
    ctx.console.print(table)
    ctx.console.print(
        f"retried post: {retry.result}; overspend: {refused.result}. "
        f"{count} accounts, balances sum to zero: "
        + ("[green]ledger check passed[/green]" if not breaks else f"[red]{len(breaks)} breaks")
        + ". Try: [cyan]suanli ledger check[/cyan], [cyan]suanli ledger balances[/cyan]"
    )
