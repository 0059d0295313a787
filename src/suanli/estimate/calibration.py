"""Published training runs, read from ``data/training-runs.csv``, and which of them can be fitted.

Only runs whose accelerator-hours are *reported* by their authors are fitted. Runs whose hours are
derived (chips × wall time), an upper bound or an estimate are compared but never fitted. A run
without tokens, on hardware outside the catalog, or flagged as not following 6·N·D is excluded.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from suanli.domain.catalog import Accelerator, Catalog
from suanli.errors import ValidationError

FIT_KIND = "reported"
# Runs whose 6·N·D is known not to describe the compute done (growth schedules, random-routed
# experts) are named in the notes of the source table; these phrases mark them.
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

    @property
    def active_b(self) -> float:
        return self.active_params_b if self.active_params_b is not None else self.params_b

    @property
    def fittable(self) -> bool:
        return not self.excluded and self.hours_kind == FIT_KIND

    @property
    def flops(self) -> float:
        assert self.tokens_b is not None
        return 6 * self.active_b * 1e9 * self.tokens_b * 1e9


def _number(raw: str) -> float | None:
    raw = raw.strip().lstrip("~")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


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
        reason = "6·N·D does not describe this run (see its note)"
    if not reason:
        return run
    return dataclasses.replace(run, excluded=reason)
