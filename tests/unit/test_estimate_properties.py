"""Properties of the estimator over many workloads (Hypothesis, derandomised)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.estimate import memory
from suanli.estimate.api import Estimate
from suanli.estimate.workload import Workload
from suanli.services.catalog import load_catalog
from suanli.services.estimates import estimate

CHIPS = [a for a in load_catalog() if a.peak_tflops("bf16") and a.memory_gb]


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    params_b=st.floats(0.1, 400),
    tokens_b=st.floats(0.01, 5000),
    chip=st.sampled_from(CHIPS),
    kind=st.sampled_from(["pretrain", "finetune", "lora"]),
)
def test_more_tokens_never_cost_fewer_hours(
    params_b: float, tokens_b: float, chip: object, kind: str
) -> None:
    w = Workload(kind, params_b, tokens_b=tokens_b)  # type: ignore[arg-type]
    one = estimate(w, chip, count=None)  # type: ignore[arg-type]
    two = estimate(Workload(kind, params_b, tokens_b=tokens_b * 2), chip)  # type: ignore[arg-type]
    assert type(one) is type(two)
    if isinstance(one, Estimate) and isinstance(two, Estimate):
        assert two.accelerator_hours >= one.accelerator_hours
        assert one.accelerator_hours_p10 <= one.accelerator_hours <= one.accelerator_hours_p90
        assert one.count >= one.min_count
        assert memory.plan(w, chip).per_chip_gb(one.count) <= chip.memory_gb  # type: ignore[attr-defined]


@settings(derandomize=True, max_examples=60, deadline=None)
@given(params_b=st.floats(0.1, 2000), chip=st.sampled_from(CHIPS))
def test_bigger_models_need_at_least_as_many_chips(params_b: float, chip: object) -> None:
    small = memory.min_count(Workload("pretrain", params_b, tokens_b=1), chip)  # type: ignore[arg-type]
    big = memory.min_count(Workload("pretrain", params_b * 1.5, tokens_b=1), chip)  # type: ignore[arg-type]
    if small is None:
        assert big is None
    elif big is not None:
        assert big >= small
