"""Serving time: prefill is compute-bound, decode is bound by memory bandwidth.

Each decode step runs the weight GEMMs once for the whole batch (reading the sharded weights,
or computing 2·N FLOPs per sequence, whichever takes longer) and then attention, which reads
every sequence's KV cache: the two are sequential kernels, so their times add. The batch is as
large as the KV cache allows in the memory left after the weights (in-flight batching keeps it
full), up to the engine's ``MAX_DECODE_BATCH``. Prefill is one large forward GEMM per layer
over the batch's prompt tokens and runs at ``PREFILL_EFFICIENCY`` of the precision's peak, not
at training's utilisation (no backward, optimizer or gradient traffic). ``validate`` checks
this path against published serving benchmarks (``data/inference-benchmarks.csv``).
"""

from __future__ import annotations

import math

from suanli.domain.catalog import Accelerator, Precision
from suanli.estimate import mfu
from suanli.estimate.flops import inference_flops
from suanli.estimate.memory import MAX_DECODE_BATCH, MemoryPlan, kv_bytes_per_token
from suanli.estimate.outcome import Infeasible
from suanli.estimate.workload import Workload

# Share of peak memory bandwidth a decode kernel sustains: an assumption (vendor decode
# benchmarks sit well below the datasheet figure).
BANDWIDTH_EFFICIENCY = 0.7
# Share of the peak a large forward GEMM reaches in a serving engine (M = thousands of prompt
# tokens): an assumption, about what cuBLAS reaches on large FP8/BF16 shapes on Hopper; the
# roofline term of ``mfu`` still lowers it for narrow models on high-ridge chips.
PREFILL_EFFICIENCY = 0.6
# Spread of serving throughput around this model: an assumption, of the size of the error
# ``validate`` prints against the published benchmarks.
SERVING_SIGMA_LOG = 0.3

ServeResult = tuple[int, float, tuple[float, float], list[str], list[str]]


def decode_batch(w: Workload, plan: MemoryPlan, count: int) -> int:
    free = plan.usable_bytes * count - plan.sharded_bytes
    per_seq = kv_bytes_per_token(w) * (w.tokens_in + w.out_tokens)
    fits = int(free // per_seq) if per_seq > 0 else MAX_DECODE_BATCH  # the KV cache's room
    return max(1, min(fits, MAX_DECODE_BATCH, w.inference_requests()))


def serving_util(acc: Accelerator, w: Workload, precision: Precision) -> float:
    """Share of ``precision``'s peak the prefill and decode matmuls reach: forward GEMMs at
    ``PREFILL_EFFICIENCY``, less the memory-bound share of a narrow model (``mfu.ROOFLINE_C``;
    forward only, a third of training's element-wise traffic)."""
    ridge = (acc.peak_tflops(precision) or 1.0) / (acc.bandwidth_tbps or 1.0)
    return PREFILL_EFFICIENCY / (1 + mfu.ROOFLINE_C / 3 * ridge / w.shape()[1])


def serve_wall_hours(
    w: Workload,
    plan: MemoryPlan,
    count: int,
    *,
    peak_tflops: float,
    bandwidth_tbps: float,
    util: float,
) -> float:
    """Wall-clock hours for ``count`` chips serving as one tensor-parallel replica."""
    flops = inference_flops(w)
    compute = peak_tflops * 1e12 * count * util
    memory = bandwidth_tbps * 1e12 * count * BANDWIDTH_EFFICIENCY
    batch = decode_batch(w, plan, count)
    kv_per_seq = kv_bytes_per_token(w) * (w.tokens_in + w.out_tokens / 2)
    gemm_s = max(plan.sharded_bytes / memory, 2 * w.active_b * 1e9 * batch / compute)
    step_s = gemm_s + batch * kv_per_seq / memory
    # In-flight batching refills a finished sequence's slot at once: the requests pass through
    # the batch as a stream, requests / batch rounds, not a whole last round for a remainder.
    decode_s = w.inference_requests() / batch * w.out_tokens * step_s
    return (flops.prefill / compute + decode_s) / 3600


def serve(
    w: Workload,
    acc: Accelerator,
    mem: MemoryPlan,
    count: int | None,
    limit: int,
    peak: float,
    precision: Precision,
    model: mfu.MfuModel,
) -> ServeResult | Infeasible:
    """(chips, wall hours, band, notes, warnings) for an inference workload."""
    bandwidth = acc.bandwidth_tbps
    if bandwidth is None:
        return Infeasible(acc.id, "missing_figures", f"the catalog has no bandwidth for {acc.id}")
    assert mem.min_count is not None
    util = serving_util(acc, w, precision)

    def hours(n: int) -> float:
        return serve_wall_hours(w, mem, n, peak_tflops=peak, bandwidth_tbps=bandwidth, util=util)

    if count is not None or w.target_tokens_per_s is None:
        n = count or mem.min_count
        wall = hours(n)
    else:
        # A target rate: the fewest chips that finish the duration's requests within it.
        n = mem.min_count
        while hours(n) > w.duration_h:
            if n >= limit:
                return Infeasible(acc.id, "rate", f"{limit} × {acc.model} cannot keep up the rate")
            n = min(limit, n * 2)
        low = max(mem.min_count, n // 2)
        while low < n:
            mid = (low + n) // 2
            if hours(mid) <= w.duration_h:
                n = mid
            else:
                low = mid + 1
        wall = w.duration_h
    family = mfu.family_of(acc)
    sigma = math.hypot(model.sigma_log, SERVING_SIGMA_LOG)
    warnings = []
    if family not in model.offsets:
        sigma = math.hypot(sigma, model.prior_sigma_log)
        warnings.append(f"no published runs for the {family} family: pooled prior")
    spread = math.exp(mfu.Z90 * sigma)
    notes = [f"prefill and decode GEMMs at {util:.0%} of the {precision} peak"]
    if not w.shape()[2]:
        notes.append("layer shape guessed from the parameter count for the KV cache")
    return n, wall, (1 / spread, spread), notes, warnings
