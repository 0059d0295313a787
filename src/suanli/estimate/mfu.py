"""Accelerator-hours of a training job: FLOPs over what the chips achieve, at scale.

    hours = FLOPs / (bf16 peak · u_kernel) · fp8 factor · step factor · (1 + failure overhead)

- ``u_kernel``, the share of the bf16 peak one chip's kernels reach:
  ``log u = b0 + family offset − log(1 + c · ridge / d)``. ``b0`` and the offsets are fitted on
  published runs; the offsets are shrunk towards 0 (ridge), so an architecture family with few
  runs moves only part of the way and one with none gets the pooled level. The last term is the
  memory-bound share of a layer's kernel time (``ROOFLINE_C``), computed, not fitted: it is what
  makes small models slow per FLOP, so no separate size term is fitted.
- the fp8 factor, step factor (communication, MoE routing) and failure overhead are computed from
  the workload, the chip and its interconnect (``scale``); only the share of communication that
  overlaps compute (``overlap``) is fitted, on a grid, with the rest.

Bands: p10/p90 come from the leave-one-out residuals of the fit (log hours), widened by the
leverage of the job (few runs like it: a wider band), by a family without runs, by the
uncertainty of the overlap where communication is large, and by lower catalog confidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from suanli.domain.catalog import Accelerator, Precision
from suanli.estimate import scale
from suanli.estimate.flops import TrainingFlops, training_breakdown
from suanli.estimate.interconnect import Interconnect, default_for
from suanli.estimate.student_t import t_quantile
from suanli.estimate.workload import Workload

if TYPE_CHECKING:
    import numpy as np

RIDGE = 0.3
OVERLAPS = tuple(i / 20 for i in range(21))  # 0.00 … 1.00
# Memory-bound work per token and layer grows with d, matmul work with d²: its share of kernel
# time is c · (peak FLOP per byte) / d, the roofline of the chip against the model's width.
# A layer stores ≈ 34·d bytes of activations per token (bf16; Korthikanti et al. 2022, s4.1);
# forward writes them and reads their inputs, backward reads them and writes and reads their
# gradients: ≈ 5 × 34·d bytes of element-wise traffic, against 72·d² matmul FLOPs (6 × 12·d²).
# Element-wise kernels sustain about half the datasheet bandwidth (an assumption, as for decode
# in ``inference``): c = 5 · 34 / 72 / 0.5 ≈ 4.7.
ELEMENTWISE_BYTES_PER_D = 5 * 34
MATMUL_FLOPS_PER_D2 = 72
ELEMENTWISE_BANDWIDTH_SHARE = 0.5
ROOFLINE_C = ELEMENTWISE_BYTES_PER_D / MATMUL_FLOPS_PER_D2 / ELEMENTWISE_BANDWIDTH_SHARE
OVERLAP_SD = 0.15  # how well one overlap share describes all runs: an assumption, for bands
MIN_FAMILY_SPREAD = 0.25  # log-scale spread assumed between families when the fit shows less
CONFIDENCE_WIDTH = {"solid": 1.0, "derived": 1.15, "medium": 1.3, "uncertain": 1.6}
FP8_WIDTH = 1.2  # fp8 on a family without fp8 runs: the FP8 efficiency is an assumption
UTIL_RANGE = (0.02, 0.75)
Z90 = 1.2815515655446004  # standard normal quantile at 0.90
COMM_BOUND = 1.0  # communication longer than compute: the regime the runs say least about

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


@dataclass(frozen=True, slots=True)
class Case:
    """One training job to predict: the workload's FLOPs and scale on one chip model."""

    family: str
    active_params_b: float
    flops: TrainingFlops
    job: scale.Job
    bf16_tflops: float
    fp8_factor: float  # 1.0 unless the job runs in fp8
    precision: Precision
    width: float  # catalog confidence multiplier on the band
    flop_per_byte: float  # bf16 peak over memory bandwidth: the chip's roofline ridge


