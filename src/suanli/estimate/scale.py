"""What a job loses to its size: communication, MoE routing, FP8's BF16 remainder and failures.

The fitted utilisation (``mfu``) is what one chip's kernels achieve; these terms turn it into
wall time on ``count`` chips. Each is a ratio of two times computed from the workload, the chip
and its interconnect, so that a 3B model on 384 GPUs and a 405B model on 16k GPUs differ for
the reasons they do in practice:

- data parallelism: each step all-reduces the bf16 gradients of the chip's parameter shard
  (ring all-reduce: 2 × 2 bytes per parameter; hierarchical across domains, see
  ``Interconnect.allreduce_bytes_per_s``) against the compute of its share of the global
  batch. With the batch fixed, the ratio grows with the number of replicas: small models on
  large clusters wait on the network. A batch the caller does not give grows with the replicas
  (``DEFAULT_SEQS_PER_REPLICA``), as published runs' batches do;
- tensor parallelism inside the scale-up domain: four all-reduces of the layer's activations per
  layer and token (two forward, two backward; Megatron-LM, Shoeybi et al. 2019);
- MoE expert parallelism: each token's hidden state goes to its k experts and back, forward and
  backward (all-to-all, 4·k·d values per MoE layer), over the scale-up domain or the network;
  and the step waits for the busiest expert rank (load imbalance);
- pipeline parallelism: the bubble of an interleaved 1F1B schedule, (PP − 1) / (v · m) of the
  step for m micro-batches of one sequence per replica and v chunks per stage, one layer each
  (Narayanan et al. 2021; Llama 3, arXiv 2407.21783 s3.3.2), not overlapped;
- the layout: the fewest model-parallel chips whose replicated weights and gradients (ZeRO-1
  shards the optimizer over the data-parallel ranks) fit in half the chip's memory, split
  between tensor parallelism inside the domain and pipeline stages as costs least: on an H800's
  cut NVLink that is pipeline stages, as DeepSeek-V3 chose.

Communication overlaps compute only in part, and never more than the compute time it hides
behind (``ScaleTerms.step_factor``); the overlapped share is fitted (``mfu.fit_cases``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from suanli.estimate.interconnect import Interconnect

BYTES_REPLICATED = 4  # bf16 weights + bf16 gradients per parameter on each model-parallel chip
MEMORY_SHARE = 0.5  # the rest holds optimizer shards, activations and buffers
GRAD_BYTES = 2
ACT_BYTES = 2
# MoE defaults when the caller gives active parameters but no expert counts: a fine-grained
# layout (64 routed experts, 8 per token) like DeepSeekMoE, OLMoE and Qwen3-MoE.
DEFAULT_EXPERTS = 64
DEFAULT_TOP_K = 8
# Expert loads differ even with balancing losses; an assumed coefficient of variation of one
# expert's load around the mean. The busiest of EP ranks, each the sum of experts/EP experts,
# sits ≈ cv/√(experts/EP) · √(2 ln EP) above the mean (the maximum of EP normal variables).
IMBALANCE_CV = 0.1
# A batch the caller does not give grows with the cluster, as published runs do: at least
# DEFAULT_BATCH_TOKENS, and at least this many sequences per data-parallel replica (SmolLM3
# kept 1.5 per replica on 384 H100s, Llama 3 405B 16 at DP 128, DeepSeek-V3 about 120 at DP
# 128: arXiv 2407.21783 s3.4, 2412.19437 s4.2). A fixed 4M tokens on 10k chips would leave each
# replica under one sequence and make every large cluster look communication-bound.
DEFAULT_SEQS_PER_REPLICA = 2
MOE_FFN_SHARE = 2 / 3
# the FFN's share of a block's matmuls (8·d² of 12·d²), what experts run

# Failures: Llama 3 405B saw 419 unexpected interruptions in 54 days on 16,384 H100s and kept
# "higher than 90% effective training time" (arXiv 2407.21783 s3.3.4, Table 5). That gives a
# rate per chip-hour, and the hours lost per interruption (restart plus lost work) such that
# the lost share at 16,384 chips is 10 %.
FAILURES_PER_CHIP_HOUR = 419 / (16_384 * 54 * 24)
HOURS_LOST_PER_FAILURE = 0.10 / (16_384 * FAILURES_PER_CHIP_HOUR)


@dataclass(frozen=True, slots=True)
class Job:
    """What the scale terms need to know about a training job."""

    flops_per_token: float
    active_params: float
    total_params: float
    layers: int
    hidden: int
    seq_len: int
    batch_tokens: int
    count: int
    memory_gb: float
    interconnect: Interconnect
    moe: bool = False
    experts: int | None = None
    experts_active: int | None = None
    expert_parallel: int | None = None
    batch_given: bool = True  # False: the workload's default batch, grown with the replicas


@dataclass(frozen=True, slots=True)
class Layout:
    tensor: int
    pipeline: int
    data: int
    expert: int


@dataclass(frozen=True, slots=True)
class ScaleTerms:
    dp_ratio: float  # gradient all-reduce time over compute time, per step
    tp_ratio: float
    ep_ratio: float
    imbalance: float  # extra share of the step spent waiting for the busiest expert rank
    layout: Layout
    bubble: float = 0.0  # pipeline idle share of the step, not hidden by overlap

    @property
    def comm_ratio(self) -> float:
        return self.dp_ratio + self.tp_ratio + self.ep_ratio

    def step_factor(self, overlap: float, *, comm: bool = True) -> float:
        """Step time over pure compute time when ``overlap`` of communication is hidden.

        Overlap hides communication behind compute only up to the compute time: what is left
        beyond it is exposed whatever the overlap, so a communication-bound job stays slow.
        """
        hidden = min(overlap * self.comm_ratio, 1.0)
        exposed = self.comm_ratio - hidden if comm else 0.0
        return (1 + exposed + self.bubble) * (1 + self.imbalance)


def experts_of(job: Job) -> tuple[int, int]:
    return job.experts or DEFAULT_EXPERTS, job.experts_active or DEFAULT_TOP_K


def layouts(job: Job) -> list[Layout]:
    """Every split of the model-parallel degree the memory needs, tensor parallel ≤ domain."""
    expert = 1
    if job.moe:
        experts, _ = experts_of(job)
        domain = job.interconnect.scale_up_domain_chips
        expert = job.expert_parallel or min(experts, domain, job.count)
    # Replicated per model-parallel group: the dense part, and this rank's share of the experts.
    held = job.active_params + (job.total_params - job.active_params) / expert
    budget = MEMORY_SHARE * job.memory_gb * 1e9
    model = 1
    while model < job.count and held * BYTES_REPLICATED / model > budget:
        model *= 2
    model = min(model, job.count)
    out = []
    tensor = 1
    while tensor <= min(model, job.interconnect.scale_up_domain_chips):
        pipeline = max(1, model // tensor)
        data = max(1, job.count // (tensor * pipeline))
        out.append(Layout(tensor, pipeline, data, min(expert, job.count)))
        tensor *= 2
    return out


def scale_terms(job: Job, compute_flops_per_s: float) -> ScaleTerms:
    """The ratios for ``job`` when each chip computes at ``compute_flops_per_s``, in the layout
    that costs least."""
    options = [_terms(job, lay, compute_flops_per_s) for lay in layouts(job)]
    return min(options, key=lambda t: t.step_factor(0.5))


def _terms(job: Job, lay: Layout, compute_flops_per_s: float) -> ScaleTerms:
    batch = max(job.batch_tokens, lay.data * job.seq_len)  # at least one sequence per replica
    if not job.batch_given:
        batch = max(batch, DEFAULT_SEQS_PER_REPLICA * lay.data * job.seq_len)
    compute_s = job.flops_per_token * batch / job.count / compute_flops_per_s
    ic = job.interconnect
    model = lay.tensor * lay.pipeline
    dp = 0.0
    if lay.data > 1:
        held = job.active_params + (job.total_params - job.active_params) / lay.expert
        grad_bytes = 2 * GRAD_BYTES * held / model
        dp = grad_bytes / ic.allreduce_bytes_per_s(lay.data, model) / compute_s
    replica_tokens = batch / lay.data
    layers_here = job.layers / lay.pipeline
    tp = 0.0
    if lay.tensor > 1:
        share = (lay.tensor - 1) / lay.tensor
        tp_bytes = 8 * ACT_BYTES * share * job.hidden * layers_here * replica_tokens
        tp = tp_bytes / ic.bytes_per_s(lay.tensor) / compute_s
    ep, imbalance = 0.0, 0.0
    if job.moe and lay.expert > 1:
        experts, top_k = experts_of(job)
        share = (lay.expert - 1) / lay.expert
        tokens_here = replica_tokens / lay.tensor
        ep_bytes = 4 * ACT_BYTES * top_k * job.hidden * share * layers_here * tokens_here
        ep = ep_bytes / ic.bytes_per_s(lay.expert * lay.tensor) / compute_s
        per_rank = max(1.0, experts / lay.expert)
        spread = IMBALANCE_CV / math.sqrt(per_rank) * math.sqrt(2 * math.log(lay.expert))
        imbalance = MOE_FFN_SHARE * spread
    micro_batches = max(1.0, replica_tokens / job.seq_len)
    # Interleaved down to one layer per chunk (Llama 3's schedule; DeepSeek's DualPipe does better).
    virtual = max(1.0, layers_here)
    bubble = (lay.pipeline - 1) / (virtual * micro_batches)
    return ScaleTerms(dp, tp, ep, imbalance, lay, bubble)


def failure_overhead(count: int) -> float:
    """Share of productive hours lost to interruptions (restart, lost work) on ``count`` chips."""
    return FAILURES_PER_CHIP_HOUR * count * HOURS_LOST_PER_FAILURE


def expected_interruptions(count: int, wall_hours: float) -> float:
    return FAILURES_PER_CHIP_HOUR * count * wall_hours


def fp8_time_factor(fp8_share: float, bf16_tflops: float, fp8_tflops: float) -> float:
    """Time of an FP8 run over the same run in BF16, at the same kernel efficiency otherwise.

    Only the FP8-capable share runs at the FP8 peak, and FP8 GEMMs reach a lower share of their
    peak than BF16 ones (scaling, casts, smaller tiles): ``FP8_GEMM_EFFICIENCY``. Meta reports
    390 TFLOPS/GPU in FP8 for Llama 4 Behemoth on H100s, 20 % of the FP8 peak, about the share
    of the BF16 peak a BF16 run of that size reaches: FP8 is not twice BF16.
    """
    speedup = fp8_tflops / bf16_tflops * FP8_GEMM_EFFICIENCY
    return (1 - fp8_share) + fp8_share / speedup


# An assumption (see ``fp8_time_factor``), the same figure the estimator used before as a flat
# FP8 factor; with an 85-90 % FP8 share it makes FP8 about 1.25x faster than BF16 on an H100.
FP8_GEMM_EFFICIENCY = 0.65
