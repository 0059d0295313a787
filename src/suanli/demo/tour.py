"""The guided tour: a fresh database, the catalog, a demo world, and what to try next.

Each capability adds a step to ``STEPS``; ``run_demo`` plays them in order against one database.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from suanli.demo.agents import step_agents
from suanli.demo.compliance import step_compliance
from suanli.demo.context import DemoContext, Step
from suanli.demo.estimates import step_estimates
from suanli.demo.exchange import step_exchange
from suanli.demo.ledger import step_ledger
from suanli.demo.programs import step_programs
from suanli.demo.vouchers import step_vouchers
from suanli.domain.money import Money
from suanli.domain.registry import Offer, Site, Tenant
from suanli.domain.roles import SYSTEM
from suanli.errors import ConflictError
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


# Each role's token, for whom: the tenant holds an open-ended voucher (Hangzhou's) and settled
# runs this month, so what it quotes and reads has something in it.
TOKEN_ORGS = {
    "officer": None,
    "tenant": "qiantang-llm",
    "provider": "bj-zhongguancun-dc",
    "auditor": None,
}


def step_tokens(ctx: DemoContext) -> None:
    with UnitOfWork(ctx.engine) as uow:
        for role, org in TOKEN_ORGS.items():
            ctx.tokens[role] = tokens.create_token(uow, role, org, f"demo {role}")
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
    ctx.console.print(f"API docs:       {base}/docs", highlight=False)
    # Double quotes, so the shell expands $TOKEN (set it to one of the tokens below).
    for what, path in (("Accelerators:", "accelerators"), ("Offers:", "offers")):
        ctx.console.print(
            f'{what:15} curl -H "Authorization: Bearer $TOKEN" {base}/api/v1/{path}',
            highlight=False,
        )
    ctx.console.print(f"Database:       SUANLI_DATABASE_URL={ctx.url}", highlight=False)
    ctx.console.print("Each role's organisation, dashboard page (sign in with its token), token:")
    for role, token in ctx.tokens.items():
        org = TOKEN_ORGS.get(role) or "all organisations"
        ctx.console.print(f"{role + ' token':15} {org:20} {base}/{role:9} {token}", highlight=False)


def demo_url(url: str | None = None) -> str:
    """Where the tour plays: the URL given (SUANLI_DATABASE_URL), else ``var/demo.db``."""
    return url or f"sqlite:///{var_dir() / 'demo.db'}"


def run_demo(console: Console, *, port: int = 8000, url: str | None = None) -> str:
    """Play every step against a fresh database; return its URL. The demo's own SQLite file
    (``var/demo.db``) is made afresh; any other database must hold no registry yet."""
    url = demo_url(url)
    default = var_dir() / "demo.db"
    path = make_url(url).database if make_url(url).get_backend_name() == "sqlite" else None
    if path and Path(path).resolve() == default.resolve():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{default}{suffix}").unlink(missing_ok=True)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with UnitOfWork(engine) as uow:
            if registry.list_records(uow, SYSTEM, Tenant, include_retired=True):
                raise ConflictError(
                    f"the demo needs an empty database and {url} already holds tenants: "
                    "point SUANLI_DATABASE_URL at a new file, or unset it for var/demo.db"
                )
        ctx = DemoContext(console=console, engine=engine, url=url, port=port)
        ctx.facts["today"] = date.today()
        for step in [*STEPS, step_next]:
            step(ctx)
    finally:
        engine.dispose()
    return url
