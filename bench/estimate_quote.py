"""Time the estimator's per-offer path: one workload against N offers, as a quote does.

    .venv/bin/python bench/estimate_quote.py --offers 1000 --repeats 20

Offers cycle over every catalog model with a bf16 peak and memory, each with its own price, PUE
and size. "cold" clears the per-model memo first (a new workload); "warm" repeats the same
workload; the baseline is a bare loop that predicts the hours of every offer on 8 chips and
prices them, with no memo, memory plan, precision check or result object.
"""

from __future__ import annotations

import argparse
import statistics
import time

from suanli.estimate import mfu
from suanli.estimate.api import estimate_checked
from suanli.estimate.workload import Workload
from suanli.services.catalog import load_catalog
from suanli.services.estimates import default_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    chips = [a for a in load_catalog() if a.peak_tflops("bf16") and a.memory_gb]
    offers = [
        (chips[i % len(chips)], 800 + i, 1.1 + (i % 5) / 10, 64 + (i % 8) * 64)
        for i in range(args.offers)
    ]
    model = default_model()
    workload = Workload("finetune", 7, tokens_b=20).validate()

    def quote() -> None:
        for acc, price, pue, size in offers:
            estimate_checked(
                workload,
                acc,
                count=None,
                pue=pue,
                price_fen_per_accel_hour=price,
                currency="CNY",
                max_count=size,
                model=model,
            )

    def baseline() -> None:
        for acc, price, _pue, _size in offers:
            hours = model.predict(mfu.case_for(workload, acc, 8, "bf16")).hours
            round(hours * price)

    def timed(fn: object, clear: bool) -> float:
        runs = []
        for _ in range(args.repeats):
            if clear:
                model.memo.clear()
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            runs.append(time.perf_counter() - start)
        return statistics.median(runs) * 1000

    base = timed(baseline, False)
    cold = timed(quote, True)
    warm = timed(quote, False)
    print(f"{args.offers} offers over {len(chips)} chip models, median of {args.repeats} runs")
    print(f"baseline (predict per offer):  {base:7.2f} ms")
    print(f"estimate, cold memo:          {cold:7.2f} ms  ({cold / base:.1f}x baseline)")
    print(f"estimate, warm memo:          {warm:7.2f} ms  ({warm / base:.1f}x baseline)")


if __name__ == "__main__":
    main()
