"""A workload as plain data: what is to be trained or served, with units in the field names."""

from __future__ import annotations

import dataclasses
import math
import operator
from dataclasses import dataclass
from typing import Literal, cast

from suanli.domain.catalog import PRECISIONS, Precision
from suanli.errors import ValidationError

Kind = Literal["pretrain", "finetune", "lora", "inference"]
KINDS: tuple[Kind, ...] = ("pretrain", "finetune", "lora", "inference")
Optimizer = Literal["adam", "adamw", "lion", "sgd", "adafactor"]
Recompute = Literal["none", "selective", "full"]
RECOMPUTES: tuple[Recompute, ...] = ("none", "selective", "full")
OPTIMIZERS: tuple[Optimizer, ...] = ("adam", "adamw", "lion", "sgd", "adafactor")
TRAINING_KINDS = frozenset({"pretrain", "finetune", "lora"})
# Width/depth ratio of common dense decoders (LLaMA-7B 4096/32, 70B 8192/80): used to guess the
# layer shape when the caller gives none, for activations and the KV cache only.
DEFAULT_ASPECT = 128
DEFAULT_TOKENS_OUT = 512
# Tokens per optimizer step when the caller gives none: LLaMA, Llama 2, BLOOM and StarCoder all
# trained with about 4M tokens per step (arXiv 2302.13971, 2307.09288, 2211.05100, 2305.06161).
DEFAULT_BATCH_TOKENS = 4_000_000
# Far past any real workload, and small enough that products of such figures (FLOPs, hours,
# chips) stay finite floats: past it, params_b=1e300 overflowed to infinity and then to a 500.
MAX_FIGURE = 1e12


