"""Published training runs, read from ``data/training-runs.csv``, and which of them can be fitted.

Runs whose accelerator-hours are *reported* by their authors, or *derived* from a published chip
count and wall time (or a published rate per token), are fitted: both are the hours a quote has
to cover. An *upper bound* is compared but never fitted. A run without tokens, on hardware
outside the catalog, or flagged as not following the FLOPs model is excluded, with its reason.

Each run becomes the same ``Workload`` a caller would send (layer shape, vocabulary, sequence
length, batch, experts as published; blank means the estimator's default), so the validation
exercises the estimator's own path.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from suanli.domain.catalog import Accelerator, Catalog, Precision
from suanli.errors import ValidationError
from suanli.estimate import mfu
from suanli.estimate.workload import Recompute, Workload

FIT_KINDS = ("reported", "derived")
# Runs that do not report a chip count are assumed to have run about a month of wall time.
IMPUTED_WALL_DAYS = 30
# Runs whose compute the FLOPs model does not describe (growth schedules, random-routed experts,
# distillation from a larger teacher) are named in the notes of the source table.
_NOT_6ND = ("do NOT use plain 6ND", "no 6ND")


@dataclass(frozen=True, slots=True)
class Run:
    model: str
    params_b: float
    active_params_b: float | None
    tokens_b: float | None
    hardware: str
    count: int | None
    accel_hours: float
    hours_kind: str
    source: str
    notes: str
    accelerator: Accelerator | None = None
    excluded: str = ""  # why the run can be neither fitted nor compared
    org: str = ""
    precision: Precision = "bf16"
    shape: dict[str, int | str | None] = dataclasses.field(default_factory=dict)

    @property
    def active_b(self) -> float:
        return self.active_params_b if self.active_params_b is not None else self.params_b

    @property
    def fittable(self) -> bool:
        return not self.excluded and self.hours_kind in FIT_KINDS

    def workload(self) -> Workload:
        assert self.tokens_b is not None
        s = self.shape

        def num(key: str) -> int | None:
            value = s.get(key)
            return value if isinstance(value, int) else None

        layers, hidden = num("layers"), num("hidden")
        if layers is None or hidden is None:
            layers = hidden = None
        return Workload(
            "pretrain",
            self.params_b,
            active_params_b=self.active_params_b,
            tokens_b=self.tokens_b,
            seq_len=num("seq_len") or 2048,
            layers=layers,
            hidden=hidden,
            precision=self.precision,
            vocab=num("vocab"),
            tied_embeddings=s.get("tied_embeddings") == "yes",
            recompute=cast(Recompute, s.get("recompute") or "none"),
            experts=num("experts"),
            experts_active=num("experts_active"),
            expert_parallel=num("expert_parallel"),
            global_batch_tokens=num("global_batch_tokens"),
        )

    def case(self, count: int) -> mfu.Case:
        assert self.accelerator is not None
        return mfu.case_for(self.workload(), self.accelerator, count, self.precision)


def _number(raw: str | None) -> float | None:
    raw = (raw or "").strip().lstrip("~")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


_SHAPE_INTS = (
    "seq_len",
    "layers",
    "hidden",
    "vocab",
    "experts",
    "experts_active",
    "expert_parallel",
    "global_batch_tokens",
)


def _shape(row: dict[str, str]) -> dict[str, int | str | None]:
    shape: dict[str, int | str | None] = {}
    for key in _SHAPE_INTS:
        value = _number(row.get(key))
        shape[key] = int(value) if value else None
    shape["tied_embeddings"] = (row.get("tied_embeddings") or "").strip() or None
    shape["recompute"] = (row.get("recompute") or "").strip() or None
    return shape


def load_runs(path: Path, catalog: Catalog) -> list[Run]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    runs = []
    for row_no, row in enumerate(rows, start=2):
        hours = _number(row.get("accel_hours", ""))
        params = _number(row.get("params_total_b", ""))
        if hours is None or params is None:
            raise ValidationError(f"{path.name} line {row_no}", "needs accel_hours and params")
        count = _number(row.get("accel_count", ""))
        precision: Precision = (
            "fp8" if row.get("precision", "").lower().startswith("fp8") else "bf16"
        )
        run = Run(
            model=row["model"],
            params_b=params,
            active_params_b=_number(row.get("params_active_b", "")),
            tokens_b=_number(row.get("tokens_b", "")),
            hardware=row["hardware"],
            count=int(count) if count else None,
            accel_hours=hours,
            hours_kind=row["hours_kind"],
            source=row["source"],
            notes=row.get("notes", ""),
            accelerator=catalog.find(row["hardware"]),
            org=row.get("org", ""),
            precision=precision,
            shape=_shape(row),
        )
        runs.append(_with_exclusion(run))
    return runs


def _with_exclusion(run: Run) -> Run:
    reason = ""
    if run.tokens_b is None:
        reason = "no token count (MLPerf-style runs start from a checkpoint)"
    elif run.accelerator is None:
        reason = f"hardware {run.hardware!r} is not one catalog model"
    elif run.accelerator.peak_tflops("bf16") is None:
        reason = f"no dense bf16/fp16 peak for {run.accelerator.id}"
    elif any(flag in run.notes for flag in _NOT_6ND):
        reason = "the FLOPs model does not describe this run (see its note)"
    if not reason:
        return run
    return dataclasses.replace(run, excluded=reason)


def fit_count(run: Run) -> int:
    """The run's chip count, or one imputed from its published hours over IMPUTED_WALL_DAYS
    (fitting only: a prediction imputes from its own predicted hours)."""
    if run.count is not None:
        return run.count
    return max(1, round(run.accel_hours / (IMPUTED_WALL_DAYS * 24)))


def fit(runs: Sequence[Run], *, with_sigma: bool = True) -> mfu.MfuModel:
    """The utilisation model fitted on the fittable runs among ``runs``."""
    usable = [r for r in runs if r.fittable]
    return mfu.fit_cases(
        [(r.case(fit_count(r)), r.accel_hours) for r in usable], with_sigma=with_sigma
    )
