"""A program's statement reconciles with the ledger: on seeded random runs, each program's total
for the month equals what its vouchers' accounts paid out, and it lists only what it paid."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from suanli.domain.roles import SYSTEM
from suanli.services import exchange, ledger, runs, statements
from suanli.store.uow import UnitOfWork
from tests.integration.exchange_support import WHO, give_voucher, request
from tests.reconcile_support import mismatches


def _settle(engine, run_id: str, site_id: str, accelerator_s: float, exit_class: str) -> None:
    with UnitOfWork(engine) as uow:
        leased = runs.lease_next(uow, site_id, "agent-1", 60)
        uow.commit()
    assert leased is not None and leased.run.id == run_id
    lease_id = leased.run.lease_id or ""
    with UnitOfWork(engine) as uow:
        runs.report_usage(uow, run_id, lease_id, 1, accelerator_seconds=accelerator_s,
                          wall_seconds=accelerator_s)  # fmt: skip
        runs.complete(uow, run_id, lease_id, exit_class)
        uow.commit()


def test_program_statements_equal_the_ledger_on_random_runs(world, engine) -> None:
    give_voucher(engine)
    rng = random.Random(20261202)
    for i in range(6):
        with UnitOfWork(engine) as uow:
            done = exchange.submit(uow, WHO, exchange.request_from_dict(request(f"rr-{i}")))
        assert done.run is not None, done.reason
        accelerator_s = rng.choice([0.0, rng.uniform(1, 20_000)])  # some use nothing at all
        exit_class = rng.choice(["success", "user_error"])
        _settle(engine, done.run.id, done.run.site_id, accelerator_s, exit_class)
    month = datetime.now(UTC).strftime("%Y-%m")
    assert mismatches(engine, month) == []
    with UnitOfWork(engine, read_only=True) as uow:
        shown = statements.statement(uow, SYSTEM, month, program="hangzhou-2025").to_dict()
        assert ledger.check_invariants(uow) == []
    assert shown["lines"] and all(x["voucher_fen"] > 0 for x in shown["lines"])
