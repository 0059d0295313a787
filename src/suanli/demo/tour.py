"""The guided tour: a fresh database, the catalog, a demo world, and what to try next.

Each capability adds a step to ``STEPS``; ``run_demo`` plays them in order against one database.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from suanli.demo.agents import step_agents
from suanli.demo.compliance import step_compliance
from suanli.demo.context import DemoContext, Step
from suanli.demo.estimates import step_estimates
from suanli.demo.exchange import step_exchange
from suanli.demo.ledger import step_ledger
from suanli.demo.programs import step_programs
from suanli.demo.vouchers import step_vouchers
from suanli.domain.money import Money
from suanli.domain.registry import Offer, Site
from suanli.domain.roles import SYSTEM
from suanli.paths import var_dir
from suanli.services import registry, tokens
from suanli.services.catalog import load_catalog
from suanli.services.world import load_world
from suanli.store.db import make_engine
from suanli.store.migrate import upgrade
from suanli.store.uow import UnitOfWork


def step_catalog(ctx: DemoContext) -> None:
    catalog = load_catalog()
    domestic = sum(1 for a in catalog.all() if a.origin == "domestic")
    ctx.section("Accelerator catalog")
    ctx.console.print(
        f"{len(catalog)} accelerator models loaded, {domestic} domestic, each with sources. "
        "Try: [cyan]suanli catalog list --origin domestic[/cyan]"
    )


def step_world(ctx: DemoContext) -> None:
    counts = load_world(ctx.engine)
    ctx.section("Demo world: providers, sites, offers, tenants")
    ctx.console.print(
        ", ".join(f"{n} {k}s" for k, n in counts.items()) + f" across {len(_cities(ctx))} cities."
    )
    _offer_table(ctx)


def _cities(ctx: DemoContext) -> set[str]:
    with UnitOfWork(ctx.engine) as uow:
        return {s.city for s in registry.list_records(uow, SYSTEM, Site)}


def _offer_table(ctx: DemoContext) -> None:
    catalog = load_catalog()
    with UnitOfWork(ctx.engine) as uow:
        offers = registry.list_records(uow, SYSTEM, Offer)
    table = Table(title="Cheapest offer per accelerator model")
    for col in ("accelerator", "origin", "offers", "accelerators", "cheapest / accel-hour"):
        table.add_column(col)
    by_model: dict[str, list[Offer]] = {}
    for offer in offers:
        by_model.setdefault(offer.accelerator_id, []).append(offer)
    for acc_id, group in sorted(by_model.items()):
        acc = catalog.get(acc_id)
        cheapest = min(group, key=lambda o: o.price_fen_per_accel_hour)
        table.add_row(
            acc.model,
            acc.origin,
            str(len(group)),
            str(sum(o.count for o in group)),
            str(Money(cheapest.price_fen_per_accel_hour, cheapest.currency)),
        )
    ctx.console.print(table)


def step_tokens(ctx: DemoContext) -> None:
    with UnitOfWork(ctx.engine) as uow:
        ctx.tokens["officer"] = tokens.create_token(uow, "officer", None, "demo officer")
        ctx.tokens["tenant"] = tokens.create_token(uow, "tenant", "deepharbor-ai", "demo tenant")
        ctx.tokens["provider"] = tokens.create_token(
            uow, "provider", "bj-zhongguancun-dc", "demo provider"
        )
        ctx.tokens["auditor"] = tokens.create_token(uow, "auditor", None, "demo auditor")
        uow.commit()


STEPS: list[Step] = [step_catalog, step_world, step_tokens]
STEPS.append(step_estimates)
STEPS.append(step_programs)
STEPS.append(step_vouchers)
STEPS.append(step_exchange)  # before the agents, which then run the placed jobs
STEPS.append(step_agents)
STEPS.append(step_ledger)
STEPS.append(step_compliance)


def step_next(ctx: DemoContext) -> None:
    base = f"http://127.0.0.1:{ctx.port}"
    ctx.section("Try it")
    ctx.console.print(f"API docs:       {base}/docs")
    ctx.console.print(
        f"Accelerators:   curl -H 'Authorization: Bearer $TOKEN' {base}/api/v1/accelerators"
    )
    ctx.console.print(
        f"Offers:         curl -H 'Authorization: Bearer $TOKEN' {base}/api/v1/offers"
    )
    ctx.console.print(f"Database:       SUANLI_DATABASE_URL={ctx.url}")
    for role, token in ctx.tokens.items():
        ctx.console.print(f"{role + ' token:':15} {token}", highlight=False)


def run_demo(console: Console, *, port: int = 8000, db_path: Path | None = None) -> str:
    """Play every step against a fresh SQLite database; return its URL."""
    path = db_path or var_dir() / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    ctx = DemoContext(console=console, engine=engine, url=url, port=port)
    ctx.facts["today"] = date.today()
    for step in [*STEPS, step_next]:
        step(ctx)
    engine.dispose()
    return url
