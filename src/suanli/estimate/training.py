"""What a training estimate reads besides the token count, worked out once per workload shape.

A training job's prediction (kernel utilisation, layout, scale terms, spread, warnings), its
precision, memory plan and most of its notes depend on the workload's shape (the workload less
its token count), the chip, the count and the cap; its hours are proportional to the tokens.
``estimate.api`` keeps a ``Shape`` per such key on the utilisation model and scales it, so the
many estimates of a quote (one per chip) with a new token count cost little each; the only
note that reads the hours is the interruptions' one (``interruptions``).
"""

from __future__ import annotations

from dataclasses import dataclass

from suanli.domain.catalog import Accelerator, Precision
from suanli.estimate import flops, mfu, scale
from suanli.estimate.interconnect import Interconnect
from suanli.estimate.memory import MemoryPlan
from suanli.estimate.workload import Workload


@dataclass(frozen=True, slots=True)
class Shape:
    precision: Precision
    mem: MemoryPlan
    peak_tflops: float
    used: int  # the accelerators the job runs on
    min_count: int  # the fewest that hold it
    pred: mfu.Prediction  # its hours per training token
    band: tuple[float, float]  # multipliers on hours at p10 and p90
    notes_before: tuple[str, ...]  # notes before the interruptions' one
    notes_after: tuple[str, ...]  # ... and after it


def shape_of(
    w: Workload, acc: Accelerator, precision: Precision, fallback_note: str, mem: MemoryPlan,
    peak_tflops: float, used: int, model: mfu.MfuModel, interconnect: Interconnect | None,
    confidence_note: str, tdp_note: str,
) -> Shape:  # fmt: skip
    pred = model.predict_per_token(mfu.case_for(w, acc, used, precision, interconnect))
    t = pred.terms
    lay = t.layout
    before = [fallback_note] if fallback_note else []
    before += [
        f"kernel utilisation {pred.kernel_util:.1%} of the bf16 peak ({pred.family})",
        f"layout TP {lay.tensor} × PP {lay.pipeline} × DP {lay.data}"
        + (f", EP {lay.expert}" if w.is_moe else "")
        + f"; communication {t.comm_ratio:.2f}× compute per step (data {t.dp_ratio:.2f}, "
        f"tensor {t.tp_ratio:.2f}, experts {t.ep_ratio:.2f})",
    ]
    after = []
    if not w.shape()[2]:
        after.append("layer shape guessed from the parameter count for the attention term")
    if t.imbalance:
        after.append(f"MoE load imbalance adds {t.imbalance:.1%} to each step")
    if precision == "fp8":
        after.append(
            f"fp8: {flops.training_breakdown(w).fp8_share:.0%} of FLOPs in FP8 GEMMs at "
            f"{scale.FP8_GEMM_EFFICIENCY} of the bf16 GEMM efficiency; the rest in bf16"
        )
    if w.active_params_b is not None:
        after.append("MoE: FLOPs from active parameters, memory from total parameters")
    after += [n for n in (confidence_note, tdp_note) if n]
    assert mem.min_count is not None  # the caller refuses a plan without one
    return Shape(precision, mem, peak_tflops, used, mem.min_count, pred, pred.band(),
                 tuple(before), tuple(after))  # fmt: skip


def interruptions(pred: mfu.Prediction, count: int, wall_hours: float) -> str:
    return (
        f"includes {pred.failure_overhead:.1%} for interruptions "
        f"(~{scale.expected_interruptions(count, wall_hours):.0f} expected on {count} chips); "
        "excludes evaluation, ablations and stages not in the token count"
    )


def chip_notes(acc: Accelerator) -> tuple[str, str]:
    """The catalog's caveats on a chip: a widened band, an unknown energy ("" if none)."""
    return (
        "" if acc.confidence == "solid"
        else f"catalog confidence for {acc.id} is {acc.confidence}: band widened",
        f"no TDP in the catalog for {acc.id}: energy unknown" if acc.tdp_w is None else "",
    )  # fmt: skip
