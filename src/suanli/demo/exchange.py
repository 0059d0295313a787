"""Demo step: a quote for a tenant's job paid partly by its Hangzhou voucher, a few jobs placed
online, and a batch placement of pending requests. The site agents' step then runs them."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from suanli.domain.money import Money
from suanli.domain.roles import SYSTEM, Principal, Role
from suanli.services import batch_placement, exchange, settlement
from suanli.store.uow import UnitOfWork

if TYPE_CHECKING:
    from suanli.demo.context import DemoContext

TENANT = "qiantang-llm"
VOUCHER = "v-hz-qt-1"  # issued by the vouchers step: Hangzhou pays 30 % domestic, 20 % other
WHO = Principal(Role.TENANT, TENANT)
WORKLOAD = {"kind": "finetune", "params_b": 7, "tokens_b": 0.5}


def _request(rid: str, **kw: Any) -> dict[str, Any]:
    command = [sys.executable, "-m", "suanli.agent.jobs.train", "--steps", "60", "--step-s", "0.01"]
    body: dict[str, Any] = {
        "id": rid, "tenant_id": TENANT, "workload": dict(WORKLOAD), "voucher_ids": [VOUCHER],
        "accelerators": 8, "spec": {"command": command},
    }  # fmt: skip
    return {**body, **kw}


def step_exchange(ctx: DemoContext) -> None:
    from suanli.tables import print_quote

    ctx.section("Exchange: a quote with a voucher, online and batch placement")
    with UnitOfWork(ctx.engine) as uow:
        settlement.fund_wallet(uow, TENANT, 2_000_000, "CNY", f"topup:exchange-demo:{TENANT}")
        uow.commit()
    with UnitOfWork(ctx.engine, read_only=True) as uow:
        q = exchange.quote_for(uow, WHO, _request("demo-quote", allow_export_controlled=False))
    print_quote(q, top=5, out=ctx.console)
    shown: set[str] = set()
    for r in q.refused:
        if r.code not in shown and len(shown) < 3:
            shown.add(r.code)
            ctx.console.print(f"  not {r.offer_id}: {r.code} — {r.reason[:110]}", highlight=False)
    for rid, kw in (("demo-x-1", {}), ("demo-x-2", {"objective": "finish_time"}),
                    ("demo-x-3", {"allowed_origins": ["foreign"]})):  # fmt: skip
        with UnitOfWork(ctx.engine) as uow:
            done = exchange.submit(uow, WHO, exchange.request_from_dict(_request(rid, **kw)))
        if done.placement is None or done.run is None:
            ctx.console.print(f"{rid}: {done.status} {done.reason}", highlight=False)
            continue
        row = done.placement.quote
        holds = {p: str(Money(h.amount_fen, "CNY")) for p, h in done.run.holds.items()}
        ctx.console.print(
            f"{rid}: placed on {row['offer_id']} ({row['origin']}), net "
            f"{Money(row['net_fen'], 'CNY')}; held {holds}", highlight=False,
        )  # fmt: skip
    for i, n in enumerate((4, 8, 16)):
        with UnitOfWork(ctx.engine) as uow:
            body = _request(f"demo-b-{i}", accelerators=n, mode="batch")
            exchange.submit(uow, WHO, exchange.request_from_dict(body))
    with UnitOfWork(ctx.engine) as uow:
        report = batch_placement.place_batch(uow, SYSTEM, exchange.load_policy(), time_limit_s=10)
    out = report.to_dict()
    ctx.console.print(
        f"batch: {out['placed_count']} of {out['pending']} placed, objective "
        f"{Money(out['objective'], 'CNY')}, LP bound {Money(out['lp_bound'] or 0, 'CNY')}, "
        f"gap {out['gap']}, {out['status']}, rule violations {len(out['violations'])}",
        highlight=False,
    )
    ctx.console.print(
        "Try: [cyan]suanli quote --tenant qiantang-llm --params-b 7 --voucher v-hz-qt-1[/cyan] · "
        "[cyan]suanli reservations --active[/cyan] · [cyan]suanli place --batch[/cyan]"
    )
