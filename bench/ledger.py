"""Ledger transfers per second on SQLite and PostgreSQL, against raw single-row inserts.

For each database, in one run: the baseline is N single-row INSERTs into a plain two-column
table, each committed in its own unit of work; the ledger figure is N transfers, each its own
unit of work (idempotency lookup, two account rows read and locked, the transfer row inserted,
two account rows updated, its audit entry chained and inserted, commit). Both run with the same
number of client threads; the ratio says what the ledger's bookkeeping costs over the cheapest
durable write of that database.
The same transfers are also run with the audit log switched off (no entry drafted, watched or
appended), so ``audit_ratio`` (with / without) says what the log costs a transfer.
Batches: the same transfers in batches of 100 and 1,000 (``services.ledger_batch``, one unit of
work each, one audit entry a batch listing its transfers), against the raw batched insert of the
same database (batches of the same size into the plain table, one unit of work each):
``batch_<size>_ratio``; each the median of three turns of raw and ledger batches, which take
turns so that load on the machine falls on both (a single short turn moved by 2-3 x). Finally
32 client threads mix single transfers and batches on the same hot accounts, and the invariant
breaks are counted (0 expected).
The process settles its heap once set up, as an API worker does (``suanli.runtime``).
The PostgreSQL server is a throwaway one (tests/pg_server.py, fsync off) unless --pg-url is given.

Usage: .venv/bin/python bench/ledger.py [--transfers N] [--clients 1 4] [--pg-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.pg_server

from suanli.domain.audit import verify_chain  # noqa: E402
from suanli.runtime import settle_heap  # noqa: E402
from suanli.services import audit, ledger  # noqa: E402
from suanli.services.ledger_batch import TransferSpec, transfer_batch  # noqa: E402
from suanli.store.audit_buffer import AuditBuffer  # noqa: E402
from suanli.store.db import make_engine  # noqa: E402
from suanli.store.migrate import upgrade  # noqa: E402
from suanli.store.repositories import audit as audit_repo  # noqa: E402
from suanli.store.uow import UnitOfWork  # noqa: E402

WALLETS = 64
BATCH_SIZES = (100, 1000)
ROUNDS = 3  # batch figures: the median of this many turns of raw and ledger batches
STRESS_CLIENTS = 32
raw_meta = MetaData()
raw = Table(
    "bench_raw_inserts",
    raw_meta,
    Column("id", String(64), primary_key=True),
    Column("amount_minor", BigInteger, nullable=False),
)


def create_raw_table(engine: Engine) -> None:
    """The plain table; on PostgreSQL its ids compared as the ledger's are (byte by byte,
    ``tables.base.ledger_id``), set in the database so the client's work is unchanged."""
    raw_meta.create_all(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"ALTER TABLE {raw.name} ALTER COLUMN id"
                f' TYPE varchar({raw.c.id.type.length}) COLLATE "C"'
            )


def _parallel(clients: int, n: int, work: Callable[[int, int], None]) -> float:
    """Run ``work(client, i)`` for n items split over ``clients`` threads; return items/s."""
    start = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def loop(client: int) -> None:
        start.wait()
        try:
            for i in range(client, n, clients):
                work(client, i)
        except BaseException as exc:  # report, do not hide, a failure in a thread
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return n / elapsed


def raw_inserts(engine: Engine, n: int, clients: int) -> float:
    tag = uuid.uuid4().hex[:8]

    def one(_client: int, i: int) -> None:
        with UnitOfWork(engine) as uow:
            uow.conn.execute(insert(raw).values(id=f"{tag}-{i}", amount_minor=i + 1))
            uow.commit()

    return _parallel(clients, n, one)


@contextmanager
def audit_off() -> Iterator[None]:
    """The baseline without the audit log: nothing drafted, watched or appended."""
    saved = audit.record, AuditBuffer.watch, UnitOfWork._append_audit
    audit.record = lambda *_a, **_k: None  # type: ignore[assignment]
    AuditBuffer.watch = lambda _self, _conn: None  # type: ignore[method-assign]
    UnitOfWork._append_audit = lambda _self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        audit.record, AuditBuffer.watch, UnitOfWork._append_audit = saved  # type: ignore[method-assign]


def ledger_transfers(engine: Engine, n: int, clients: int) -> float:
    tag = uuid.uuid4().hex[:8]
    _open_books(engine)

    def one(client: int, i: int) -> None:
        # Issuer -> wallet: each transfer locks the hot issuer row, as a programme's budget would.
        wallet = f"bench:wallet-{(i * 7 + client) % WALLETS}"
        with UnitOfWork(engine) as uow:
            out = ledger.transfer(uow, f"{tag}-{i}", "bench:issuer", wallet, 100 + i % 900, "CNY")
            uow.commit()
        assert out.ok, out

    return _parallel(clients, n, one)


