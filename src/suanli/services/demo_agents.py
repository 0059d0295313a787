"""Demo step: real training jobs through local site agents, one falling back, then statements."""

from __future__ import annotations

import shutil
import sys
from typing import Any

from suanli.domain.jobs import JobSpec
from suanli.domain.roles import SYSTEM
from suanli.paths import var_dir
from suanli.services import ledger, runs, settlement
from suanli.services.statements import statement
from suanli.store.uow import UnitOfWork

TENANT = "deepharbor-ai"
VOUCHER = {
    "account_id": f"voucher:runs-demo:{TENANT}",
    "program_id": "hangzhou-2025",
    "rates": {"domestic": "3/10", "foreign": "1/5"},  # Hangzhou: 30 % domestic, 20 % otherwise
}
JOBS = (  # request, offer, extra flags, fallback
    ("demo-train-910b", "bj-zgc-1-910b", [], []),
    ("demo-train-h20", "sz-qh-1-h20", [], []),
    ("demo-train-fallback", "hz-xx-1-910b", ["--fail-at-step", "60", "--fail-on", "huawei"],
     ["foreign"]),
)  # fmt: skip


def _fund(engine: Any) -> None:
    with UnitOfWork(engine) as uow:
        settlement.fund_wallet(uow, TENANT, 1_000_000, "CNY", f"topup:runs-demo:{TENANT}")
        ledger.open_account(uow, "issuer:runs-demo", "issuer", "CNY")
        ledger.open_account(uow, VOUCHER["account_id"], "voucher", "CNY", TENANT)
        ledger.transfer(
            uow,
            f"issue:runs-demo:{TENANT}",
            "issuer:runs-demo",
            VOUCHER["account_id"],
            200_000,
            "CNY",
        )
        uow.commit()


def step_agents(ctx: Any) -> None:
    from suanli.agent.backends.local import LocalBackend
    from suanli.agent.loop import Agent, AgentApi
    from suanli.api.app import in_process_client
    from suanli.cli.agent import print_statement
    from suanli.services.tokens import create_token

    ctx.section("Site agents: real jobs, a fallback, settlement")
    _fund(ctx.engine)
    workdir = var_dir() / "agent-demo"
    shutil.rmtree(workdir, ignore_errors=True)
    for request_id, offer_id, flags, fallback in JOBS:
        command = [sys.executable, "-m", "suanli.agent.jobs.train", "--steps", "100"]
        command += ["--checkpoint-every", "20", "--step-s", "0.01", *flags]
        spec = JobSpec(command=tuple(command), accelerators=16, time_limit_s=600,
                       checkpoint_dir=str(workdir / request_id / "ckpt"))  # fmt: skip
        with UnitOfWork(ctx.engine) as uow:
            runs.submit(uow, SYSTEM, request_id=request_id, tenant_id=TENANT, offer_id=offer_id,
                        spec=spec, fallback=fallback, voucher=VOUCHER)  # fmt: skip
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
