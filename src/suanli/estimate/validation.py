"""Leave-one-out validation of the utilisation model against published training runs.

Each reported-hours run is predicted by a model fitted on all the *other* reported-hours runs.
Runs with derived, upper-bound or estimated hours are predicted by the full model and reported
beside, never fitted. A run with no published chip count is predicted at the count that its own
*predicted* hours imply over ``IMPUTED_WALL_DAYS`` (the published hours are not peeked at).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from suanli.estimate import mfu
from suanli.estimate.calibration import Run


@dataclass(frozen=True, slots=True)
class RunCheck:
    run: Run
    predicted_hours: float
    utilization: float
    fitted: bool  # True: a leave-one-out prediction of a reported-hours run

    @property
    def ape(self) -> float:
        return abs(self.predicted_hours / self.run.accel_hours - 1)


@dataclass(frozen=True, slots=True)
class ValidationReport:
    fitted: list[RunCheck]
    compared: list[RunCheck]
    excluded: list[Run]

    @property
    def mdape(self) -> float:
        return statistics.median(c.ape for c in self.fitted)


def predict_run(model: mfu.MfuModel, run: Run) -> tuple[float, float]:
    """(accelerator-hours, utilisation) the model predicts for a published run."""
    assert run.accelerator is not None
    peak = run.accelerator.peak_tflops("bf16")
    assert peak is not None
    count = float(run.count) if run.count is not None else 1024.0
    for _ in range(1 if run.count is not None else 6):  # fixed point for unknown counts
        util = model.predict(run.accelerator, run.active_b, max(1, round(count)), "bf16").value
        hours = run.flops / (peak * 1e12 * util) / 3600
        if run.count is None:
            count = max(1.0, hours / (mfu.IMPUTED_WALL_DAYS * 24))
    return hours, util


def leave_one_out(runs: Sequence[Run]) -> ValidationReport:
    fittable = [r for r in runs if r.fittable]
    fitted = []
    for i, run in enumerate(fittable):
        model = mfu.fit(fittable[:i] + fittable[i + 1 :], with_sigma=False)
        hours, util = predict_run(model, run)
        fitted.append(RunCheck(run, hours, util, True))
    full = mfu.fit(fittable, with_sigma=False)
    compared = []
    for run in runs:
        if not run.fittable and not run.excluded:
            hours, util = predict_run(full, run)
            compared.append(RunCheck(run, hours, util, False))
    excluded = [r for r in runs if r.excluded]
    assert all(math.isfinite(c.predicted_hours) for c in fitted)
    return ValidationReport(fitted, compared, excluded)
