"""Batch placement benchmark: MILP (HiGHS) against greedy and FIFO on one seeded instance.

    python bench/placement.py --requests 10000 --offers 1000 --seed 1 --json

The instance is synthetic (suanli.placement.synthetic): city programs with budgets and a 70 %
domestic floor, a 5 % fair-share cap on scarce models, 14 twelve-hour slots, 100 offers drawn
per request and its k cheapest kept. ``lp_bound`` is the LP relaxation over the same candidates
(solved by column generation, so it is the bound over all of them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np

from suanli.domain.compliance import screen_offers
from suanli.domain.exchange import Busy, JobRequest
from suanli.domain.quotes import EXPLAIN_TOP, quote_offers
from suanli.domain.registry import Offer, Provider, Site, Tenant
from suanli.domain.subsidy_plan import OfferView, VoucherView, clear_rule_cache
from suanli.estimate.workload import Workload
from suanli.placement import synthetic
from suanli.placement.check import violations
from suanli.placement.greedy import fifo, greedy
from suanli.placement.milp import solve_batch
from suanli.placement.model import Instance, Solution
from suanli.services.catalog import load_catalog
from suanli.services.compliance import load_rules
from suanli.services.estimates import default_model
from suanli.services.programs import get_program

SHANGHAI = "shanghai-2025"


def _row(inst: Instance, sol: Solution, lp_bound: float) -> dict[str, object]:
    return {
        "seconds": round(sol.seconds, 3),
        "cost": round(sol.objective),
        "lp_bound": round(lp_bound),
        "cost_over_lp_bound": round(sol.objective / lp_bound, 5),
        "placed": sol.placed,
        "status": sol.status,
        "violations": len(violations(inst, sol.choice)),
    }


def _quote_world(
    inst: Instance, seed: int, program_id: str = "hangzhou-2025"
) -> tuple[list[OfferView], Tenant, list[VoucherView]]:
    """The instance's pools as registry offers at 20 providers (one of them Hangzhou's accredited
    centre), a Hangzhou start-up, and its voucher: Hangzhou's (30 % domestic, 20 % foreign, one
    accredited provider) or, with ``shanghai-2025``, Shanghai's (30 %, any provider, a rule on
    the contract's hours, so every offer is priced and its rule read per offer)."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    providers = [Provider("hz-xixi-compute", "Xixi", "Hangzhou")] + [
        Provider(f"provider-{i}", f"Provider {i}", "Shanghai") for i in range(19)
    ]
    views = []
    for j, pool in enumerate(inst.pools):
        provider = providers[j % len(providers)]
        site = Site(f"site-{j % 40}", provider.id, "hall", provider.city,
                    pue=float(rng.uniform(1.1, 1.5)))  # fmt: skip
        # Chips bought before every export rule: screened in full, none left out, so the
        # figure compares with earlier runs (the warnings on H20s are still noted on rows).
        offer = Offer(pool.id, site.id, pool.accelerator_id, pool.count,
                      pool.price_fen_per_accel_hour, "CNY", now - timedelta(days=1),
                      now + timedelta(days=365), acquired_on=date(2021, 1, 1))  # fmt: skip
        views.append(OfferView(offer, site, provider))
    tenant = Tenant("qiantang-llm", "Qiantang", "Hangzhou", date(2024, 1, 10), 22,
                    300_000_000, "CNY", "ai-model", True)  # fmt: skip
    program = get_program(program_id)
    voucher = VoucherView("v-1", program, "voucher:v-1", 10**9, "CNY")
    return views, tenant, [voucher]


def quote_ms(
    inst: Instance,
    samples: int,
    seed: int,
    *,
    fast: bool = True,
    cold: bool = False,
    program_id: str = "hangzhou-2025",
) -> list[float]:
    """The quote service's path over every offer, in-process: the estimator on each offer (a new
    workload each sample, so nothing is memoised across samples), the voucher program's subsidy,
    a capacity calendar with reservations on a tenth of the offers, refusals, sorting, and the
    explanation lines of the top rows (read, as the API and CLI do). Warm: program decisions
    per (provider, chip) are reused from the tenant's earlier quotes that day; cold: decided
    afresh. Not timed: reading the offers from the database."""
    views, tenant, vouchers = _quote_world(inst, seed, program_id)
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    busy = {
        v.offer.id: [Busy(now, now + timedelta(hours=8), v.offer.count // 2)] for v in views[::10]
    }
    model = default_model()
    catalog = load_catalog()
    book = load_rules()
    times = []
    for _ in range(samples):
        params = float(rng.choice([1, 7, 13, 34, 70]))
        workload = Workload("finetune", params, tokens_b=float(rng.uniform(0.1, 5)))
        request = JobRequest("bench", tenant.id, workload, voucher_ids=("v-1",))
        if cold:  # the tenant's first quote of the day: no program decisions to reuse
            clear_rule_cache()
        started = time.perf_counter()  # screening included: a quote screens its offers
        flags = screen_offers(book, [(v.offer, v.site) for v in views], catalog, {}, now.date())
        q = quote_offers(request, views, tenant, vouchers, busy, now, catalog=catalog,
                         model=model, fast_subsidy=fast, flags=flags)  # fmt: skip
        for row in q.rows[:EXPLAIN_TOP]:
            row.subsidy_lines  # noqa: B018  (written when first read)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--offers", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=170.0, help="the batch's, in seconds")
    ap.add_argument("--quotes", type=int, default=100, help="quote samples for quote_ms_p50")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()
    inst = synthetic.instance(args.requests, args.offers, args.seed)
    build_s = time.perf_counter() - started
    batch = solve_batch(inst, time_limit_s=args.time_limit)
    bound = batch.lp_bound or float("nan")
    out = {
        "requests": args.requests,
        "offers": args.offers,
        "seed": args.seed,
        "candidates": len(inst.candidates),
        "build_seconds": round(build_s, 3),
        "batch": _row(inst, batch, bound),
        "greedy": _row(inst, greedy(inst), bound),
        "fifo": _row(inst, fifo(inst), bound),
        "quote_ms_p50": round(statistics.median(quote_ms(inst, args.quotes, args.seed)), 3),
        "quote_ms_p50_cold": round(
            statistics.median(quote_ms(inst, args.quotes, args.seed, cold=True)), 3
        ),
        "quote_ms_p50_full_subsidy": round(
            statistics.median(quote_ms(inst, args.quotes, args.seed, fast=False)), 3
        ),
        "quote_ms_p50_shanghai": round(
            statistics.median(quote_ms(inst, args.quotes, args.seed, program_id=SHANGHAI)), 3
        ),
        "quote_ms_p50_shanghai_full_subsidy": round(
            statistics.median(
                quote_ms(inst, args.quotes, args.seed, fast=False, program_id=SHANGHAI)
            ),
            3,
        ),
    }
    out.update({k: out["batch"][k] for k in ("seconds", "cost", "lp_bound", "cost_over_lp_bound")})
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name in ("batch", "greedy", "fifo"):
            print(name, out[name])
        print("quote_ms_p50", out["quote_ms_p50"])
        for key in ("quote_ms_p50_cold", "quote_ms_p50_full_subsidy", "quote_ms_p50_shanghai",
                    "quote_ms_p50_shanghai_full_subsidy"):  # fmt: skip
            print(key, out[key])


if __name__ == "__main__":
    main()
