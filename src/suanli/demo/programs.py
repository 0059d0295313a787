"""Demo step: the shipped programs; Hangzhou's 30 % vs 20 % on domestic and foreign offers."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING

from rich.table import Table

from suanli.domain.money import Money
from suanli.domain.registry import Offer, Tenant
from suanli.domain.roles import SYSTEM
from suanli.domain.subsidy_facts import Contract, percent
from suanli.services import registry
from suanli.services.catalog import load_catalog
from suanli.services.programs import load_programs, subsidy_for_contract
from suanli.store.repositories import registry as repo
from suanli.store.uow import UnitOfWork

if TYPE_CHECKING:
    from suanli.demo.context import DemoContext

HOURS = 1_000  # accelerator-hours bought on each offer


def step_programs(ctx: DemoContext) -> None:
    found = load_programs()
    ctx.section("Programs as data")
    ctx.console.print(
        f"{len(found)} programs under data/programs/, each with its sources: "
        + ", ".join(found)
        + ". Try: [cyan]suanli program show hangzhou-2025[/cyan]"
    )
    table = Table(title=f"hangzhou-2025 on {HOURS:,} accelerator-hours at Xixi Compute Park")
    for col in ("offer", "origin", "cost", "rate", "subsidy", "net"):
        table.add_column(col, justify="left" if col in ("offer", "origin") else "right")
    with UnitOfWork(ctx.engine) as uow:
        tenant = repo.get(uow.conn, Tenant, "qiantang-llm")
        assert tenant is not None
        for offer in registry.list_records(uow, SYSTEM, Offer):
            if offer.site_id != "hz-xx-1" or offer.id.endswith("-l20"):
                continue
            contract = Contract(
                "hz-xixi-compute", offer.accelerator_id, Fraction(HOURS),
                offer.price_fen_per_accel_hour * HOURS, offer.currency, date(2026, 2, 1),
            )  # fmt: skip
            d = subsidy_for_contract(uow, "hangzhou-2025", tenant, contract)
            acc = load_catalog().get(offer.accelerator_id)
            table.add_row(
                f"{offer.id} ({acc.model})", acc.origin,
                str(Money(d.amount_fen, d.currency)), percent(d.rate),
                str(Money(d.subsidy_fen, d.currency)),
                str(Money(d.amount_fen - d.subsidy_fen, d.currency)),
            )  # fmt: skip
    ctx.console.print(table)
