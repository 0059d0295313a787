"""Published serving benchmarks, read from ``data/inference-benchmarks.csv``, and the serving
path's error against them: each row is one batch of requests on a stated number of chips, and
the estimator's output tokens per second for that workload are compared with the published
figure. Nothing is fitted on them.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from suanli.domain.catalog import Catalog, Precision
from suanli.estimate import api, mfu
from suanli.estimate.workload import Workload


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    model: str
    hardware: str
    count: int
    workload: Workload
    tokens_per_s: float  # published output tokens per second
    source: str


@dataclass(frozen=True, slots=True)
class ServingCheck:
    benchmark: Benchmark
    predicted_tokens_per_s: float | None  # None: the estimator refused it (reason in note)
    note: str = ""

    @property
    def error(self) -> float | None:
        if self.predicted_tokens_per_s is None:
            return None
        return self.predicted_tokens_per_s / self.benchmark.tokens_per_s - 1


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw else None


def load_benchmarks(path: Path) -> list[Benchmark]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        workload = Workload(
            "inference",
            float(row["params_b"]),
            layers=_int(row.get("layers")),
            hidden=_int(row.get("hidden")),
            kv_heads=_int(row.get("kv_heads")),
            precision=cast(Precision, row["precision"]),
            requests=int(row["batch"]),
            tokens_in=int(row["tokens_in"]),
            tokens_out=int(row["tokens_out"]),
        )
        out.append(
            Benchmark(
                name=row["benchmark"],
                model=row["model"],
                hardware=row["hardware"],
                count=int(row["count"]),
                workload=workload,
                tokens_per_s=float(row["output_tokens_per_s"]),
                source=row["source"],
            )
        )
    return out


def check_serving(
    benchmarks: list[Benchmark], catalog: Catalog, model: mfu.MfuModel
) -> list[ServingCheck]:
    checks = []
    for b in benchmarks:
        acc = catalog.find(b.hardware)
        if acc is None:
            checks.append(ServingCheck(b, None, f"{b.hardware!r} is not in the catalog"))
            continue
        outcome = api.estimate(b.workload, acc, model=model, count=b.count)
        if isinstance(outcome, api.Infeasible):
            checks.append(ServingCheck(b, None, outcome.reason))
            continue
        produced = b.workload.inference_requests() * b.workload.out_tokens
        checks.append(ServingCheck(b, produced / (outcome.wall_hours * 3600)))
    return checks


def median_abs_error(checks: list[ServingCheck]) -> float | None:
    errors = [abs(e) for c in checks if (e := c.error) is not None]
    return statistics.median(errors) if errors else None
