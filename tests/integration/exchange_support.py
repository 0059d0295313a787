"""Shared set-up for exchange tests: a Hangzhou voucher for a tenant, a funded wallet, requests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Engine, func, select

from suanli.domain.roles import SYSTEM, Principal, Role
from suanli.domain.subsidy_facts import Contract
from suanli.services import applications as apps
from suanli.services import ledger, settlement
from suanli.store.tables.exchange import job_requests, placements, reservations
from suanli.store.tables.ledger import ledger_transfers as transfers
from suanli.store.tables.runs import runs
from suanli.store.uow import UnitOfWork

TENANT = "qiantang-llm"  # a Hangzhou start-up; hangzhou-2025 accredits hz-xixi-compute only
VOUCHER = "v-hz-1"
WHO = Principal(Role.TENANT, TENANT)
WORKLOAD = {"kind": "finetune", "params_b": 1, "tokens_b": 0.05}


def give_voucher(engine: Engine, amount_fen: int = 2_000_000, wallet_fen: int = 5_000_000) -> str:
    """Apply to hangzhou-2025, approve, and top up the wallet; returns the voucher id."""
    day = date(2025, 3, 3)
    at = datetime(2025, 3, 3, tzinfo=UTC)
    contract = Contract("hz-xixi-compute", "910B", Fraction(10_000), 9_000_000, "CNY", day)
    with UnitOfWork(engine) as uow:
        apps.apply(
            uow, SYSTEM, application_id="hz-1", program_id="hangzhou-2025", tenant_id=TENANT,
            requested_fen=amount_fen, contract=contract, now=at,
        )  # fmt: skip
    with UnitOfWork(engine) as uow:
        out = apps.review(uow, Principal(Role.REVIEWER, None), "hz-1", "approve", now=at)
        assert out.ok, out.reason
        voucher = out.voucher
        assert voucher is not None
    if wallet_fen:
        with UnitOfWork(engine) as uow:
            settlement.fund_wallet(uow, TENANT, wallet_fen, "CNY", f"topup:{TENANT}")
            uow.commit()
    return voucher.id


def request(rid: str = "r-1", **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": rid,
        "tenant_id": TENANT,
        "workload": dict(WORKLOAD),
        "voucher_ids": [VOUCHER],
        "spec": {"command": ["true"]},
    }
    body.update(kw)
    return body


def available(engine: Engine, account_id: str) -> int:
    with UnitOfWork(engine, read_only=True) as uow:
        return ledger.balance(uow, account_id).available_minor


def counts(engine: Engine) -> dict[str, int]:
    """Rows in the tables a submission writes: a refusal must leave them all unchanged."""
    with UnitOfWork(engine, read_only=True) as uow:
        return {
            t.name: uow.conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (job_requests, reservations, placements, runs, transfers)
        }
