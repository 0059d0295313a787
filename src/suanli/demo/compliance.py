"""Demo step: the compliance rules, the grey-market listing they flag (export-banned H100s in
Shenzhen with no provenance, as the press has reported of trading platforms), and a
voucher-paid quote that leaves it out, naming the rule and its source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from suanli.demo.exchange import WHO, _request
from suanli.domain.roles import Principal, Role
from suanli.rejection import Code
from suanli.services import compliance, exchange
from suanli.services.catalog import load_catalog
from suanli.store.uow import UnitOfWork

if TYPE_CHECKING:
    from suanli.demo.context import DemoContext

AUDITOR = Principal(Role.AUDITOR, None, name="demo auditor")


def step_compliance(ctx: DemoContext) -> None:
    ctx.section("Compliance: export-control and grey-market screening")
    book = compliance.load_rules()
    regimes = {r.regime for r in book.rules}
    ctx.console.print(
        f"{len(book.rules)} rules from data/compliance ({', '.join(sorted(regimes))} side), "
        "each with its sources and the date it takes effect.", highlight=False,
    )  # fmt: skip
    with UnitOfWork(ctx.engine, read_only=True) as uow:
        flags = compliance.flagged_offers(uow, AUDITOR)
        q = exchange.quote_for(uow, WHO, _request("demo-compliance-quote"))
    catalog = load_catalog()
    table = Table(title="Offers left out until provenance is shown")
    for col in ("offer", "chip", "rule", "status", "why"):
        table.add_column(col)
    for f in flags:
        if f.excludes and f.rule.effect == "require_evidence":
            model = catalog.get(f.accelerator_id).model
            table.add_row(f.offer_id, model, f.rule.id, f.status, f.why)
    ctx.console.print(table)
    warned = sum(1 for f in flags if f.rule.effect == "warn")
    blocks = sum(1 for f in flags if f.rule.effect == "block")
    ctx.console.print(f"{warned} warnings noted on quotes, {blocks} offers blocked for "
                      "state-owned and government tenants.", highlight=False)  # fmt: skip
    for r in q.refused:
        if r.code is Code.COMPLIANCE:
            ctx.console.print(f"voucher-paid quote: not {r.offer_id}: {r.code} — {r.reason}",
                              highlight=False)  # fmt: skip
    ctx.console.print(
        "Try: [cyan]suanli compliance offers --json[/cyan] · [cyan]suanli compliance clear "
        "sz-qh-1-h100 --rule us-ear-2022-10-3a090 --reason '...'[/cyan] (or confirm)"
    )
