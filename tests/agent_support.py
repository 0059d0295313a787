"""Shared set-up for run and agent tests: money in the ledger, a training command, an agent."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from suanli.agent.backends.base import Backend
from suanli.agent.loop import Agent, AgentApi
from suanli.domain.runs import VoucherTerms
from suanli.services import ledger, settlement
from suanli.services.tokens import create_token
from suanli.store.uow import UnitOfWork

TENANT = "deepharbor-ai"
RATES = {"domestic": "3/10", "foreign": "1/5"}


def fund(engine: Engine, tenant: str = TENANT, wallet_fen: int = 500_000, voucher_fen: int = 200_000
         ) -> VoucherTerms:  # fmt: skip
    """Top up the tenant's wallet and give it a voucher; return the voucher rule for its jobs."""
    voucher_id = f"voucher:test-program:{tenant}"
    with UnitOfWork(engine) as uow:
        settlement.fund_wallet(uow, tenant, wallet_fen, "CNY", f"topup:{tenant}")
        ledger.open_account(uow, "issuer:test-program", "issuer", "CNY")
        ledger.open_account(uow, voucher_id, "voucher", "CNY", tenant)
        ledger.transfer(
            uow, f"issue:{tenant}", "issuer:test-program", voucher_id, voucher_fen, "CNY"
        )
        uow.commit()
    rates = {origin: Fraction(rate) for origin, rate in RATES.items()}
    return VoucherTerms(voucher_id, voucher_id, "test-program", rates)


def train_command(steps: int = 40, step_s: float = 0.0, **flags: Any) -> list[str]:
    cmd = [sys.executable, "-m", "suanli.agent.jobs.train", "--steps", str(steps)]
    cmd += ["--checkpoint-every", "10", "--step-s", str(step_s)]
    for name, value in flags.items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    return cmd


def agent_token(engine: Engine, site_id: str) -> str:
    with UnitOfWork(engine) as uow:
        token = create_token(uow, "agent", site_id)
        uow.commit()
    return token


def make_agent(http: Any, engine: Engine, site_id: str, backend: Backend, workdir: Path,
               **kw: Any) -> Agent:  # fmt: skip
    api = AgentApi(http, agent_token(engine, site_id))
    return Agent(api, backend, site_id, workdir, poll_s=0.05, report_s=0.5, **kw)


def ledger_breaks(engine: Engine) -> list[str]:
    with UnitOfWork(engine, read_only=True) as uow:
        return ledger.check_invariants(uow)