@dataclass(frozen=True, slots=True)
class Workload:
    kind: Kind
    params_b: float
    active_params_b: float | None = None  # MoE: parameters touched per token
    tokens_b: float = 0.0  # training tokens, billions
    seq_len: int = 4096
    layers: int | None = None
    hidden: int | None = None
    micro_batch_seqs: int = 1
    precision: Precision = "bf16"
    allow_precision_fallback: bool = False
    optimizer: Optimizer = "adam"
    lora_rank: int = 16
    # Optional detail for the FLOPs and scale terms; None means "not stated" and a default.
    vocab: int | None = None  # with untied embeddings the input table does no matmul
    tied_embeddings: bool = False
    recompute: Recompute = "none"  # activation recomputation: extra forward work
    experts: int | None = None  # MoE: routed experts per layer
    experts_active: int | None = None  # MoE: routed experts per token (top-k)
    expert_parallel: int | None = None  # MoE: chips one layer's experts are spread over
    global_batch_tokens: int | None = None
    kv_heads: int | None = None  # grouped-query attention: key/value heads (of hidden/128)
    # Inference: a batch of requests, or a sustained output rate over a duration.
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    target_tokens_per_s: float | None = None
    duration_h: float = 1.0

    def shape_key(self) -> tuple[object, ...]:
        """Every field but the token count: what a training estimate reads besides it."""
        return _SHAPE_FIELDS(self)

    @property
    def active_b(self) -> float:
        return self.active_params_b if self.active_params_b is not None else self.params_b

    @property
    def is_moe(self) -> bool:
        return self.experts is not None or (
            self.active_params_b is not None and self.active_params_b < self.params_b
        )

    @property
    def batch_tokens(self) -> int:
        return self.global_batch_tokens or DEFAULT_BATCH_TOKENS

    @property
    def is_training(self) -> bool:
        return self.kind in TRAINING_KINDS

    def shape(self) -> tuple[int, int, bool]:
        """(layers, hidden, given): the caller's shape, or one guessed from the parameter count."""
        if self.layers is not None and self.hidden is not None:
            return self.layers, self.hidden, True
        # params ≈ 12·L·d² with d = 128·L  ⇒  L = (params / (12·128²))^(1/3). For MoE the
        # backbone is that of a dense model of the *active* size (DeepSeek-V3, 37B active:
        # 58 × 7424 guessed, 61 × 7168 published; Llama 4 Maverick, 17B: 47 × 6016 vs 48 × 5120).
        layers = max(2, round((self.active_b * 1e9 / (12 * DEFAULT_ASPECT**2)) ** (1 / 3)))
        return layers, layers * DEFAULT_ASPECT, False

    @property
    def out_tokens(self) -> int:
        """Output tokens per request (a rate without a length assumes DEFAULT_TOKENS_OUT)."""
        return self.tokens_out or DEFAULT_TOKENS_OUT

    def inference_requests(self) -> int:
        """Requests to serve: given, or enough to produce the target rate over the duration."""
        if self.target_tokens_per_s is None:
            return self.requests
        total = self.target_tokens_per_s * self.duration_h * 3600
        return max(1, math.ceil(total / self.out_tokens))

    def validate(self) -> Workload:
        if self.kind not in KINDS:
            raise ValidationError("kind", f"must be one of {', '.join(KINDS)}, got {self.kind!r}")
        _positive("params_b", self.params_b)
        if self.active_params_b is not None:
            _positive("active_params_b", self.active_params_b)
            if self.active_params_b > self.params_b:
                raise ValidationError("active_params_b", "must not exceed params_b")
        if self.precision not in PRECISIONS:
            raise ValidationError("precision", f"must be one of {', '.join(PRECISIONS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValidationError("optimizer", f"must be one of {', '.join(OPTIMIZERS)}")
        _positive_int("seq_len", self.seq_len)
        _positive_int("micro_batch_seqs", self.micro_batch_seqs)
        _positive_int("lora_rank", self.lora_rank)
        self._validate_detail()
        if (self.layers is None) != (self.hidden is None):
            raise ValidationError(
                "layers" if self.layers is None else "hidden", "give both or neither"
            )
        if self.layers is not None:
            _positive_int("layers", self.layers)
            _positive_int("hidden", cast(int, self.hidden))
        if not math.isfinite(self.tokens_b) or self.tokens_b < 0:
            raise ValidationError("tokens_b", f"must not be negative, got {self.tokens_b}")
        if self.is_training:
            _positive("tokens_b", self.tokens_b)
            if self.precision == "int8":
                raise ValidationError("precision", "int8 is for inference; train in bf16 or fp8")
        else:
            self._validate_inference()
        return self

    def _validate_detail(self) -> None:
        names = ("vocab", "experts", "experts_active", "expert_parallel", "global_batch_tokens")
        for name in (*names, "kv_heads"):
            value = getattr(self, name)
            if value is not None:
                _positive_int(name, value)
                if value > MAX_FIGURE:
                    raise ValidationError(name, f"must be at most {MAX_FIGURE:g}, got {value}")
        if self.recompute not in RECOMPUTES:
            raise ValidationError("recompute", f"must be one of {', '.join(RECOMPUTES)}")
        if not isinstance(self.tied_embeddings, bool):
            raise ValidationError("tied_embeddings", "must be true or false")
        if self.experts is not None and (self.experts_active or 1) > self.experts:
            raise ValidationError("experts_active", "must not exceed experts")
        if self.vocab is not None:
            layers, hidden, _ = self.shape()
            if self.vocab * hidden >= self.active_b * 1e9:
                raise ValidationError("vocab", "vocab × hidden must be below the parameter count")

    def _validate_inference(self) -> None:
        for name in ("requests", "tokens_in", "tokens_out"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValidationError(name, f"must be a whole number ≥ 0, got {value!r}")
        if self.target_tokens_per_s is not None:
            _positive("target_tokens_per_s", self.target_tokens_per_s)
            _positive("duration_h", self.duration_h)
        elif self.requests == 0 or self.tokens_out == 0:
            raise ValidationError("requests", "inference needs requests and tokens_out, or a rate")


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(name, f"must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValidationError(name, f"must be greater than 0, got {value}")
    if value > MAX_FIGURE:
        raise ValidationError(name, f"must be at most {MAX_FIGURE:g}, got {value}")


def _positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(name, f"must be a whole number greater than 0, got {value!r}")


_SHAPE_FIELDS = operator.attrgetter(
    *(f.name for f in dataclasses.fields(Workload) if f.name != "tokens_b")
)
