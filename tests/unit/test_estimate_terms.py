"""Each FLOPs, scale and overhead term of the estimator against a hand-computed case."""

from __future__ import annotations

import dataclasses
import math

import pytest

from suanli.errors import ValidationError
from suanli.estimate import flops, mfu, scale
from suanli.estimate.api import Estimate
from suanli.estimate.interconnect import DEFAULTS, FALLBACK, Interconnect, default_for
from suanli.estimate.workload import Workload
from suanli.services.catalog import load_catalog
from suanli.services.estimates import estimate

# A small shaped dense model: 32 layers × 4096, 32k vocabulary, 4k sequences.
DENSE = Workload("pretrain", 7, tokens_b=1, seq_len=4096, layers=32, hidden=4096, vocab=32000)
NVLINK8 = Interconnect(8, 3600.0, 400.0)


def test_untied_input_embedding_does_no_matmul() -> None:
    # 6·(7e9 − 32000·4096) + 12·32·4096·4096 per token.
    f = flops.training_breakdown(DENSE)
    assert f.matmul_per_token == pytest.approx(6 * (7e9 - 32000 * 4096))
    assert f.attention_per_token == pytest.approx(12 * 32 * 4096 * 4096)
    tied = flops.training_breakdown(dataclasses.replace(DENSE, tied_embeddings=True))
    assert tied.matmul_per_token == pytest.approx(6 * 7e9)


def test_recomputation_adds_a_forward() -> None:
    n = 7e9 - 32000 * 4096
    attention = 32 * 4096 * 4096
    full = flops.training_breakdown(dataclasses.replace(DENSE, recompute="full"))
    assert full.recompute_per_token == pytest.approx(2 * n + 4 * attention)
    selective = flops.training_breakdown(dataclasses.replace(DENSE, recompute="selective"))
    assert selective.recompute_per_token == pytest.approx(4 * attention)
    assert flops.training_flops(
        dataclasses.replace(DENSE, recompute="full")
    ) > flops.training_flops(DENSE)


def test_fp8_share_is_the_block_linears() -> None:
    # Block linears: 6·(N − input table − head) of the per-token total.
    f = flops.training_breakdown(DENSE)
    blocks = 6 * (7e9 - 2 * 32000 * 4096)
    assert f.fp8_share == pytest.approx(blocks / f.per_token)
    assert 0.8 < f.fp8_share < 0.9


def test_fp8_time_factor() -> None:
    # H100: 1979/989 peak ratio × 0.65 efficiency = 1.3006× on the FP8 share.
    speedup = 1979 / 989 * scale.FP8_GEMM_EFFICIENCY
    assert scale.fp8_time_factor(0.85, 989, 1979) == pytest.approx(0.15 + 0.85 / speedup)
    assert scale.fp8_time_factor(0.0, 989, 1979) == 1.0
    assert 0.7 < scale.fp8_time_factor(0.85, 989, 1979) < 0.85  # not twice BF16


