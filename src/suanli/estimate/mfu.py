"""Achieved utilisation (model FLOPs / peak FLOPs) by accelerator family, model size and chip count.

    log u = b0 + b_size · log(active params) + family offset + s · log(max(count, 8) / 8)

``b0``, ``b_size`` and the family offsets are fitted by least squares on the reported-hours runs;
the offsets are shrunk towards 0 (ridge), so a family with few runs moves only part of the way
and a family with none gets the pooled level: the prior. The count slope ``s`` is *not* fitted:
in published runs big clusters belong to the best-tuned teams, so a fit finds more chips → higher
utilisation, which is backwards. It is fixed from MLPerf v3.1 (93 % scaling efficiency from 3,584
to 10,752 H100s, a 3× step), counted from one 8-chip node.

Bands: p10/p90 come from the leave-one-out residuals (log scale). A family without runs adds the
spread between families; a catalog figure of lower confidence widens the band further.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suanli.domain.catalog import Accelerator, Precision
from suanli.estimate.calibration import Run

COUNT_SLOPE = math.log(0.93) / math.log(3)
NODE = 8
RIDGE = 0.3
# Runs that do not report a chip count are assumed to have run about a month of wall time.
IMPUTED_WALL_DAYS = 30
Z90 = 1.2815515655446004  # standard normal quantile at 0.90
MIN_FAMILY_SPREAD = 0.25  # log-scale spread assumed between families when the fit shows less
CONFIDENCE_WIDTH = {"solid": 1.0, "derived": 1.15, "medium": 1.3, "uncertain": 1.6}
# FP8 reaches a lower share of its (twice as high) peak: scaling, casts and bf16 parts remain.
# 0.65 of the bf16 utilisation on the fp8 peak is ~1.3× bf16 speed; Meta reports 390 TFLOPS/GPU
# FP8 on H100 for Llama 4 Behemoth (20 % of FP8 peak). An assumption, with a wider band.
FP8_UTIL_FACTOR = 0.65
FP8_WIDTH = 1.2
UTIL_RANGE = (0.02, 0.75)

# Architecture families: chips that share a software stack and compute/bandwidth balance.
# The H20 is its own family: 15 % of an H100's compute on more bandwidth behaves differently.
FAMILIES = {
    "nvidia-a100-sxm4-80gb": "nvidia-ampere",
    "nvidia-a100-sxm4-40gb": "nvidia-ampere",
    "nvidia-a800-sxm4-80gb": "nvidia-ampere",
    "nvidia-h100-sxm5-80gb": "nvidia-hopper",
    "nvidia-h100-pcie-80gb": "nvidia-hopper",
    "nvidia-h200-sxm-141gb": "nvidia-hopper",
    "nvidia-h800-sxm5-80gb": "nvidia-hopper",
    "nvidia-h20-96gb": "nvidia-h20",
    "nvidia-l20-48gb": "nvidia-ada",
    "nvidia-l40s-48gb": "nvidia-ada",
    "nvidia-rtx-4090-24gb": "nvidia-ada",
    "huawei-ascend-910b": "huawei-ascend-910bc",
    "huawei-ascend-910c": "huawei-ascend-910bc",
}


def family_of(acc: Accelerator) -> str:
    return FAMILIES.get(acc.id, acc.id)


@dataclass(slots=True)
class Utilization:  # read-only by convention; not frozen to stay cheap per offer
    value: float
    sigma_log: float  # standard deviation of log(hours), for p10/p90
    family: str
    has_runs: bool

    def band(self) -> tuple[float, float]:
        """Multipliers on hours at p10 and p90."""
        spread = math.exp(Z90 * self.sigma_log)
        return 1 / spread, spread


@dataclass(slots=True)
class MfuModel:
    b0: float
    b_size: float
    offsets: dict[str, float]
    sigma_log: float
    size_range_b: tuple[float, float]
    n_runs: int
    _per_acc: dict[tuple[str, str], tuple[float, float, bool]] = field(default_factory=dict)
    # Results of callers that depend only on this model and hashable inputs (see estimate.api).
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def prior_sigma_log(self) -> float:
        spread = math.sqrt(sum(v * v for v in self.offsets.values()) / max(1, len(self.offsets)))
        return math.hypot(self.sigma_log, max(spread, MIN_FAMILY_SPREAD))

    def _chip_terms(self, acc: Accelerator, precision: Precision) -> tuple[float, float, bool]:
        key = (acc.id, precision)
        cached = self._per_acc.get(key)
        if cached is not None:
            return cached
        family = family_of(acc)
        has_runs = family in self.offsets
        sigma = self.sigma_log if has_runs else self.prior_sigma_log
        sigma *= _confidence_width(acc, precision)
        level = self.offsets.get(family, 0.0)
        if precision == "fp8":
            level += math.log(FP8_UTIL_FACTOR)
            sigma *= FP8_WIDTH
        terms = (level, sigma, has_runs)
        self._per_acc[key] = terms
        return terms

    def log_util(self, family_offset: float, active_params_b: float, count: int) -> float:
        lo, hi = self.size_range_b
        size = min(max(active_params_b, lo), hi)  # no extrapolation beyond the runs
        return (
            self.b0
            + self.b_size * math.log(size)
            + family_offset
            + COUNT_SLOPE * math.log(max(count, NODE) / NODE)
        )

    def predict(
        self, acc: Accelerator, active_params_b: float, count: int, precision: Precision
    ) -> Utilization:
        level, sigma, has_runs = self._chip_terms(acc, precision)
        value = math.exp(self.log_util(level, active_params_b, count))
        value = min(max(value, UTIL_RANGE[0]), UTIL_RANGE[1])
        return Utilization(value, sigma, family_of(acc), has_runs)


def _confidence_width(acc: Accelerator, precision: Precision) -> float:
    key = {"fp16": "bf16_tflops", "int8": "int8_tops"}.get(precision, f"{precision}_tflops")
    fig = acc.figures.get(key)
    levels = [acc.confidence] + ([fig.confidence] if fig is not None else [])
    return max(CONFIDENCE_WIDTH.get(level, CONFIDENCE_WIDTH["uncertain"]) for level in levels)


def run_count(run: Run) -> float:
    """The run's chip count, or one imputed from its hours over IMPUTED_WALL_DAYS."""
    if run.count is not None:
        return float(run.count)
    return max(1.0, run.accel_hours / (IMPUTED_WALL_DAYS * 24))


