"""Floating-point operations a workload needs.

Training counts 6·N·D (2 forward, 4 backward per parameter and token; N the *active* parameters for
MoE) plus, when the layer shape is given, PaLM's attention term 12·L·d·s per token (Chowdhery et
al. 2022, appendix B). The calibration runs were fitted on plain 6·N·D, so the attention term is
only added when the caller states the shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from suanli.estimate.workload import Workload


@dataclass(frozen=True, slots=True)
class InferenceFlops:
    prefill: float
    decode: float

    @property
    def total(self) -> float:
        return self.prefill + self.decode


def training_flops(w: Workload) -> float:
    tokens = w.tokens_b * 1e9
    n = w.active_b * 1e9
    if w.kind == "lora":
        # Frozen base: forward (2N) and the gradient w.r.t. activations (2N); adapter weight
        # gradients are a rounding error next to that.
        per_token = 4 * n + (8 * _attention(w) if w.layers is not None else 0.0)
    else:
        per_token = 6 * n + (12 * _attention(w) if w.layers is not None else 0.0)
    return per_token * tokens


def _attention(w: Workload) -> float:
    layers, hidden, _ = w.shape()
    return float(layers * hidden * w.seq_len)


def inference_flops(w: Workload) -> InferenceFlops:
    """2·N per token through the model, plus QK·V attention over the context when shaped."""
    requests = w.inference_requests()
    n = w.active_b * 1e9
    prefill = 2 * n * w.tokens_in
    decode = 2 * n * w.out_tokens
    if w.layers is not None:
        layers, hidden, _ = w.shape()
        # Causal attention: on average half the context, 4·L·d flops per (token, context token).
        prefill += 4 * layers * hidden * w.tokens_in * w.tokens_in / 2
        decode += 4 * layers * hidden * w.out_tokens * (w.tokens_in + w.out_tokens / 2)
    return InferenceFlops(prefill * requests, decode * requests)


def workload_flops(w: Workload) -> float:
    return training_flops(w) if w.is_training else inference_flops(w).total
