"""Longer runs of bench/ledger.py's batch figures on PostgreSQL: steadier ratios.

bench/ledger.py times its raw batched baselines over 20 batches of 100 and 4 of 1,000, tens of
milliseconds each, so on a shared machine the baseline alone moves by 2-3x between runs. This
runs the same two functions (``raw_batched_inserts`` and ``ledger_batches``) on a throwaway
PostgreSQL server (tests/pg_server.py, fsync off), alternating raw and ledger for ``--rounds``
rounds, over more transfers, and prints the medians and every round as JSON. It also shows how a
batch's rate holds up as the transfers table grows.

Usage: .venv/bin/python bench/ledger_batches_long.py [--clients 1] [--rounds 3]
           [--per-size 100=20000 1000=30000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.ledger, tests.pg_server

from bench.ledger import (  # noqa: E402
    audit_off,
    create_raw_table,
    ledger_batches,
    raw_batched_inserts,
)
from tests.pg_server import PostgresServer  # noqa: E402

from suanli.runtime import settle_heap  # noqa: E402
from suanli.store.db import make_engine  # noqa: E402
from suanli.store.migrate import upgrade  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-size", nargs="+", default=["100=20000", "1000=30000"],
                        help="batch size = transfers per round")  # fmt: skip
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in item.split("=")) for item in args.per_size]
    server = PostgresServer().start()
    out: dict[str, dict[str, object]] = {}
    try:
        engine = make_engine(server.create_database("bench_long"), pool_size=args.clients + 2)
        upgrade(engine)
        create_raw_table(engine)
        settle_heap()  # as bench/ledger.py (and an API worker) does
        with audit_off():  # warm the pool and caches, as bench/ledger.py does
            raw_batched_inserts(engine, 2000, args.clients, 100)
        ledger_batches(engine, 2000, args.clients, 100)
        for size, n in sizes:
            raws, ledgers = [], []
            for _ in range(args.rounds):
                with audit_off():
                    raws.append(raw_batched_inserts(engine, n, args.clients, size))
                ledgers.append(ledger_batches(engine, n, args.clients, size))
            raw, led = statistics.median(raws), statistics.median(ledgers)
            out[str(size)] = {
                "raw_batched_inserts_per_s": round(raw),
                "batch_transfers_per_s": round(led),
                "ratio": round(led / raw, 3),
                "raw_rounds": [round(x) for x in raws],
                "batch_rounds": [round(x) for x in ledgers],
            }
        engine.dispose()
    finally:
        server.stop()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
