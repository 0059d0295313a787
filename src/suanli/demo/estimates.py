"""Demo step: one workload estimated on every demo offer, cheapest offer per accelerator model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from suanli.domain.money import Money
from suanli.estimate.api import Estimate, Infeasible
from suanli.estimate.workload import Workload
from suanli.services.estimates import OfferEstimate, estimate_all_offers
from suanli.store.uow import UnitOfWork

if TYPE_CHECKING:
    from suanli.demo.context import DemoContext

DEMO_WORKLOAD = Workload("finetune", 7, tokens_b=20, seq_len=4096)


def step_estimates(ctx: DemoContext) -> None:
    with UnitOfWork(ctx.engine) as uow:
        results = estimate_all_offers(uow, DEMO_WORKLOAD)
    ctx.section("Estimator: a 7B full fine-tune on 20B tokens, on every offer")
    best: dict[str, OfferEstimate] = {}
    refused: dict[str, Infeasible] = {}
    for r in results:
        if isinstance(r.outcome, Infeasible):
            refused[r.outcome.accelerator_id] = r.outcome
            continue
        current = best.get(r.outcome.accelerator_id)
        if current is None or _cost(r) < _cost(current):
            best[r.outcome.accelerator_id] = r
    table = Table(title="Cheapest offer per accelerator model (bf16, fewest chips that fit)")
    for col in ("offer", "chips", "accel-hours (p10–p90)", "wall h", "cost", "kWh"):
        table.add_column(col, justify="left" if col == "offer" else "right")
    for r in sorted(best.values(), key=_cost):
        e = r.outcome
        assert isinstance(e, Estimate) and e.cost_fen is not None
        table.add_row(
            r.offer_id,
            str(e.count),
            f"{e.accelerator_hours:,.0f} ({e.accelerator_hours_p10:,.0f}–"
            f"{e.accelerator_hours_p90:,.0f})",
            f"{e.wall_hours:,.0f}",
            str(Money(e.cost_fen, e.currency)),
            "?" if e.energy_kwh is None else f"{e.energy_kwh:,.0f}",
        )
    ctx.console.print(table)
    for acc_id, why in sorted(refused.items()):
        ctx.console.print(f"refused on {acc_id}: {why.reason}", highlight=False)
    ctx.console.print(
        "Try: [cyan]suanli estimate --params-b 70 --tokens-b 2000 --accelerator A100-80GB "
        "--count 2048[/cyan] and [cyan]suanli estimate validate[/cyan]"
    )


def _cost(r: OfferEstimate) -> int:
    return r.outcome.cost_fen or 0 if isinstance(r.outcome, Estimate) else 0
