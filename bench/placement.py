"""Batch placement benchmark: MILP (HiGHS) against greedy and FIFO on one seeded instance.

    python bench/placement.py --requests 10000 --offers 1000 --seed 1 --json

The instance is synthetic (suanli.placement.synthetic): city programs with budgets and a 70 %
domestic floor, a 5 % fair-share cap on scarce models, 14 twelve-hour slots, k cheapest pools
per request. ``lp_bound`` is the LP relaxation over the same candidates.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

import numpy as np

from suanli.placement import synthetic
from suanli.placement.candidates import build_candidates
from suanli.placement.check import violations
from suanli.placement.greedy import fifo, greedy
from suanli.placement.milp import solve_batch
from suanli.placement.model import Instance, Solution


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


def quote_ms(inst: Instance, samples: int, seed: int) -> list[float]:
    """Cost one request against every pool (no pruning): the quote path's candidate costing."""
    rng = np.random.default_rng(seed)
    pools = list(inst.pools)
    policy = replace(inst.policy, candidates_per_request=len(pools))
    times = []
    for i in rng.integers(0, len(inst.requests), samples):
        req = inst.requests[int(i)]
        hours = rng.lognormal(np.log(24), 0.8) / rng.uniform(0.3, 3.0, (1, len(pools)))
        started = time.perf_counter()
        build_candidates(
            [req],
            pools,
            hours,
            policy,
            n_slots=inst.n_slots,
            slot_hours=inst.slot_hours,
            rates=synthetic.RATES,
            max_starts=1,
        )
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--offers", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--quotes", type=int, default=200, help="quote samples for quote_ms_p50")
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
    }
    out.update({k: out["batch"][k] for k in ("seconds", "cost", "lp_bound", "cost_over_lp_bound")})
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name in ("batch", "greedy", "fifo"):
            print(name, out[name])
        print("quote_ms_p50", out["quote_ms_p50"])


if __name__ == "__main__":
    main()
