"""Quote latency over 1,000 offers for a tenant with two vouchers: p50 and p99.

    .venv/bin/python bench/quote.py --offers 1000 --samples 1000 --seed 1 [--profile] [--json]

The world is bench/placement.py's (the instance's pools as registry offers at 20 providers, a
Hangzhou start-up, a capacity calendar with reservations on a tenth of the offers); the tenant
holds two vouchers, Hangzhou's (30 % domestic, 20 % foreign, one accredited provider) and
Shanghai's (30 %, any provider, a rule on the contract's hours). Each sample is a new workload,
so nothing is memoised across samples by workload; timed as a quote runs in-process: screening
of every offer, the estimate per offer, both vouchers' subsidies, refusals, sorting, and the
explanation lines of the top rows. Not timed: reading the offers from the database.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from placement import SHANGHAI, _quote_world  # noqa: E402
from suanli.domain.compliance import screen_offers  # noqa: E402
from suanli.domain.exchange import Busy, JobRequest  # noqa: E402
from suanli.domain.quotes import EXPLAIN_TOP, quote_offers  # noqa: E402
from suanli.domain.subsidy_plan import VoucherView  # noqa: E402
from suanli.estimate.workload import Workload  # noqa: E402
from suanli.placement import synthetic  # noqa: E402
from suanli.services.catalog import load_catalog  # noqa: E402
from suanli.services.compliance import load_rules  # noqa: E402
from suanli.services.estimates import default_model  # noqa: E402
from suanli.services.programs import get_program  # noqa: E402


def samples_ms(offers: int, samples: int, seed: int, profile: bool) -> list[float]:
    inst = synthetic.instance(max(100, offers), offers, seed)
    views, tenant, vouchers = _quote_world(inst, seed)
    vouchers = [*vouchers, VoucherView("v-2", get_program(SHANGHAI), "voucher:v-2", 10**9, "CNY")]
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    busy = {
        v.offer.id: [Busy(now, now + timedelta(hours=8), v.offer.count // 2)] for v in views[::10]
    }
    model, catalog, book = default_model(), load_catalog(), load_rules()
    pairs = [(v.offer, v.site) for v in views]
    times = []
    profiler = cProfile.Profile() if profile else None
    for _ in range(samples):
        params = float(rng.choice([1, 7, 13, 34, 70]))
        workload = Workload("finetune", params, tokens_b=float(rng.uniform(0.1, 5)))
        request = JobRequest("bench", tenant.id, workload, voucher_ids=("v-1", "v-2"))
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        flags = screen_offers(book, pairs, catalog, {}, now.date())
        q = quote_offers(request, views, tenant, vouchers, busy, now, catalog=catalog,
                         model=model, flags=flags)  # fmt: skip
        for row in q.rows[:EXPLAIN_TOP]:
            row.subsidy_lines  # noqa: B018  (written when first read)
        times.append((time.perf_counter() - started) * 1000)
        if profiler:
            profiler.disable()
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offers", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the samples")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    times = samples_ms(args.offers, args.samples, args.seed, args.profile)
    cuts = statistics.quantiles(times, n=100)
    out = {"offers": args.offers, "vouchers": 2, "samples": args.samples,
           "quote_ms_p50": round(cuts[49], 3), "quote_ms_p99": round(cuts[98], 3),
           "quote_ms_max": round(max(times), 3)}  # fmt: skip
    print(json.dumps(out, indent=2) if args.json else out)


if __name__ == "__main__":
    main()