def implied_util(run: Run) -> float:
    assert run.accelerator is not None
    peak = run.accelerator.peak_tflops("bf16")
    assert peak is not None
    return run.flops / (peak * 1e12 * run.accel_hours * 3600)


def fit(runs: Sequence[Run], *, with_sigma: bool = True) -> MfuModel:
    """Fit on fittable runs; the band comes from leave-one-out residuals."""
    usable = [r for r in runs if r.fittable]
    if len(usable) < 3:
        raise ValueError("at least three reported-hours runs are needed to fit utilisation")
    families = sorted({family_of(r.accelerator) for r in usable if r.accelerator is not None})
    x = np.array([_features(r, families) for r in usable])
    y = np.array([_target(r) for r in usable])
    beta = _solve(x, y)
    sigma = 0.0
    if with_sigma:
        residuals = [
            y[i] - x[i] @ _solve(np.delete(x, i, 0), np.delete(y, i)) for i in range(len(y))
        ]
        sigma = float(np.sqrt(np.mean(np.square(residuals))))
    sizes = [r.active_b for r in usable]
    return MfuModel(
        b0=float(beta[0]),
        b_size=float(beta[1]),
        offsets={f: float(b) for f, b in zip(families, beta[2:], strict=True)},
        sigma_log=sigma,
        size_range_b=(min(sizes), max(sizes)),
        n_runs=len(usable),
    )


def _features(run: Run, families: list[str]) -> list[float]:
    assert run.accelerator is not None
    family = family_of(run.accelerator)
    return [1.0, math.log(run.active_b)] + [1.0 if f == family else 0.0 for f in families]


def _target(run: Run) -> float:
    # The count term is fixed, so it moves to the left-hand side.
    return math.log(implied_util(run)) - COUNT_SLOPE * math.log(max(run_count(run), NODE) / NODE)


def _solve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    penalty = RIDGE * np.eye(x.shape[1])
    penalty[0, 0] = penalty[1, 1] = 0.0  # intercept and size are not shrunk
    return np.linalg.solve(x.T @ x + penalty, x.T @ y)
