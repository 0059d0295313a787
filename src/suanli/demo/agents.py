"""Demo step: real training jobs through local site agents, one falling back, then statements."""

from __future__ import annotations

import shutil
import sys
from typing import Any

from suanli.domain.exchange import JobRequest
from suanli.domain.jobs import JobSpec
from suanli.domain.roles import SYSTEM
from suanli.paths import var_dir
from suanli.services import exchange, settlement
from suanli.services.statements import statement
from suanli.store.uow import UnitOfWork

TENANT = "deepharbor-ai"
HANGZHOU_TENANT, HANGZHOU_VOUCHER = "qiantang-llm", "v-hz-qt-1"  # from the vouchers step
# request, tenant, offer, extra flags, fallback, vouchers. Hangzhou's voucher pays its share at
# the Xixi site its program accredits (and nothing where the fallback lands outside Hangzhou);
# deepharbor-ai's runs are paid from its wallet.
JOBS: tuple[tuple[str, str, str, list[str], list[str], list[str]], ...] = (
    ("demo-train-910b", TENANT, "bj-zgc-1-910b", [], [], []),
    ("demo-train-h20", TENANT, "sz-qh-1-h20", [], [], []),
    ("demo-train-fallback", HANGZHOU_TENANT, "hz-xx-1-910b",
     ["--fail-at-step", "60", "--fail-on", "huawei"], ["foreign"], [HANGZHOU_VOUCHER]),
)  # fmt: skip


def _fund(engine: Any) -> None:
    with UnitOfWork(engine) as uow:
        for tenant in (TENANT, HANGZHOU_TENANT):
            settlement.fund_wallet(uow, tenant, 1_000_000, "CNY", f"topup:runs-demo:{tenant}")
        uow.commit()


def _submit(ctx: Any, workdir: Any) -> None:
    for request_id, tenant, offer_id, flags, fallback, vouchers in JOBS:
        command = [sys.executable, "-m", "suanli.agent.jobs.train", "--steps", "100"]
        command += ["--checkpoint-every", "20", "--step-s", "0.01", *flags]
        spec = JobSpec(command=tuple(command), accelerators=16, time_limit_s=600,
                       checkpoint_dir=str(workdir / request_id / "ckpt"))  # fmt: skip
        request = JobRequest(
            request_id, tenant, None, accelerators=16, duration_s=600, offer_ids=(offer_id,),
            voucher_ids=tuple(vouchers), spec=spec, fallback=tuple(fallback),
        )  # fmt: skip
        with UnitOfWork(ctx.engine) as uow:
            done = exchange.submit(uow, SYSTEM, request)
        if not done.ok:
            ctx.console.print(f"  {request_id}: refused: {done.reason}", highlight=False)


def step_agents(ctx: Any) -> None:
    from suanli.agent.backends.local import LocalBackend
    from suanli.agent.loop import Agent, AgentApi
    from suanli.api.app import in_process_client
    from suanli.services.tokens import create_token
    from suanli.tables import print_statement

    ctx.section("Site agents: real jobs, a fallback, settlement")
    _fund(ctx.engine)
    workdir = var_dir() / "agent-demo"
    shutil.rmtree(workdir, ignore_errors=True)
    _submit(ctx, workdir)
    http = in_process_client(ctx.engine)
    agents: dict[str, Agent] = {}
    while queued := _queued_sites(ctx.engine):
        for site in queued:
            if site not in agents:
                with UnitOfWork(ctx.engine) as uow:
                    token = create_token(uow, "agent", site, "demo agent")
                    uow.commit()
                agents[site] = Agent(
                    AgentApi(http, token), LocalBackend(devices=64), site, workdir,
                    agent_id=f"demo-agent@{site}", poll_s=0.05, report_s=0.5,
                    log=lambda line: ctx.console.print("  " + line, highlight=False),
                )  # fmt: skip
            agents[site].run_once()
    month = ctx.facts["today"].strftime("%Y-%m")
    with UnitOfWork(ctx.engine, read_only=True) as uow:
        for party in ({"tenant": TENANT}, {"provider": "hz-xixi-compute"}):
            print_statement(statement(uow, SYSTEM, month, **party), ctx.console)
    ctx.console.print(
        "Try: [cyan]suanli statement --program hangzhou-2025 --csv[/cyan] · "
        "[cyan]suanli agent run --site bj-zgc-1 --backend local[/cyan]"
    )


def _queued_sites(engine: Any) -> list[str]:
    from sqlalchemy import select

    from suanli.store.tables.runs import runs as table

    with UnitOfWork(engine, read_only=True) as uow:
        rows = uow.conn.execute(select(table.c.site_id).where(table.c.status == "queued"))
        return sorted({r.site_id for r in rows})
