"""A quote through the service, as the API answers it: the registry read from the database,
vouchers and reservations loaded, screening, the quote, and every row and refusal as a dict.

    .venv/bin/python bench/quote_service.py --offers 1000 --samples 200

The world is the demo's (``suanli demo --no-serve`` into a fresh SQLite file, untimed), its
offers cloned with seeded sizes and prices up to ``--offers``; the tenant is the tour's
(qiantang-llm, with its Hangzhou voucher), each sample a new workload. Two ways, taking turns:
``kept`` is the service as it runs (the registry's records, and so the quote's table and
screening, found again while the rows are unchanged); ``afresh`` is the baseline, with what
was kept dropped before each sample. p50/p99 of each, and the ratio of the p50s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

from sqlalchemy import Engine

from suanli.domain.exchange import JobRequest
from suanli.domain.registry import Offer
from suanli.domain.roles import Principal, Role
from suanli.estimate.workload import Workload
from suanli.services import quotes
from suanli.store.db import make_engine
from suanli.store.repositories import registry as repo
from suanli.store.uow import UnitOfWork

TENANT, VOUCHER = "qiantang-llm", "v-hz-qt-1"


def demo_database(folder: str, offers: int, seed: int) -> str:
    url = f"sqlite:///{folder}/demo.db"
    env = {**os.environ, "SUANLI_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "suanli.cli", "demo", "--no-serve"], env=env,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    rng = random.Random(seed)
    engine = make_engine(url)
    with UnitOfWork(engine) as uow:
        base = repo.list_all(uow.conn, Offer)
        for i in range(max(0, offers - len(base))):
            o = base[i % len(base)]
            repo.add(uow.conn, dataclasses.replace(
                o, id=f"bench-{i}", count=rng.choice([8, 16, 64, 128, 512]),
                price_fen_per_accel_hour=o.price_fen_per_accel_hour + rng.randint(0, 800),
            ))  # fmt: skip
        uow.commit()
    engine.dispose()
    return url


def one_ms(engine: Engine, who: Principal, k: int, afresh: bool) -> float:
    if afresh:
        repo._LISTED.clear()
        quotes._VIEWS.clear()
    request = JobRequest(f"q{k}", TENANT, Workload("finetune", 7.0, tokens_b=0.5 + k * 0.01),
                         voucher_ids=(VOUCHER,))  # fmt: skip
    started = time.perf_counter()
    with UnitOfWork(engine, read_only=True) as uow:
        quotes.quote(uow, who, request).to_dict()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offers", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-quote-") as folder:
        engine = make_engine(demo_database(folder, args.offers, args.seed))
        who = Principal(Role.TENANT, TENANT)
        times: dict[str, list[float]] = {"kept": [], "afresh": []}
        for k in range(args.samples):
            for way in ("afresh", "kept"):
                times[way].append(one_ms(engine, who, k, way == "afresh"))
        engine.dispose()
    out: dict[str, object] = {"offers": args.offers, "samples": args.samples}
    for way, ms in times.items():
        cuts = statistics.quantiles(ms, n=100)
        out[f"{way}_ms_p50"], out[f"{way}_ms_p99"] = round(cuts[49], 2), round(cuts[98], 2)
    p50 = {way: statistics.median(ms) for way, ms in times.items()}
    out["kept_over_afresh_p50"] = round(p50["kept"] / p50["afresh"], 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
