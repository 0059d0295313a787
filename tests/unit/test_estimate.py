"""Estimator formulas against hand-computed cases, and its refusals."""

from __future__ import annotations

import dataclasses

import pytest

from suanli.errors import NotFoundError, ValidationError
from suanli.estimate import flops, memory
from suanli.estimate.api import Estimate, Infeasible
from suanli.estimate.calibration import load_runs
from suanli.estimate.energy import energy_kwh
from suanli.estimate.validation import leave_one_out
from suanli.estimate.workload import Workload
from suanli.paths import data_dir
from suanli.services.catalog import get_accelerator, load_catalog
from suanli.services.estimates import estimate, relative_speed

SEVEN_B = Workload("finetune", 7, tokens_b=20, seq_len=2048, layers=32, hidden=4096)


def test_dense_70b_on_2t_tokens_is_6nd_plus_attention() -> None:
    # 6·N·D = 8.4e23, plus PaLM's 12·L·d·s with the guessed shape: L = round((70e9 /
    # (12·128²))^(1/3)) = 71, d = 71·128 = 9088, s = 4096 → 3.17e10 per token, 9.03e23 in all.
    w = Workload("pretrain", 70, tokens_b=2000)
    assert w.shape() == (71, 9088, False)
    per_token = 6 * 70e9 + 12 * 71 * 9088 * 4096
    assert flops.training_flops(w) == pytest.approx(per_token * 2000e9)


def test_moe_counts_active_parameters() -> None:
    # The backbone shape is guessed from the 37B active: L = 57, d = 7296.
    moe = Workload("pretrain", 671, active_params_b=37, tokens_b=14800)
    assert moe.shape() == (57, 7296, False)
    per_token = 6 * 37e9 + 12 * 57 * 7296 * 4096
    assert flops.training_flops(moe) == pytest.approx(per_token * 14.8e12)


def test_attention_term_when_shape_given() -> None:
    # 6·N + 12·L·d·s per token: 6·7e9 + 12·32·4096·2048 = 4.2e10 + 3.221e9
    per_token = 6 * 7e9 + 12 * 32 * 4096 * 2048
    assert flops.training_flops(SEVEN_B) == pytest.approx(per_token * 20e9)


def test_lora_is_forward_plus_activation_gradients() -> None:
    # 4·N for the frozen base plus 8·L·d·s attention (guessed shape 33 × 4224).
    lora = Workload("lora", 7, tokens_b=1)
    assert flops.training_flops(lora) == pytest.approx((4 * 7e9 + 8 * 33 * 4224 * 4096) * 1e9)


def test_inference_flops_two_per_parameter_per_token() -> None:
    w = Workload("inference", 7, requests=10, tokens_in=100, tokens_out=50)
    f = flops.inference_flops(w)
    assert (f.prefill, f.decode) == (
        pytest.approx(2 * 7e9 * 100 * 10),
        pytest.approx(2 * 7e9 * 500),
    )


def test_mixed_precision_adam_is_16_bytes_per_param() -> None:
    assert memory.training_bytes_per_param("bf16", "adam") == 16
    assert memory.training_bytes_per_param("fp32", "adam") == 16
    assert memory.training_bytes_per_param("bf16", "sgd") == 12


def test_min_count_on_80gb_and_32gb() -> None:
    # Sharded: 7e9 × 16 B = 112 GB. Every chip: activations 2048·4096·(32·2 + 34) B
    # = 0.822 GB, plus two gathered layers 2·(7e9/32)·2 B = 0.875 GB: 1.697 GB.
    # 80 GB × 0.9 = 72 GB → 112 / 70.30 = 1.59 → 2 chips; 32 GB × 0.9 = 28.8 → 112 / 27.10 → 5.
    a100 = get_accelerator("A100-80GB")
    plan = memory.plan(SEVEN_B, a100)
    assert plan.sharded_bytes == pytest.approx(112e9)
    assert plan.per_chip_bytes == pytest.approx(2048 * 4096 * 98 + 875e6)
    assert memory.min_count(SEVEN_B, a100) == 2
    assert memory.min_count(SEVEN_B, dataclasses.replace(a100, figures=_memory(a100, 32))) == 5


def _memory(acc: object, gb: float) -> dict[str, object]:
    figures = dict(acc.figures)  # type: ignore[attr-defined]
    figures["memory_gb"] = dataclasses.replace(figures["memory_gb"], value=gb)
    return figures


def test_estimate_70b_on_a100s_has_the_required_figures() -> None:
    result = estimate(Workload("pretrain", 70, tokens_b=2000), "a100-80gb", count=2048)
    assert isinstance(result, Estimate)
    # 6·N·D plus the attention term on the guessed 71 × 9088 shape (see the FLOPs test above).
    assert result.flops == pytest.approx(9.0343e23, rel=1e-4)
    assert result.accelerator_hours_p10 < result.accelerator_hours < result.accelerator_hours_p90
    assert result.wall_hours == pytest.approx(result.accelerator_hours / 2048)
    # Llama 2 70B published 1,720,320 A100-hours for 2T tokens.
    assert 0.8 < result.accelerator_hours / 1_720_320 < 1.25
    assert result.count == 2048 and result.min_count <= 2048


def test_without_count_the_smallest_fitting_count_is_used() -> None:
    result = estimate(SEVEN_B, "H800")
    assert isinstance(result, Estimate)
    assert result.count == result.min_count == memory.min_count(SEVEN_B, get_accelerator("H800"))