def raw_batched_inserts(engine: Engine, n: int, clients: int, size: int) -> float:
    tag = uuid.uuid4().hex[:8]

    def one(_client: int, b: int) -> None:
        rows = [{"id": f"{tag}-{b}-{i}", "amount_minor": i + 1} for i in range(size)]
        with UnitOfWork(engine) as uow:
            uow.conn.execute(insert(raw), rows)
            uow.commit()

    return _parallel(clients, max(1, n // size), one) * size


def _open_books(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        ledger.open_account(uow, "bench:issuer", "issuer", "CNY")
        for w in range(WALLETS):
            ledger.open_account(uow, f"bench:wallet-{w}", "tenant_wallet", "CNY")
        uow.commit()


def ledger_batches(engine: Engine, n: int, clients: int, size: int) -> float:
    """Batches of ``size`` issuer -> wallet transfers, one unit of work each; transfers/s."""
    tag = uuid.uuid4().hex[:8]
    _open_books(engine)
    wallets = [f"bench:wallet-{w}" for w in range(WALLETS)]  # a caller's accounts, named once

    def one(client: int, b: int) -> None:
        specs = [
            TransferSpec(
                f"{tag}-{b}-{i}",
                "bench:issuer",
                wallets[(i * 7 + b) % WALLETS],
                100 + i % 900,
                "CNY",
            )  # fmt: skip
            for i in range(size)
        ]
        with UnitOfWork(engine) as uow:
            outs = transfer_batch(uow, specs)
            uow.commit()
        assert all(o.ok for o in outs)

    return _parallel(clients, max(1, n // size), one) * size


def stress(engine: Engine, n: int) -> int:
    """32 clients: wallet -> wallet singles and batches on the same accounts; invariant breaks."""
    tag = uuid.uuid4().hex[:8]

    def one(client: int, i: int) -> None:
        a, b = f"bench:wallet-{(i + client) % WALLETS}", f"bench:wallet-{(i * 3 + 1) % WALLETS}"
        with UnitOfWork(engine) as uow:
            if i % 2 and a != b:
                ledger.transfer(uow, f"{tag}-s{i}", a, b, 1 + i % 50, "CNY")
            else:
                specs = [TransferSpec(f"{tag}-b{i}-{k}", f"bench:wallet-{(i + k) % WALLETS}",
                                      f"bench:wallet-{(i + k + 5) % WALLETS}", 1 + k, "CNY")
                         for k in range(20)]  # fmt: skip
                transfer_batch(uow, specs)
            uow.commit()

    _parallel(STRESS_CLIENTS, n, one)
    with UnitOfWork(engine, read_only=True) as uow:
        return len(ledger.check_invariants(uow))


def measure(name: str, url: str, n: int, clients_list: list[int]) -> list[dict[str, Any]]:
    engine = (
        make_engine(url, pool_size=max(*clients_list, STRESS_CLIENTS) + 2, max_overflow=4)
        if (name == "postgresql")
        else make_engine(url)
    )
    upgrade(engine)
    create_raw_table(engine)
    settle_heap()  # as an API worker does once started (suanli.runtime); raw and ledger alike
    rows = []
    for clients in clients_list:
        with audit_off():  # the plain table's rows are no business of the audit log
            raw_inserts(engine, min(n, 200), clients)  # warm the pool and caches
            base = raw_inserts(engine, n, clients)
            bare = ledger_transfers(engine, n, clients)
        led = ledger_transfers(engine, n, clients)
        batched = {}
        for size in BATCH_SIZES:
            raws, leds = [], []
            for _ in range(ROUNDS):  # taking turns, so load on the machine falls on both
                with audit_off():
                    raws.append(raw_batched_inserts(engine, max(n, 4 * size), clients, size))
                leds.append(ledger_batches(engine, max(n, 4 * size), clients, size))
            raw_b, led_b = statistics.median(raws), statistics.median(leds)
            batched |= {
                f"raw_batched_{size}_inserts_per_s": round(raw_b),
                f"batch_{size}_transfers_per_s": round(led_b),
                f"batch_{size}_ratio": round(led_b / raw_b, 3),
                f"batch_{size}_over_single": round(led_b / led, 1),
            }
        rows.append(
            {
                "database": name,
                "clients": clients,
                "transfers": n,
                "raw_inserts_per_s": round(base),
                "transfers_no_audit_per_s": round(bare),
                "transfers_per_s": round(led),
                "ratio": round(led / base, 3),
                "audit_ratio": round(led / bare, 3),
                **batched,
            }
        )
    stress_breaks = stress(engine, max(200, n // 4))
    with UnitOfWork(engine, read_only=True) as uow:
        breaks = ledger.check_invariants(uow)
        chain = verify_chain(audit_repo.all_entries(uow.conn))
    for row in rows:
        row["invariant_breaks"] = len(breaks)
        row[f"invariant_breaks_{STRESS_CLIENTS}_clients"] = stress_breaks
        row["audit_chain_ok"] = chain.ok
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--pg-url", help="PostgreSQL URL (default: a throwaway server)")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        rows += measure("sqlite", f"sqlite:///{tmp}/bench.db", args.transfers, args.clients)
    if not args.skip_pg:
        server = None
        url = args.pg_url
        if url is None:
            from tests.pg_server import PostgresServer

            server = PostgresServer().start()
            url = server.create_database("bench_ledger")
        try:
            rows += measure("postgresql", url, args.transfers, args.clients)
        finally:
            if server is not None:
                server.stop()

    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'database':11} {'clients':>7} {'raw ins/s':>10} {'no audit/s':>11} "
        f"{'transfers/s':>12} {'ratio':>6} {'audit ratio':>11}"
    )
    for r in rows:
        print(
            f"{r['database']:11} {r['clients']:>7} {r['raw_inserts_per_s']:>10} "
            f"{r['transfers_no_audit_per_s']:>11} {r['transfers_per_s']:>12} {r['ratio']:>6} "
            f"{r['audit_ratio']:>11}  breaks={r['invariant_breaks']} chain_ok={r['audit_chain_ok']}"
        )
        for size in BATCH_SIZES:
            print(
                f"{'':11} batch {size:>5}: {r[f'batch_{size}_transfers_per_s']:>8} transfers/s, "
                f"raw batched {r[f'raw_batched_{size}_inserts_per_s']:>8} rows/s, "
                f"ratio {r[f'batch_{size}_ratio']}, x{r[f'batch_{size}_over_single']} single"
            )


if __name__ == "__main__":
    main()
