"""32 concurrent clients spend one voucher on a real PostgreSQL: never overspent, nothing twice.

Each client makes single spends and hold-then-post spends whose total far exceeds the voucher.
Clients work in pairs that send half their requests under the same transfer ids (a retry racing
the original), so a double post would show as one id answered ``ok`` twice.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine

from suanli.ledger.model import TransferOutcome, TransferResult
from suanli.services import ledger
from suanli.store.uow import UnitOfWork

CLIENTS = 32
OPS_PER_CLIENT = 8
FUNDED = 100_000  # 1,000.00 CNY on the voucher


def _run(engine: Engine, fn: Any, *args: Any, **kwargs: Any) -> TransferOutcome:
    with UnitOfWork(engine) as uow:
        out: TransferOutcome = fn(uow, *args, **kwargs)
        uow.commit()
    return out


def _client(
    engine: Engine, client: int, start: threading.Barrier, log: list[tuple[str, Any]]
) -> None:
    start.wait()
    for op in range(OPS_PER_CLIENT):
        # Even ops are shared with the partner client; the content follows from the id alone.
        key = f"{client // 2}-{op}" if op % 2 == 0 else f"{client}-{op}-solo"
        rng = random.Random(key)
        amount = rng.randint(500, 2_500)
        if rng.random() < 0.5:
            out = _run(
                engine, ledger.transfer, f"spend-{key}", "voucher", "receivable", amount, "CNY"
            )
            log.append((f"spend-{key}", out))
            continue
        hold = _run(
            engine,
            ledger.transfer,
            f"hold-{key}",
            "voucher",
            "receivable",
            amount,
            "CNY",
            pending=True,
            timeout_s=300,
        )
        log.append((f"hold-{key}", hold))
        if rng.random() < 0.2:
            log.append(
                (f"void-{key}", _run(engine, ledger.void_pending, f"void-{key}", f"hold-{key}"))
            )
        else:
            part = amount * rng.randint(60, 100) // 100
            out = _run(engine, ledger.post_pending, f"post-{key}", f"hold-{key}", part)
            log.append((f"post-{key}", out))


@pytest.mark.postgres
def test_concurrent_clients_never_overspend_a_voucher(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock concurrency is exercised on PostgreSQL")
    with UnitOfWork(engine) as uow:
        ledger.open_account(uow, "issuer", "issuer", "CNY")
        ledger.open_account(uow, "voucher", "voucher", "CNY", "deepharbor-ai")
        ledger.open_account(uow, "receivable", "provider_receivable", "CNY", "dc")
        assert ledger.transfer(uow, "fund", "issuer", "voucher", FUNDED, "CNY").ok
        uow.commit()

    logs: list[list[tuple[str, Any]]] = [[] for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    threads = [
        threading.Thread(target=_client, args=(engine, i, start, logs[i])) for i in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    outcomes = [entry for log in logs for entry in log]
    assert len(outcomes) >= CLIENTS * OPS_PER_CLIENT  # every client finished without an error

    results = Counter(out.result for _, out in outcomes)
    assert results[TransferResult.INSUFFICIENT_FUNDS] > 0  # demand exceeded the voucher
    assert results[TransferResult.EXISTS] > 0  # partners raced on shared ids

    applied = Counter(tid for tid, out in outcomes if out.result is TransferResult.OK)
    assert max(applied.values()) == 1  # no transfer id was applied twice
    spent = sum(
        out.transfer.amount_minor
        for tid, out in outcomes
        if out.result is TransferResult.OK and tid.startswith(("spend-", "post-"))
    )
    with UnitOfWork(engine) as uow:
        voucher = ledger.balance(uow, "voucher")
        receivable = ledger.balance(uow, "receivable")
        assert ledger.check_invariants(uow) == []
    assert voucher.pending_minor == 0  # every hold was posted or voided
    assert FUNDED - voucher.posted_minor == spent == receivable.posted_minor
    assert voucher.available_minor >= 0 and spent <= FUNDED