def test_fp8_refused_on_910b_without_fallback() -> None:
    result = estimate(dataclasses.replace(SEVEN_B, precision="fp8"), "910B")
    assert isinstance(result, Infeasible)
    assert result.code == "precision_unsupported"
    assert "fp8" in result.reason and "910B" in result.reason


def test_fp8_falls_back_to_bf16_with_a_note() -> None:
    w = dataclasses.replace(SEVEN_B, precision="fp8", allow_precision_fallback=True)
    result = estimate(w, "910B")
    assert isinstance(result, Estimate)
    assert result.precision_used == "bf16"
    assert any("fallback" in note for note in result.notes)


def test_fp8_on_h100_is_faster_than_bf16() -> None:
    bf16 = estimate(SEVEN_B, "H100", count=8)
    fp8 = estimate(dataclasses.replace(SEVEN_B, precision="fp8"), "H100", count=8)
    assert isinstance(bf16, Estimate) and isinstance(fp8, Estimate)
    assert fp8.precision_used == "fp8"
    assert fp8.accelerator_hours < bf16.accelerator_hours


def test_model_too_large_for_any_count() -> None:
    result = estimate(Workload("pretrain", 100_000, tokens_b=1), "RTX 4090")
    assert isinstance(result, Infeasible)
    assert result.code == "too_large"
    assert "fits on no count" in result.reason


def test_count_too_small_and_offer_cap() -> None:
    small = estimate(Workload("pretrain", 70, tokens_b=1), "A100", count=4)
    assert isinstance(small, Infeasible) and small.code == "count_too_small"
    capped = estimate(Workload("pretrain", 70, tokens_b=1), "A100", max_count=8)
    assert isinstance(capped, Infeasible) and capped.code == "too_large"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tokens_b": -5.0}, "tokens_b"),
        ({"params_b": 0.0}, "params_b"),
        ({"active_params_b": 80.0}, "active_params_b"),
        ({"kind": "dream"}, "kind"),
        ({"precision": "fp4"}, "precision"),
        ({"layers": 32, "hidden": None}, "hidden"),
    ],
)
def test_bad_workloads_name_the_field(changes: dict[str, object], field: str) -> None:
    w = dataclasses.replace(Workload("pretrain", 70, tokens_b=10), **changes)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as err:
        estimate(w, "A100")
    assert err.value.field == field


def test_unknown_accelerator_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no-such-chip"):
        estimate(SEVEN_B, "no-such-chip")


def test_bad_terms_name_the_field() -> None:
    with pytest.raises(ValidationError, match="pue"):
        estimate(SEVEN_B, "A100", pue=0.5)
    with pytest.raises(ValidationError, match="count"):
        estimate(SEVEN_B, "A100", count=0)


def test_energy_and_cost() -> None:
    # 8 chips × 700 W × 0.8 load × 10 h × PUE 1.25 = 56 kWh
    assert energy_kwh(8, 700, 10, 1.25, training=True) == pytest.approx(56.0)
    result = estimate(SEVEN_B, "H800", count=8, pue=1.25, price_fen_per_accel_hour=2000)
    assert isinstance(result, Estimate) and result.energy_kwh is not None
    assert result.cost_fen == round(result.accelerator_hours * 2000)
    assert isinstance(result.cost_fen, int)
    assert result.energy_kwh == pytest.approx(
        energy_kwh(8, 700, result.wall_hours, 1.25, training=True)
    )


def test_chips_without_runs_get_wider_bands() -> None:
    # The Ascend 910B/910C family now has published runs (Index-1.9B, Pangu Ultra MoE); the
    # Cambricon MLU370-X8 has none.
    a100 = estimate(SEVEN_B, "A100", count=8)
    mlu = estimate(SEVEN_B, "MLU370-X8", count=8)
    assert isinstance(a100, Estimate) and isinstance(mlu, Estimate)
    width = [e.accelerator_hours_p90 / e.accelerator_hours_p10 for e in (a100, mlu)]
    assert width[1] > width[0]
    assert any("prior" in w for w in mlu.warnings)


def test_inference_by_requests_and_by_rate() -> None:
    batch = estimate(Workload("inference", 8, requests=1000, tokens_in=500, tokens_out=200), "H20")
    assert isinstance(batch, Estimate) and batch.accelerator_hours > 0
    rate = Workload("inference", 8, tokens_in=500, tokens_out=200, target_tokens_per_s=2000)
    faster = estimate(dataclasses.replace(rate, target_tokens_per_s=20000), "H20")
    slower = estimate(rate, "H20")
    assert isinstance(faster, Estimate) and isinstance(slower, Estimate)
    assert faster.count > slower.count and slower.wall_hours == 1.0


def test_relative_speed() -> None:
    assert relative_speed("A100", "A100") == pytest.approx(1.0)
    assert relative_speed("A100", "H100") > 1.5
    assert relative_speed("H100", "H20") < 0.5
    with pytest.raises(ValidationError):
        relative_speed("A100", "910B", "fp8")


def test_leave_one_out_and_by_family() -> None:
    # Reported and derived (chips × wall time) hours are fitted; upper bounds only compared.
    report = leave_one_out(load_runs(data_dir() / "training-runs.csv", load_catalog()))
    assert len(report.fitted) == len(report.by_family) >= 40
    assert all(c.run.hours_kind in ("reported", "derived") for c in report.fitted)
    assert all(c.run.hours_kind == "upper_bound" for c in report.compared)
    assert report.mdape <= 0.20
    assert report.family_mdape <= 0.30  # holding out a whole organisation costs more
    assert 0.70 <= report.coverage <= 0.95 and 0.70 <= report.family_coverage <= 0.95
