"""Validation of the training estimate against published runs, two ways that cannot flatter it.

- leave-one-out: each fitted run is predicted by a model fitted on all the *other* fitted runs;
- leave-one-family-out: every run of one organisation is held out at once and predicted by a
  model fitted on the other organisations' runs only (a new team's stack, data and batch).

The fit, overlap share and band included, happens inside each fold. A run with no published
chip count is predicted at the count its own *predicted* hours imply over ``IMPUTED_WALL_DAYS``
(the published hours are not peeked at). Upper-bound runs are predicted by the full model and
shown beside, never fitted. Coverage is the share of held-out runs whose published hours fall
inside the predicted p10–p90 band.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from suanli.estimate import mfu
from suanli.estimate.calibration import IMPUTED_WALL_DAYS, Run, fit


@dataclass(frozen=True, slots=True)
class RunCheck:
    run: Run
    predicted_hours: float
    utilization: float  # model FLOPs over the bf16 peak for the predicted hours
    fitted: bool  # True: a held-out prediction of a fitted run
    p10_hours: float = 0.0
    p90_hours: float = 0.0
    warnings: tuple[str, ...] = ()

    @property
    def ape(self) -> float:
        return abs(self.predicted_hours / self.run.accel_hours - 1)

    @property
    def error(self) -> float:
        return self.predicted_hours / self.run.accel_hours - 1

    @property
    def covered(self) -> bool:
        return self.p10_hours <= self.run.accel_hours <= self.p90_hours


@dataclass(frozen=True, slots=True)
class ValidationReport:
    fitted: list[RunCheck]  # leave-one-out
    by_family: list[RunCheck]  # leave-one-family-out
    compared: list[RunCheck]
    excluded: list[Run]

    @property
    def mdape(self) -> float:
        return statistics.median(c.ape for c in self.fitted)

    @property
    def family_mdape(self) -> float:
        return statistics.median(c.ape for c in self.by_family)

    @property
    def coverage(self) -> float:
        return sum(c.covered for c in self.fitted) / len(self.fitted)

    @property
    def family_coverage(self) -> float:
        return sum(c.covered for c in self.by_family) / len(self.by_family)

    def kinds(self) -> dict[str, int]:
        counts = Counter(c.run.hours_kind for c in self.fitted + self.compared)
        counts["excluded"] = len(self.excluded)
        return dict(counts)


def predict_run(model: mfu.MfuModel, run: Run) -> tuple[float, mfu.Prediction]:
    """(accelerator-hours, prediction) the model gives for a published run."""
    count = run.count if run.count is not None else 1024
    pred = model.predict(run.case(count))
    for _ in range(0 if run.count is not None else 8):  # fixed point for unknown counts
        count = max(1, round(pred.hours / (IMPUTED_WALL_DAYS * 24)))
        pred = model.predict(run.case(count))
    return pred.hours, pred


def _check(model: mfu.MfuModel, run: Run, fitted: bool) -> RunCheck:
    hours, pred = predict_run(model, run)
    lo, hi = pred.band()
    assert run.accelerator is not None
    peak = run.accelerator.peak_tflops("bf16") or 1.0
    flops = run.case(1).flops.total
    util = flops / (peak * 1e12 * hours * 3600)
    return RunCheck(run, hours, util, fitted, hours * lo, hours * hi, pred.warnings)


def _held_out(runs: Sequence[Run], group: Callable[[Run], str]) -> list[RunCheck]:
    fittable = [r for r in runs if r.fittable]
    checks: list[RunCheck] = []
    for key in dict.fromkeys(group(r) for r in fittable):
        train = [r for r in fittable if group(r) != key]
        model = fit(train)
        checks.extend(_check(model, r, True) for r in fittable if group(r) == key)
    order = {id(r): i for i, r in enumerate(fittable)}
    return sorted(checks, key=lambda c: order[id(c.run)])


def leave_one_out(runs: Sequence[Run]) -> ValidationReport:
    fitted = _held_out(runs, lambda r: f"{r.model}|{r.hardware}")
    by_family = _held_out(runs, lambda r: r.org)
    full = fit([r for r in runs if r.fittable])
    compared = [_check(full, r, False) for r in runs if not r.fittable and not r.excluded]
    excluded = [r for r in runs if r.excluded]
    assert all(math.isfinite(c.predicted_hours) for c in fitted + by_family)
    return ValidationReport(fitted, by_family, compared, excluded)
