"""32 concurrent clients append to the audit log of a real PostgreSQL: one chain, no gaps.

Half of each client's operations are transfers from one hot issuer account (they queue on its
row lock, then on the log), half token creations (they meet only on the log), so appends race
from every side. Afterwards the chain verifies, every transfer has its entry, and the entry
count is exactly the operations made.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from suanli.domain.roles import SYSTEM
from suanli.services import audit, ledger, tokens
from suanli.store.uow import UnitOfWork

CLIENTS = 32
OPS_PER_CLIENT = 8


def _client(
    engine: Engine, client: int, start: threading.Barrier, errors: list[BaseException]
) -> None:
    start.wait()
    try:
        for op in range(OPS_PER_CLIENT):
            with UnitOfWork(engine) as uow:
                if op % 2:
                    tokens.create_token(uow, "auditor", None, f"client {client} op {op}")
                else:
                    out = ledger.transfer(
                        uow, f"t-{client}-{op}", "issuer", f"wallet-{client}", 100 + op, "CNY"
                    )
                    assert out.ok, out
                uow.commit()
    except BaseException as exc:  # reported by the test, not lost in the thread
        errors.append(exc)


@pytest.mark.postgres
def test_concurrent_writers_keep_one_chain(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent appends are exercised on PostgreSQL")
    with UnitOfWork(engine) as uow:
        ledger.open_account(uow, "issuer", "issuer", "CNY")
        for c in range(CLIENTS):
            ledger.open_account(uow, f"wallet-{c}", "tenant_wallet", "CNY", f"tenant-{c}")
        uow.commit()
    with UnitOfWork(engine, read_only=True) as uow:
        before = audit.head(uow, SYSTEM).seq
    start = threading.Barrier(CLIENTS)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_client, args=(engine, c, start, errors)) for c in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    with UnitOfWork(engine, read_only=True) as uow:
        report = audit.verify(uow, SYSTEM)
        entries = list(audit.export(uow, SYSTEM))
    assert report.ok, report.problem()
    assert report.chain.entries == before + CLIENTS * OPS_PER_CLIENT
    made = [e for e in entries if e.seq > before]
    assert sorted(e.action for e in made).count("ledger.single") == CLIENTS * OPS_PER_CLIENT // 2
    assert len({e.prev_hash for e in entries}) == len(entries)  # no fork: each hash used once
