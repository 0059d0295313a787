"""Floating-point operations a workload needs.

Training, per token (N the *active* parameters for MoE):

- matmuls: 6·N (2 forward, 4 backward per parameter; Kaplan et al. 2020), less the input
  embedding table when it is untied: a lookup, not a matmul (6·V·d fewer);
- attention: 12·L·d·s, the QKᵀ and ·V products over the sequence (PaLM, Chowdhery et al. 2022,
  appendix B). The layer shape is the caller's, or guessed from N (``Workload.shape``);
- recomputation: ``full`` runs every forward twice (+2·N' + 4·L·d·s, a third more);
  ``selective`` recomputes only the attention core (+4·L·d·s; Korthikanti et al. 2022).

LoRA keeps the base frozen: forward (2·N) and activation gradients (2·N), 8·L·d·s for attention.
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


@dataclass(frozen=True, slots=True)
class TrainingFlops:
    """Per-token terms, FLOPs; ``total`` is over all training tokens."""

    matmul_per_token: float
    attention_per_token: float
    recompute_per_token: float
    # The linear layers inside the blocks, forward, backward and recomputed: what FP8 recipes
    # run in FP8. Attention's softmax products, the embedding and output head, norms and routing
    # stay in BF16 (DeepSeek-V3, arXiv 2412.19437 s3.3.1; NVIDIA Transformer Engine likewise).
    fp8_capable_per_token: float
    tokens: float

    @property
    def per_token(self) -> float:
        return self.matmul_per_token + self.attention_per_token + self.recompute_per_token

    @property
    def total(self) -> float:
        return self.per_token * self.tokens

    @property
    def fp8_share(self) -> float:
        per_token = self.per_token
        return max(0.0, min(1.0, self.fp8_capable_per_token / per_token)) if per_token else 0.0


def embedding_params(w: Workload) -> float:
    """Parameters that cost no matmul: the input embedding table when untied from the head."""
    if w.vocab is None or w.tied_embeddings:
        return 0.0
    _, hidden, _ = w.shape()
    return float(w.vocab * hidden)


def training_breakdown(w: Workload) -> TrainingFlops:
    layers, hidden, _ = w.shape()
    n = w.active_b * 1e9 - embedding_params(w)
    attention = float(layers * hidden * w.seq_len)
    blocks = n - (float(w.vocab * hidden) if w.vocab is not None else 0.0)  # less the head
    tokens = w.tokens_b * 1e9
    if w.kind == "lora":
        return TrainingFlops(4 * n, 8 * attention, 0.0, 4 * blocks, tokens)
    recompute, recompute_fp8 = 0.0, 0.0
    if w.recompute == "full":
        recompute, recompute_fp8 = 2 * n + 4 * attention, 2 * blocks
    elif w.recompute == "selective":
        recompute = 4 * attention
    return TrainingFlops(6 * n, 12 * attention, recompute, 6 * blocks + recompute_fp8, tokens)


def training_flops(w: Workload) -> float:
    return training_breakdown(w).total


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