def _job(**changes: object) -> scale.Job:
    base = scale.Job(
        flops_per_token=6 * 3e9,
        active_params=3e9,
        total_params=3e9,
        layers=32,
        hidden=2048,
        seq_len=4096,
        batch_tokens=2_000_000,
        count=384,
        memory_gb=80,
        interconnect=NVLINK8,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_data_parallel_ratio_hand_computed() -> None:
    # 3B fits on one chip: DP 384. Gradients 2·2·3e9 B over 8 pooled 50 GB/s NICs (400 GB/s)
    # = 0.03 s; compute 6·3e9·2e6/384 / 1e15 = 0.09375 s → ratio 0.32.
    terms = scale.scale_terms(_job(), 1e15)
    assert terms.layout == scale.Layout(1, 1, 384, 1)
    assert terms.dp_ratio == pytest.approx((12e9 / 400e9) / (6 * 3e9 * 2e6 / 384 / 1e15))
    assert terms.tp_ratio == terms.ep_ratio == terms.imbalance == 0.0


def test_more_replicas_for_the_same_batch_communicate_more() -> None:
    # Below 2e6 / 4096 = 488 replicas the batch stays 2M tokens: the ratio is linear in DP.
    small = scale.scale_terms(_job(count=64), 1e15).dp_ratio
    large = scale.scale_terms(_job(count=256), 1e15).dp_ratio
    assert large == pytest.approx(small * 256 / 64)


def test_tensor_parallel_ratio_hand_computed() -> None:
    # 70B: 280 GB replicated / 40 GB budget → 8-way model parallel; two 4k sequences per step.
    # PP 8 idles 7/(10 layers · 2 micro-batches) = 35 %, TP 8 sends 0.39× compute; TP 4 × PP 2
    # costs least: 0.17× compute sent, and a 1/(40 · 2) bubble.
    job = _job(
        flops_per_token=6 * 70e9,
        active_params=70e9,
        total_params=70e9,
        layers=80,
        hidden=8192,
        count=8,
        batch_tokens=8192,
    )
    terms = scale.scale_terms(job, 1e15)
    assert terms.layout == scale.Layout(4, 2, 1, 1)
    tp_bytes = 8 * 2 * (3 / 4) * 8192 * (80 / 2) * 8192
    compute_s = 6 * 70e9 * 8192 / 8 / 1e15
    assert terms.tp_ratio == pytest.approx(tp_bytes / 450e9 / compute_s)
    assert terms.bubble == pytest.approx(1 / (40 * 2))


def test_expert_all_to_all_and_imbalance_grow_with_ep() -> None:
    moe = _job(
        active_params=3e9,
        total_params=24e9,
        moe=True,
        experts=64,
        experts_active=8,
        count=64,
        expert_parallel=8,
    )
    at8 = scale.scale_terms(moe, 1e15)
    at64 = scale.scale_terms(dataclasses.replace(moe, expert_parallel=64), 1e15)
    assert at8.ep_ratio > 0 and at64.ep_ratio > at8.ep_ratio  # crosses the NVLink domain
    # Imbalance: 2/3 · 0.1/√(64/8) · √(2 ln 8) at EP 8.
    assert at8.imbalance == pytest.approx(2 / 3 * 0.1 / math.sqrt(8) * math.sqrt(2 * math.log(8)))
    assert at64.imbalance > at8.imbalance


def test_failure_overhead_from_llama3() -> None:
    # 419 interruptions in 54 days on 16,384 GPUs; 10 % lost at that size, 1.25 % at 2,048.
    assert scale.failure_overhead(16_384) == pytest.approx(0.10)
    assert scale.failure_overhead(2_048) == pytest.approx(0.0125)
    assert scale.expected_interruptions(16_384, 54 * 24) == pytest.approx(419)


def test_interconnect_defaults_and_bandwidths() -> None:
    h100 = default_for("nvidia-h100-sxm5-80gb").interconnect
    h800 = default_for("nvidia-h800-sxm5-80gb").interconnect
    assert h100 == Interconnect(8, 3600.0, 400)  # 900 GB/s both ways → 3,600 Gbit/s each way
    assert h800.scale_up_gbps_per_chip == 1600.0  # NVLink cut to 400 GB/s
    assert h100.bytes_per_s(8) == 450e9 and h100.bytes_per_s(16) == 50e9
    assert h100.allreduce_bytes_per_s(64, stride=1) == 400e9  # 8 NICs pooled per node
    assert h100.allreduce_bytes_per_s(64, stride=8) == 50e9  # TP 8: one member per node
    assert default_for("no-such-chip") is FALLBACK
    catalog_ids = {a.id for a in load_catalog()}
    assert set(DEFAULTS) <= catalog_ids
    assert all(row.source for row in DEFAULTS.values())


def test_interconnect_is_validated() -> None:
    with pytest.raises(ValidationError, match="scale_up_domain_chips"):
        Interconnect(0, 100.0, 100.0).validate()
    with pytest.raises(ValidationError, match="scale_out_gbps_per_chip"):
        Interconnect(8, 100.0, -1.0).validate()


def test_a_faster_network_makes_a_communication_bound_job_cheaper() -> None:
    w = Workload("pretrain", 3, tokens_b=100, global_batch_tokens=1_000_000)
    slow = estimate(w, "H100", count=2048, interconnect=Interconnect(8, 3600.0, 25.0))
    fast = estimate(w, "H100", count=2048, interconnect=Interconnect(384, 3600.0, 3600.0))
    assert isinstance(slow, Estimate) and isinstance(fast, Estimate)
    assert fast.accelerator_hours < slow.accelerator_hours
    assert any("communication-bound" in w for w in slow.warnings)


def test_outside_the_runs_says_so() -> None:
    huge = estimate(Workload("pretrain", 1000, tokens_b=1000), "H100", count=32_768)
    assert isinstance(huge, Estimate)
    assert any("outside the published runs" in w for w in huge.warnings)
    assert any("more than any published run" in w for w in huge.warnings)
    assert any("interruptions" in n for n in huge.notes)


def test_overlap_hides_communication_only_up_to_the_compute_time() -> None:
    # comm 0.5× compute, overlap 0.8: 0.4 hidden, 0.1 exposed → step 1.1 (×1.05 bubble + 0).
    light = scale.ScaleTerms(0.5, 0.0, 0.0, 0.0, scale.Layout(1, 1, 8, 1), bubble=0.05)
    assert light.step_factor(0.8) == pytest.approx(1 + 0.1 + 0.05)
    # comm 3× compute: at most 1× hides behind compute whatever the overlap → step 3.
    heavy = scale.ScaleTerms(3.0, 0.0, 0.0, 0.0, scale.Layout(1, 1, 8, 1))
    assert heavy.step_factor(1.0) == pytest.approx(3.0)
    assert heavy.step_factor(0.5) == pytest.approx(1 + 3.0 - 1.0)
    assert heavy.step_factor(1.0, comm=False) == 1.0


def test_a_default_batch_grows_with_the_replicas() -> None:
    # No published batch: 2 sequences per replica once that exceeds the default. 3B on 4096
    # chips: DP 4096 → 2 · 4096 · 4096 = 33.5M tokens per step; a given 2M batch is raised only
    # to one sequence per replica (16.8M): half the compute per step to hide the same gradients.
    given = _job(count=4096)
    default = _job(count=4096, batch_given=False)
    compute = scale.scale_terms(given, 1e15).dp_ratio
    grown = scale.scale_terms(default, 1e15).dp_ratio
    assert compute / grown == pytest.approx(2.0)
    # at 64 chips 2 · 64 · 4096 = 0.5M < 2M: the default changes nothing
    small = scale.scale_terms(_job(count=64, batch_given=False), 1e15).dp_ratio
    assert small == scale.scale_terms(_job(count=64), 1e15).dp_ratio


def test_the_roofline_coefficient_is_the_activation_traffic_estimate() -> None:
    # 5 passes over 34·d bytes per token and layer, 72·d² FLOPs, half the bandwidth sustained.
    assert math.isclose(mfu.ROOFLINE_C, 5 * 34 / 72 / 0.5)
    # an A100 (312 TFLOPS over 2.0 TB/s = 156 FLOP/B) at d = 512 vs d = 4096
    narrow = 1 + mfu.ROOFLINE_C * 156 / 512
    wide = 1 + mfu.ROOFLINE_C * 156 / 4096
    assert narrow / wide == pytest.approx(2.07, abs=0.01)


def test_the_decode_batch_is_what_the_kv_cache_leaves_room_for() -> None:
    from suanli.estimate import inference, memory

    h200 = load_catalog().find("H200")
    assert h200 is not None and h200.memory_gb is not None
    w = Workload(
        "inference", 13, layers=40, hidden=5120, precision="fp8",
        requests=1024, tokens_in=128, tokens_out=2048,
    )  # fmt: skip
    mem = memory.plan(w, h200, "fp8")
    # fp8 KV: 2 · 40 · 5120 · 1 B = 409.6 kB per token, 2176 tokens per sequence; the room is
    # 90 % of 141 GB less 13 GB of fp8 weights.
    free = h200.memory_gb * 1e9 * 0.9 - 13e9
    assert inference.decode_batch(w, mem, 1) == int(free // (409_600 * 2176))
    short = dataclasses.replace(w, tokens_out=128)  # 256 tokens: room for more than 1024
    assert inference.decode_batch(short, memory.plan(short, h200, "fp8"), 1) == 1024