def case_for(
    w: Workload,
    acc: Accelerator,
    count: int,
    precision: Precision,
    interconnect: Interconnect | None = None,
) -> Case:
    bf16 = acc.peak_tflops("bf16")
    if bf16 is None:
        raise ValueError(f"no bf16 peak for {acc.id}")
    fl = training_breakdown(w)
    layers, hidden, _ = w.shape()
    job = scale.Job(
        flops_per_token=fl.per_token,
        active_params=w.active_b * 1e9,
        total_params=w.params_b * 1e9,
        layers=layers,
        hidden=hidden,
        seq_len=w.seq_len,
        batch_tokens=w.batch_tokens,
        count=count,
        memory_gb=acc.memory_gb or 80.0,
        interconnect=interconnect or default_for(acc.id).interconnect,
        moe=w.is_moe,
        experts=w.experts,
        experts_active=w.experts_active,
        expert_parallel=w.expert_parallel,
        batch_given=w.global_batch_tokens is not None,
    )
    factor = 1.0
    fp8 = acc.peak_tflops("fp8")
    if precision == "fp8" and fp8 is not None:
        factor = scale.fp8_time_factor(fl.fp8_share, bf16, fp8)
    ridge = bf16 / (acc.bandwidth_tbps or bf16 / 150)  # TFLOPS / (TB/s) = FLOP per byte
    width = _width(acc, precision)
    return Case(family_of(acc), w.active_b, fl, job, bf16, factor, precision, width, ridge)


@dataclass(frozen=True, slots=True)
class Prediction:
    hours: float
    kernel_util: float  # share of the bf16 peak the kernels reach
    sigma_log: float  # standard deviation of log(hours), for p10/p90
    quantile: float  # the 0.90 quantile of the residual distribution (Student t)
    family: str
    has_runs: bool
    terms: scale.ScaleTerms
    failure_overhead: float
    warnings: tuple[str, ...]

    def band(self) -> tuple[float, float]:
        """Multipliers on hours at p10 and p90."""
        spread = math.exp(self.quantile * self.sigma_log)
        return 1 / spread, spread


