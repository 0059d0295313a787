"""Serving time: prefill is compute-bound, decode is bound by memory bandwidth.

Each decode step reads the (sharded) weights once for the whole batch plus every sequence's KV
cache; the batch is as large as memory allows, up to ``MAX_DECODE_BATCH``.
"""

from __future__ import annotations

import math

from suanli.estimate.flops import inference_flops
from suanli.estimate.memory import MAX_DECODE_BATCH, MemoryPlan, kv_bytes_per_token
from suanli.estimate.workload import Workload

# Share of peak memory bandwidth a decode kernel sustains: an assumption (vendor decode
# benchmarks sit well below the datasheet figure).
BANDWIDTH_EFFICIENCY = 0.7


def decode_batch(w: Workload, plan: MemoryPlan, count: int) -> int:
    free = plan.usable_bytes * count - plan.sharded_bytes
    per_seq = kv_bytes_per_token(w) * (w.tokens_in + w.out_tokens)
    fits = int(free // per_seq) if per_seq > 0 else MAX_DECODE_BATCH
    return max(1, min(fits, MAX_DECODE_BATCH, w.inference_requests()))


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
    step_s = max(
        (plan.sharded_bytes + batch * kv_per_seq) / memory,
        2 * w.active_b * 1e9 * batch / compute,
    )
    decode_s = math.ceil(w.inference_requests() / batch) * w.out_tokens * step_s
    return (flops.prefill / compute + decode_s) / 3600
