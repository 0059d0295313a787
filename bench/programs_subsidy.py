"""Subsidy on 1,000 synthetic offers for one tenant under each compute program.

Baseline in the same run: the same programs with rule memoisation turned off, so every rule
runs the CEL engine on every offer. Usage: .venv/bin/python bench/programs_subsidy.py [--offers N]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date
from fractions import Fraction

from suanli.domain.registry import Tenant
from suanli.domain.subsidy import compute_subsidy
from suanli.domain.subsidy_facts import Contract
from suanli.services.catalog import load_catalog
from suanli.services.programs import load_programs

TENANT = Tenant(
    "bench-ai", "Bench AI", "Beijing", date(2023, 1, 1), 40, 10**9, "CNY", "ai-model", True
)


def offers(n: int, seed: int = 7) -> list[tuple[Contract, object]]:
    rng = random.Random(seed)
    accs = load_catalog().all()
    providers = [f"provider-{i}" for i in range(20)]
    out = []
    for _ in range(n):
        acc = rng.choice(accs)
        hours = rng.randint(100, 100_000)
        out.append(
            (
                Contract(
                    rng.choice(providers), acc.id, Fraction(hours),
                    hours * rng.randint(300, 2600), "CNY", date(2025, 9, 1),
                    date(2026, 6, 1), "Beijing",
                ),
                acc,
            )
        )  # fmt: skip
    return out


def run(program: object, batch: list[tuple[Contract, object]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for contract, acc in batch:
            compute_subsidy(program, TENANT, contract, acc)  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    batch = offers(args.offers)
    programs = [p for p in load_programs().values() if p.kind == "compute-voucher"]
    print(f"{args.offers} offers, best of {args.repeat}; ms per quote (all offers)")
    print(f"{'program':32} {'memoised':>10} {'no memo':>10} {'ratio':>7}")
    for program in programs:
        fast = run(program, batch, args.repeat)
        slow = run_uncached(program, batch, args.repeat)
        print(f"{program.id:32} {fast * 1e3:10.2f} {slow * 1e3:10.2f} {slow / fast:6.1f}x")


def run_uncached(program: object, batch: list[tuple[Contract, object]], repeat: int) -> float:
    checks = [*program.eligibility, *(c.when for c in program.classes)]  # type: ignore[attr-defined]
    saved = [(r.check, r.check._reads) for r in checks]
    for r in checks:
        r.check._reads = None  # no memo key: straight to the engine
    try:
        return run(program, batch, repeat)
    finally:
        for check, reads in saved:
            check._reads = reads


if __name__ == "__main__":
    main()
