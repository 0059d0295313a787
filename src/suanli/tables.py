"""Rich tables of a quote and of a statement, printed alike by the CLI and the guided tour."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from suanli.domain.money import Money
from suanli.domain.quotes import Quote
from suanli.domain.statements import Statement


def _money_text(fen: int, currency: str) -> str:
    return str(Money(fen, currency))


def print_quote(q: Quote, top: int = 10, out: Console | None = None) -> None:
    table = Table(title=f"Quote {q.request_id} by {q.objective}")
    for col in ("offer", "origin", "chips", "accel-h p10–p90", "cost", "subsidy", "net", "kWh",
                "start"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("offer", "origin") else "right")
    for r in q.rows[:top]:
        table.add_row(
            r.offer_id, r.origin, str(r.count),
            f"{r.accelerator_hours_p10:,.0f}–{r.accelerator_hours_p90:,.0f}",
            _money_text(r.cost_fen, r.currency), _money_text(r.subsidy_fen, r.currency),
            _money_text(r.net_fen, r.currency),
            "—" if r.energy_kwh is None else f"{r.energy_kwh:,.0f}", f"{r.start:%m-%d %H:%M}",
        )  # fmt: skip
    (out or Console()).print(table)


def print_statement(result: Statement, console_: Console | None = None) -> None:
    table = Table(title=f"Statement {result.party} {result.month}")
    for col in ("run", "accelerator", "exit", "accel-s", "billed", "voucher", "wallet"):
        table.add_column(col)
    for line in result.lines:
        table.add_row(
            line.run_id or f"spend {line.transfer_id}",
            line.accelerator_id,
            line.exit_class,
            f"{line.accelerator_seconds:.1f}",
            *(str(Money(getattr(line, k), line.currency)) for k in _MONEY),
        )
    currency = result.lines[0].currency if result.lines else "CNY"
    totals = result.totals
    table.add_row("total", "", "", "", *(str(Money(totals[k], currency)) for k in _MONEY))
    (console_ or Console()).print(table)


_MONEY = ("billed_fen", "voucher_fen", "wallet_fen")