@dataclass(slots=True)
class MfuModel:
    b0: float
    offsets: dict[str, float]
    overlap: float
    sigma_log: float
    size_range_b: tuple[float, float]
    max_count: int
    n_runs: int
    fp8_families: frozenset[str]
    precision_matrix: Any  # (XᵀX + ridge)⁻¹, for the leverage of a new job
    families: tuple[str, ...]
    t90: float  # Student t quantile at 0.90 for the fit's degrees of freedom
    # Results of callers that depend only on this model and hashable inputs (see estimate.api).
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def dof(self) -> int:
        return max(1, self.n_runs - 2 - len(self.families))  # b0, overlap and the offsets

    @property
    def prior_sigma_log(self) -> float:
        spread = math.sqrt(sum(v * v for v in self.offsets.values()) / max(1, len(self.offsets)))
        return max(spread, MIN_FAMILY_SPREAD)

    def kernel_util(self, family: str, flop_per_byte: float, hidden: int) -> float:
        log_u = self.b0 + self.offsets.get(family, 0.0)
        u = math.exp(log_u) / (1 + ROOFLINE_C * flop_per_byte / hidden)
        return min(max(u, UTIL_RANGE[0]), UTIL_RANGE[1])

    def predict(self, case: Case) -> Prediction:
        return self._predict(case, case.flops.tokens)

    def predict_per_token(self, case: Case) -> Prediction:
        """The prediction with ``hours`` per training token: nothing else in it reads the
        token count, and the hours are proportional to it, so a caller may keep this per
        workload shape (``estimate.training``) and multiply its hours by the tokens, which
        gives ``predict``'s hours exactly (the same product)."""
        return self._predict(case, 1.0)

    def _predict(self, case: Case, tokens: float) -> Prediction:
        u = self.kernel_util(case.family, case.flop_per_byte, case.job.hidden)
        terms, factor = _job_factor(case, u, self.overlap)
        compute_s = case.flops.per_token / (case.bf16_tflops * 1e12 * u)
        hours = compute_s / 3600 * factor * tokens
        has_runs = case.family in self.offsets
        sigma = self._sigma(case, terms)
        return Prediction(
            hours=hours,
            kernel_util=u,
            sigma_log=sigma,
            quantile=self.t90,
            family=case.family,
            has_runs=has_runs,
            terms=terms,
            failure_overhead=scale.failure_overhead(case.job.count),
            warnings=tuple(self._warnings(case, terms, has_runs)),
        )

    def _sigma(self, case: Case, terms: scale.ScaleTerms) -> float:
        import numpy as np  # loads with the first estimate, not with every command

        x = np.array(_features(case.family, self.families))
        leverage = float(x @ self.precision_matrix @ x)
        sigma = self.sigma_log * math.sqrt(1 + leverage)
        lo, hi = self.size_range_b
        if not lo <= case.active_params_b <= hi:  # outside the runs: the prior spread on top
            sigma = math.hypot(sigma, MIN_FAMILY_SPREAD)
        if case.family not in self.offsets:
            sigma = math.hypot(sigma, self.prior_sigma_log)
        exposed = (1 - self.overlap) * terms.comm_ratio
        sigma = math.hypot(sigma, OVERLAP_SD * terms.comm_ratio / (1 + exposed))
        if case.precision == "fp8" and case.family not in self.fp8_families:
            sigma *= FP8_WIDTH
        return sigma * case.width

    def _warnings(self, case: Case, terms: scale.ScaleTerms, has_runs: bool) -> list[str]:
        out = []
        lo, hi = self.size_range_b
        if not lo <= case.active_params_b <= hi:
            out.append(
                f"{case.active_params_b:g}B active parameters is outside the published runs "
                f"({lo:g}–{hi:g}B): band widened"
            )
        if case.job.count > self.max_count:
            out.append(f"{case.job.count} chips is more than any published run ({self.max_count})")
        if terms.comm_ratio > COMM_BOUND:
            out.append(
                f"communication-bound: {terms.comm_ratio:.1f}× compute time per step "
                f"({terms.layout.data} data-parallel replicas); a larger batch or fewer chips "
                "would be cheaper, and the published runs say little about this regime"
            )
        if not has_runs:
            out.append(f"no published runs for the {case.family} family: pooled prior")
        if case.precision == "fp8" and case.family not in self.fp8_families:
            out.append(f"no published fp8 runs for the {case.family} family: fp8 gain assumed")
        if case.job.moe and case.job.experts is None:
            out.append(
                f"MoE without expert counts: {scale.DEFAULT_EXPERTS} experts, top-"
                f"{scale.DEFAULT_TOP_K} assumed for the all-to-all"
            )
        return out


def _job_factor(case: Case, u: float, overlap: float) -> tuple[scale.ScaleTerms, float]:
    """Scale terms at kernel utilisation ``u``, and hours over pure bf16 compute hours."""
    rate = case.bf16_tflops * 1e12 * u / case.fp8_factor
    terms = scale.scale_terms(case.job, rate)
    factor = case.fp8_factor * terms.step_factor(overlap)
    return terms, factor * (1 + scale.failure_overhead(case.job.count))


def _width(acc: Accelerator, precision: Precision) -> float:
    key = {"fp16": "bf16_tflops", "int8": "int8_tops"}.get(precision, f"{precision}_tflops")
    fig = acc.figures.get(key)
    levels = [acc.confidence] + ([fig.confidence] if fig is not None else [])
    return max(CONFIDENCE_WIDTH.get(level, CONFIDENCE_WIDTH["uncertain"]) for level in levels)


def _features(family: str, families: Sequence[str]) -> list[float]:
    return [1.0] + [1.0 if f == family else 0.0 for f in families]


