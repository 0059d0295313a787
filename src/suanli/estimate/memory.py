"""Whether a workload fits in accelerator memory, and on how few chips.

Training shards weights, gradients and optimizer states over all chips (ZeRO-3 / FSDP), keeps
layer-boundary activations (activation checkpointing) and gathers two layers' weights at a time.
What cannot be sharded must fit on every chip; a model for which even that does not fit, or that
would need more than ``MAX_COUNT`` chips, fits on no count at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from suanli.domain.catalog import Accelerator, Precision
from suanli.estimate.workload import Workload

GB = 1e9
USABLE_FRACTION = 0.9  # runtime context, allocator fragmentation
MAX_COUNT = 65_536
# Sequences one engine keeps in flight: the KV cache's room decides below it. TensorRT-LLM's
# H200 table runs batches up to 1024 on one GPU (docs/source/blogs/H200launch.md).
MAX_DECODE_BATCH = 2048
BYTES_PER_VALUE: dict[Precision, int] = {
    "fp32": 4,
    "tf32": 4,
    "bf16": 2,
    "fp16": 2,
    "fp8": 1,
    "int8": 1,
}
# fp32 optimizer moments per parameter.
OPTIMIZER_STATE_BYTES = {"adam": 8, "adamw": 8, "lion": 4, "sgd": 4, "adafactor": 0}
# Bytes per element held for one layer's recomputation (Korthikanti et al. 2022, 34·s·b·h,
# without the s² attention scores that flash attention never stores).
LAYER_WORKING_BYTES = 34


def training_bytes_per_param(precision: Precision, optimizer: str) -> int:
    """Weights + gradients + optimizer states; mixed precision keeps an fp32 master copy.

    Mixed-precision Adam: 2 (bf16 weights) + 2 (grads) + 4 (fp32 master) + 8 (moments) = 16.
    """
    moments = OPTIMIZER_STATE_BYTES[optimizer]
    if BYTES_PER_VALUE[precision] == 4:
        return 4 + 4 + moments
    return 2 + 2 + 4 + moments  # fp8 training still keeps bf16 weights and gradients


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    sharded_bytes: float  # divided over the chips
    per_chip_bytes: float  # needed on every chip whatever the count
    usable_bytes: float  # per chip
    min_count: int | None  # None: fits on no count

    @property
    def reason(self) -> str:
        need = self.sharded_bytes / GB
        if self.per_chip_bytes >= self.usable_bytes:
            return (
                f"needs {self.per_chip_bytes / GB:.1f} GB on every chip (activations and one "
                f"layer) but only {self.usable_bytes / GB:.1f} GB is usable"
            )
        return f"needs {need:,.0f} GB of model state, more than {MAX_COUNT} chips can hold"

    def per_chip_gb(self, count: int) -> float:
        return (self.sharded_bytes / count + self.per_chip_bytes) / GB


HEAD_DIM = 128  # LLaMA, Qwen, DeepSeek dense models: heads of 128 values


def kv_bytes_per_token(w: Workload) -> float:
    layers, hidden, _ = w.shape()
    # Keys and values per layer: all heads unless the caller gives grouped-query KV heads.
    width = hidden if w.kv_heads is None else min(hidden, w.kv_heads * HEAD_DIM)
    return 2.0 * layers * width * BYTES_PER_VALUE[_kv_precision(w.precision)]


def _kv_precision(precision: Precision) -> Precision:
    return "bf16" if BYTES_PER_VALUE[precision] >= 2 else precision


def plan(w: Workload, acc: Accelerator, precision: Precision | None = None) -> MemoryPlan:
    prec = precision or w.precision
    usable = (acc.memory_gb or 0.0) * GB * USABLE_FRACTION
    layers, hidden, _ = w.shape()
    params = w.params_b * 1e9
    if w.is_training:
        sharded, per_chip = _training(w, prec, params, layers, hidden)
    else:
        sharded = params * BYTES_PER_VALUE[prec]
        ctx = w.tokens_in + w.out_tokens
        per_chip = kv_bytes_per_token(w) * ctx  # at least one sequence's cache
    return MemoryPlan(sharded, per_chip, usable, _min_count(sharded, per_chip, usable))


def _training(
    w: Workload, prec: Precision, params: float, layers: int, hidden: int
) -> tuple[float, float]:
    value_bytes = max(2, BYTES_PER_VALUE[prec])
    if w.kind == "lora":
        trainable = layers * 4 * 2 * w.lora_rank * hidden  # q, k, v, o adapters, A and B
        sharded = params * BYTES_PER_VALUE[prec] + trainable * training_bytes_per_param(
            prec, w.optimizer
        )
    else:
        sharded = params * training_bytes_per_param(prec, w.optimizer)
    tokens = w.seq_len * w.micro_batch_seqs
    activations = tokens * hidden * (layers * value_bytes + LAYER_WORKING_BYTES)
    gathered = 2 * params / layers * value_bytes
    return sharded, activations + gathered


def _min_count(sharded: float, per_chip: float, usable: float) -> int | None:
    room = usable - per_chip
    if room <= 0:
        return None
    count = max(1, math.ceil(sharded / room))
    return count if count <= MAX_COUNT else None


def min_count(w: Workload, acc: Accelerator) -> int | None:
    """The fewest chips that hold the workload, or None when no count does."""
    return plan(w, acc).min_count
