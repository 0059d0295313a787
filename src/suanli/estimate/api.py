"""The estimator's one entry point: a workload on an accelerator → hours, count, energy, cost.

Business infeasibility on a chip (precision it cannot run, model too large for any count, a count
too small) is *returned* as ``Infeasible`` with a reason; malformed input raises.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from suanli.domain.catalog import Accelerator, Precision
from suanli.domain.money import MINOR_UNITS
from suanli.errors import ValidationError
from suanli.estimate import energy, flops, mfu, training
from suanli.estimate.inference import serve
from suanli.estimate.interconnect import Interconnect
from suanli.estimate.memory import MAX_COUNT, MemoryPlan, plan
from suanli.estimate.outcome import Infeasible as Infeasible  # re-exported: callers import it here
from suanli.estimate.workload import Workload

# Precisions a request may fall back to, in order, when it allows a fallback.
FALLBACKS: dict[str, tuple[Precision, ...]] = {
    "fp8": ("bf16", "fp16"),
    "bf16": ("fp16",),
    "fp16": ("bf16",),
    "int8": ("fp8", "bf16", "fp16"),
    "tf32": ("fp32",),
    "fp32": ("tf32",),
}
# The workload relative_speed compares chips on: a 7B model pre-trained on 64 chips.
REFERENCE = Workload("pretrain", 7.0, tokens_b=100.0)
REFERENCE_COUNT = 64


@dataclass(slots=True)
class Estimate:
    """One feasible estimate. Read-only by convention: not ``frozen`` because a frozen
    dataclass of this size costs several microseconds to build, once per offer in a quote."""

    accelerator_id: str
    kind: str
    flops: float
    utilization: float
    accelerator_hours: float
    accelerator_hours_p10: float
    accelerator_hours_p90: float
    wall_hours: float
    min_count: int
    count: int
    energy_kwh: float | None
    precision_used: Precision
    peak_tflops: float
    memory_per_accel_gb: float
    notes: tuple[str, ...]
    cost_fen: int | None = None
    cost_fen_p10: int | None = None
    cost_fen_p90: int | None = None
    currency: str = "CNY"
    # What the estimator cannot model well for this workload (outside the published runs).
    warnings: tuple[str, ...] = ()
    feasible: Literal[True] = True

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["notes"] = list(self.notes)
        data["warnings"] = list(self.warnings)
        return data

    def cost_fen_at(self, price_fen_per_accel_hour: int) -> int:
        """What these hours cost at a price per accelerator-hour, rounded half to even: every
        quote path prices with it (the arrays' ``np.rint`` rounds the same way)."""
        return round(self.accelerator_hours * price_fen_per_accel_hour)

    def priced(self, price_fen_per_accel_hour: int | None, pue: float, currency: str) -> Estimate:
        """This estimate (made at PUE 1, unpriced) at a site's PUE and an offer's price.

        Spelled out rather than ``dataclasses.replace``: it runs once per offer in a quote.
        """
        price = price_fen_per_accel_hour
        hours = self.accelerator_hours
        return Estimate(
            self.accelerator_id,
            self.kind,
            self.flops,
            self.utilization,
            hours,
            self.accelerator_hours_p10,
            self.accelerator_hours_p90,
            self.wall_hours,
            self.min_count,
            self.count,
            None if self.energy_kwh is None else self.energy_kwh * pue,
            self.precision_used,
            self.peak_tflops,
            self.memory_per_accel_gb,
            self.notes,
            None if price is None else self.cost_fen_at(price),
            None if price is None else round(self.accelerator_hours_p10 * price),
            None if price is None else round(self.accelerator_hours_p90 * price),
            currency,
            self.warnings,
        )


EstimateOutcome = Estimate | Infeasible


def estimate(
    workload: Workload,
    accelerator: Accelerator,
    *,
    model: mfu.MfuModel,
    count: int | None = None,
    pue: float = 1.0,
    price_fen_per_accel_hour: int | None = None,
    currency: str = "CNY",
    max_count: int | None = None,
    interconnect: Interconnect | None = None,
) -> EstimateOutcome:
    """Estimate ``workload`` on ``accelerator`` with the utilisation ``model``.

    ``count`` None picks the smallest count that fits (or, for a target rate, that keeps up).
    ``max_count`` caps it, e.g. at an offer's size. ``interconnect`` overrides the chip's default
    (``interconnect.default_for``), e.g. for a rack-scale system. Catalog lookup by name and the
    model fitted on the shipped runs live in ``suanli.services.estimates``.
    """
    workload.validate()
    check_terms(count=count, pue=pue, price=price_fen_per_accel_hour, currency=currency)
    if interconnect is not None:
        interconnect.validate()
    return estimate_checked(
        workload,
        accelerator,
        count=count,
        pue=pue,
        price_fen_per_accel_hour=price_fen_per_accel_hour,
        currency=currency,
        max_count=max_count,
        model=model,
        interconnect=interconnect,
    )


def check_terms(*, count: int | None, pue: float, price: int | None, currency: str) -> None:
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValidationError("count", f"must be a whole number ≥ 1, got {count!r}")
    if not 1.0 <= pue <= 3.0:
        raise ValidationError("pue", f"must be between 1.0 and 3.0, got {pue}")
    if price is not None and (isinstance(price, bool) or not isinstance(price, int) or price < 0):
        raise ValidationError("price_fen_per_accel_hour", "must be a whole number of fen ≥ 0")
    if currency not in MINOR_UNITS:
        raise ValidationError("currency", f"unknown currency {currency!r}")


def choose_precision(w: Workload, acc: Accelerator) -> tuple[Precision, str] | Infeasible:
    """The precision to run in, and a note when it is a fallback."""
    if _runs(acc, w.precision):
        return w.precision, ""
    runs = ", ".join(sorted(acc.precisions)) or "none listed"
    if w.allow_precision_fallback:
        for alt in FALLBACKS.get(w.precision, ()):
            if _runs(acc, alt):
                note = f"{acc.model} has no {w.precision}; estimated in {alt} (fallback allowed)"
                return alt, note
    hint = "" if w.allow_precision_fallback else "; allow a precision fallback to run it in bf16"
    return Infeasible(
        acc.id,
        "precision_unsupported",
        f"{acc.model} does not run {w.precision} (runs: {runs}){hint}",
    )


def _runs(acc: Accelerator, precision: Precision) -> bool:
    return precision in acc.precisions and acc.peak_tflops(precision) is not None


def estimate_checked(
    w: Workload,
    acc: Accelerator,
    *,
    count: int | None,
    pue: float,
    price_fen_per_accel_hour: int | None,
    currency: str,
    max_count: int | None,
    model: mfu.MfuModel,
    interconnect: Interconnect | None = None,
) -> EstimateOutcome:
    """``estimate`` for input already validated: the per-offer path of a quote.

    Everything but energy and cost depends only on (workload, chip, count, cap, interconnect),
    so it is memoised on the model: a quote over many offers of a few chip models computes each
    once.
    """
    core = estimate_core(w, acc, count=count, max_count=max_count, model=model,
                         interconnect=interconnect)  # fmt: skip
    if isinstance(core, Infeasible):
        return core
    return core.priced(price_fen_per_accel_hour, pue, currency)


def estimate_core(
    w: Workload,
    acc: Accelerator,
    *,
    count: int | None,
    max_count: int | None,
    model: mfu.MfuModel,
    interconnect: Interconnect | None = None,
) -> EstimateOutcome:
    """The estimate at PUE 1 and without a price, memoised on the model: what every offer of
    one chip and size shares (``Estimate.priced`` adds an offer's PUE and price)."""
    limit = min(max_count or MAX_COUNT, MAX_COUNT)
    if w.is_training and limit < MAX_COUNT:
        # Training reads the cap only to refuse a count above it: the uncapped estimate is the
        # capped one wherever it fits, so offers of one chip and several sizes share it.
        whole = estimate_core(w, acc, count=count, max_count=MAX_COUNT, model=model,
                              interconnect=interconnect)  # fmt: skip
        if isinstance(whole, Estimate) and fits_within(whole, limit):
            return whole
    key = (w, acc.id, count, limit, interconnect)
    core = model.memo.get(key)
    if core is None:
        core = _estimate_core(w, acc, count, limit, model, interconnect)
        if len(model.memo) > 4096:
            model.memo.clear()
        model.memo[key] = core
    return core


def fits_within(uncapped: Estimate, limit: int) -> bool:
    """Whether a training estimate made without a cap is the one capped at ``limit``."""
    return uncapped.min_count <= limit and uncapped.count <= limit


def _estimate_core(
    w: Workload,
    acc: Accelerator,
    count: int | None,
    limit: int,
    model: mfu.MfuModel,
    interconnect: Interconnect | None,
) -> EstimateOutcome:
    """The estimate at PUE 1 and without a price."""
    if w.is_training:  # all but the hours kept per workload shape (``estimate.training``)
        key = ("training", w.shape_key(), acc.id, count, limit, interconnect)
        shape = model.memo.get(key)
        if shape is None:
            shape = model.memo[key] = _prepared(w, acc, count, limit, model, interconnect)
        return shape if isinstance(shape, Infeasible) else _trained(w, acc, shape)
    prepared = _prelude(w, acc, count, limit)
    if isinstance(prepared, Infeasible):
        return prepared
    precision, fallback_note, mem, peak = prepared
    served = serve(w, acc, mem, count, limit, peak, precision, model)
    if isinstance(served, Infeasible):
        return served
    used, wall_hours, (lo, hi), serve_notes, warnings = served
    assert mem.min_count is not None  # _prelude refuses a plan without one
    total_flops = flops.inference_flops(w).total
    accel_hours = wall_hours * used
    notes = ([fallback_note] if fallback_note else []) + serve_notes
    notes += [n for n in training.chip_notes(acc) if n]
    kwh = None
    if acc.tdp_w is not None:
        kwh = energy.energy_kwh(used, acc.tdp_w, wall_hours, 1.0, training=False)
    return Estimate(
        accelerator_id=acc.id, kind=w.kind, flops=total_flops,
        utilization=total_flops / (peak * 1e12 * accel_hours * 3600),
        accelerator_hours=accel_hours, accelerator_hours_p10=accel_hours * lo,
        accelerator_hours_p90=accel_hours * hi, wall_hours=wall_hours, min_count=mem.min_count,
        count=used, energy_kwh=kwh, precision_used=precision, peak_tflops=peak,
        memory_per_accel_gb=mem.per_chip_gb(used), notes=tuple(notes), warnings=tuple(warnings),
    )  # fmt: skip


def _prelude(
    w: Workload, acc: Accelerator, count: int | None, limit: int
) -> tuple[Precision, str, MemoryPlan, float] | Infeasible:
    """The precision (and a note if a fallback), the memory plan and the peak, or why none."""
    chosen = choose_precision(w, acc)
    if isinstance(chosen, Infeasible):
        return chosen
    precision, fallback_note = chosen
    if acc.memory_gb is None:
        return Infeasible(acc.id, "missing_figures", f"the catalog has no memory size for {acc.id}")
    mem = plan(w, acc, precision)
    refused = _check_fit(acc, mem, count, limit)
    if refused is not None:
        return refused
    assert mem.min_count is not None
    peak = acc.peak_tflops(precision)
    assert peak is not None
    return precision, fallback_note, mem, peak


def _prepared(
    w: Workload, acc: Accelerator, count: int | None, limit: int, model: mfu.MfuModel,
    interconnect: Interconnect | None,
) -> training.Shape | Infeasible:  # fmt: skip
    prepared = _prelude(w, acc, count, limit)
    if isinstance(prepared, Infeasible):
        return prepared
    precision, fallback_note, mem, peak = prepared
    assert mem.min_count is not None  # _prelude refuses a plan without one
    return training.shape_of(w, acc, precision, fallback_note, mem, peak, count or mem.min_count,
                             model, interconnect, *training.chip_notes(acc))  # fmt: skip


def _trained(w: Workload, acc: Accelerator, shape: training.Shape) -> Estimate:
    """A training estimate from its shape's figures and the workload's tokens."""
    fl = flops.training_breakdown(w)
    total_flops, accel_hours, used = fl.total, shape.pred.hours * fl.tokens, shape.used
    wall_hours = accel_hours / used
    lo, hi = shape.band
    kwh = None
    if acc.tdp_w is not None:
        kwh = energy.energy_kwh(used, acc.tdp_w, wall_hours, 1.0, training=True)
    notes = (*shape.notes_before, training.interruptions(shape.pred, used, wall_hours),
             *shape.notes_after)  # fmt: skip
    return Estimate(
        accelerator_id=acc.id, kind=w.kind, flops=total_flops,
        utilization=total_flops / (shape.peak_tflops * 1e12 * accel_hours * 3600),
        accelerator_hours=accel_hours, accelerator_hours_p10=accel_hours * lo,
        accelerator_hours_p90=accel_hours * hi, wall_hours=wall_hours,
        min_count=shape.min_count, count=used, energy_kwh=kwh,
        precision_used=shape.precision, peak_tflops=shape.peak_tflops,
        memory_per_accel_gb=shape.mem.per_chip_gb(used), notes=notes,
        warnings=shape.pred.warnings,
    )  # fmt: skip


def _check_fit(
    acc: Accelerator, mem: MemoryPlan, count: int | None, limit: int
) -> Infeasible | None:
    if mem.min_count is None:
        return Infeasible(acc.id, "too_large", f"fits on no count of {acc.model}: {mem.reason}")
    if mem.min_count > limit:
        return Infeasible(
            acc.id,
            "too_large",
            f"needs at least {mem.min_count} × {acc.model}, at most {limit} here",
        )
    if count is not None and count < mem.min_count:
        return Infeasible(
            acc.id,
            "count_too_small",
            f"{count} × {acc.model} cannot hold it ({mem.per_chip_gb(count):.0f} GB per chip "
            f"needed); at least {mem.min_count}",
        )
    if count is not None and count > limit:
        return Infeasible(acc.id, "too_large", f"{count} chips asked, at most {limit} here")
    return None


def relative_speed(
    reference: Accelerator,
    accelerator: Accelerator,
    model: mfu.MfuModel,
    precision: Precision = "bf16",
) -> float:
    """Effective training throughput of ``accelerator`` over ``reference`` (a 7B model
    pre-trained on 64 chips, each on its default interconnect)."""
    hours = []
    for acc in (reference, accelerator):
        if acc.peak_tflops(precision) is None or precision not in acc.precisions:
            raise ValidationError("precision", f"{acc.id} has no {precision} peak in the catalog")
        if acc.peak_tflops("bf16") is None:
            raise ValidationError("precision", f"{acc.id} has no bf16 peak in the catalog")
        hours.append(model.predict(mfu.case_for(REFERENCE, acc, REFERENCE_COUNT, precision)).hours)
    return hours[0] / hours[1]


def hours_for(flops_total: float, peak_tflops: float, util: float) -> float:
    """Accelerator-hours to execute ``flops_total`` at ``util`` of ``peak_tflops``."""
    return flops_total / (peak_tflops * 1e12 * util) / 3600


def fixed_size(
    accelerator: Accelerator,
    *,
    count: int,
    duration_s: int,
    pue: float,
    price_fen_per_accel_hour: int,
    currency: str,
) -> Estimate:
    """A job whose size the tenant states (``count`` chips for at most ``duration_s``), not
    estimated from a workload: every figure is the stated size, the cost the most it can bill.
    Energy assumes the training load factor, as a job of unknown kind is priced at its limit."""
    hours = count * duration_s / 3600
    wall_hours = duration_s / 3600
    kwh = None
    if accelerator.tdp_w is not None:
        kwh = energy.energy_kwh(count, accelerator.tdp_w, wall_hours, pue, training=True)
    cost = -(-count * duration_s * price_fen_per_accel_hour // 3600)  # rounded up, like a hold
    note = f"fixed size as asked: {count} × {accelerator.model} for {duration_s} s; not estimated"
    return Estimate(
        accelerator.id, "fixed", 0.0, 0.0, hours, hours, hours, wall_hours, count, count, kwh,
        "bf16", 0.0, 0.0, (note,), cost, cost, cost, currency,
    )  # fmt: skip