@dataclass(frozen=True, slots=True)
class _Observed:
    """A published run reduced to what the fit needs: hours = K⁻¹·u⁻¹·(1 + (1-ω)·c·u)."""

    inv_k: float  # published hours over the hours at u = 1 without communication
    comm_per_util: float  # communication ratio per unit of kernel utilisation


def _observe(case: Case, hours: float) -> _Observed:
    terms, _ = _job_factor(case, 1.0, 1.0)
    # at u = 1 and without communication: bubble, imbalance, fp8 and failures only
    factor = case.fp8_factor * terms.step_factor(1.0, comm=False)
    factor *= 1 + scale.failure_overhead(case.job.count)
    ideal_hours = case.flops.total / (case.bf16_tflops * 1e12) / 3600 * factor
    return _Observed(hours / ideal_hours, terms.comm_ratio)


def implied_kernel_util(obs: _Observed, overlap: float) -> float:
    """The kernel utilisation that explains a run's hours at ``overlap``.

    Communication time does not depend on the kernels, so its ratio to compute grows with u:
    hours ∝ (1 + a·u)/u with a = (1 - overlap)·c, hence u = 1 / (inv_k - a), as long as the
    overlapped share fits behind compute (overlap·c·u ≤ 1). Beyond that the run is
    communication-bound, its hours do not depend on u, and they say only that u is at least
    1 / (overlap·c): that bound is taken.
    """
    a = (1 - overlap) * obs.comm_per_util
    room = max(obs.inv_k - a, obs.inv_k * 0.05)
    u = 1 / room
    if overlap * obs.comm_per_util * u > 1:
        u = 1 / (overlap * obs.comm_per_util)
    return min(max(u, UTIL_RANGE[0] / 4), 1.5)


def fit_cases(
    cases: Sequence[tuple[Case, float]], *, with_sigma: bool = True, overlap: float | None = None
) -> MfuModel:
    """Fit on (case, published hours) pairs; the band from leave-one-out residuals."""
    if len(cases) < 3:
        raise ValueError("at least three published runs are needed to fit utilisation")
    import numpy as np

    families = tuple(sorted({c.family for c, _ in cases}))
    sizes = [c.active_params_b for c, _ in cases]
    x = np.array([_features(c.family, families) for c, _ in cases])
    observed = [_observe(c, h) for c, h in cases]
    roof = np.log1p(ROOFLINE_C * np.array([c.flop_per_byte / c.job.hidden for c, _ in cases]))
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    for omega in OVERLAPS if overlap is None else (overlap,):
        y = np.log([implied_kernel_util(o, omega) for o in observed]) + roof
        beta, _ = _solve(x, y)
        sse = float(np.sum(np.square(y - x @ beta)))
        if best is None or sse < best[0]:
            best = (sse, omega, beta, y)
    assert best is not None
    _, omega, beta, y = best
    _, inv = _solve(x, y)
    sigma = 0.0
    if with_sigma:
        hat = np.einsum("ij,jk,ik->i", x, inv, x)
        loo = (y - x @ beta) / np.maximum(1 - hat, 0.05)
        sigma = float(np.sqrt(np.mean(np.square(loo))))
    return MfuModel(
        b0=float(beta[0]),
        offsets={f: float(b) for f, b in zip(families, beta[1:], strict=True)},
        overlap=omega,
        sigma_log=sigma,
        size_range_b=(min(sizes), max(sizes)),
        max_count=max(c.job.count for c, _ in cases),
        n_runs=len(cases),
        fp8_families=frozenset(c.family for c, _ in cases if c.precision == "fp8"),
        precision_matrix=inv,
        families=families,
        t90=t_quantile(0.9, max(1, len(cases) - 2 - len(families))),
    )


def _solve(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    penalty = RIDGE * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    inv = np.linalg.inv(x.T @ x + penalty)
    return inv @ x.T @ y, inv
