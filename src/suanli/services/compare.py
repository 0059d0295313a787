"""Two chips or systems side by side for one workload: hours, cost, energy, FLOP per joule,
FP8 support and memory fit, through the estimator's public entry point.

A system runs the workload on all its chips (or the fewest whole systems that hold it) and its
energy is its wall power (switches, optics and CPUs included) times the estimator's load factor,
not the chips' TDP alone. Cost uses a price the caller gives (an offer's, say); without one, a
system's reported purchase price amortised as ``PRICE_ASSUMPTION`` says; a chip without a given
price has no cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from suanli.domain.catalog import Accelerator
from suanli.domain.systems import System
from suanli.errors import NotFoundError
from suanli.estimate.api import Estimate, EstimateOutcome, Infeasible
from suanli.estimate.energy import LOAD_FACTOR
from suanli.estimate.interconnect import Interconnect
from suanli.estimate.workload import Workload
from suanli.services import estimates
from suanli.services.catalog import find_hardware, load_catalog

# The documented price assumption: a purchase price spread over four years of continuous use,
# converted at a fixed rate; no power, space, staff or margin. An assumption, not a quote.
AMORTISATION_HOURS = 4 * 365 * 24
CNY_PER_USD = 7.2
PRICE_ASSUMPTION = (
    f"purchase price amortised over {AMORTISATION_HOURS:,} h (4 years, continuous use) at "
    f"{CNY_PER_USD} CNY/USD; excludes power, space and margin"
)
JOULES_PER_KWH = 3.6e6


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: what ran, on how many chips, and what it took."""

    name: str
    label: str
    chip: Accelerator
    system: System | None
    systems_used: int | None
    outcome: EstimateOutcome
    energy_kwh: float | None
    energy_basis: str
    price_fen_per_chip_hour: int | None
    price_basis: str

    @property
    def estimate(self) -> Estimate | None:
        return self.outcome if isinstance(self.outcome, Estimate) else None

    @property
    def cost_fen(self) -> int | None:
        e, price = self.estimate, self.price_fen_per_chip_hour
        return None if e is None or price is None else e.cost_fen_at(price)

    @property
    def flop_per_joule(self) -> float | None:
        e = self.estimate
        if e is None or not self.energy_kwh:
            return None
        return e.flops / (self.energy_kwh * JOULES_PER_KWH)

    @property
    def runs_fp8(self) -> bool:
        return "fp8" in self.chip.precisions and self.chip.peak_tflops("fp8") is not None

    @property
    def fits(self) -> bool:
        return not (isinstance(self.outcome, Infeasible) and self.outcome.code == "too_large")


def resolve(name: str) -> Accelerator | System:
    found = find_hardware(name)
    if found is None:
        raise NotFoundError("chip or system", name)
    return found


def _system_count(workload: Workload, system: System, chip: Accelerator) -> int:
    """The fewest whole systems whose chips hold the workload (one if it fits on none)."""
    probe = estimates.estimate(workload, chip)
    if isinstance(probe, Estimate):
        return max(1, math.ceil(probe.min_count / system.chips))
    return 1


def _system_energy(
    workload: Workload, system: System, e: Estimate, n: int, pue: float
) -> tuple[float | None, str]:
    if system.power_kw is None:
        if e.energy_kwh is None:
            return None, f"no wall power for {system.id} and no chip TDP: energy unknown"
        return e.energy_kwh, f"no wall power for {system.id}: chips' TDP only"
    load = LOAD_FACTOR["training" if workload.is_training else "inference"]
    kwh = n * system.power_kw * load * e.wall_hours * pue
    basis = (
        f"wall power {n} × {system.power_kw:g} kW ({system.power_covers}) × load {load} "
        f"× {e.wall_hours:,.1f} h × PUE {pue:g}"
    )
    return kwh, basis


def _system_price(system: System) -> tuple[int | None, str]:
    price = system.figures.get("unit_price_usd")
    if price is None:
        return None, f"no price given and no reported purchase price for {system.id}"
    fen = round(price.value * CNY_PER_USD * 100 / AMORTISATION_HOURS / system.chips)
    return fen, (
        f"assumed: reported price ${price.value:,.0f} [{price.confidence}], {PRICE_ASSUMPTION}"
    )


def system_interconnect(system: System) -> Interconnect | None:
    """The system's own network for the estimator: its scale-up domain (384 chips in one
    CloudMatrix domain vs 8 in an HGX node changes what tensor and expert parallelism cost).
    The catalog gives gigabytes per second each way; the estimator takes gigabits (× 8).
    None (the chip's default) when the system lacks a bandwidth figure."""
    figures = system.interconnect()
    up, out = figures.scale_up_gbps_per_chip, figures.scale_out_gbps_per_chip
    if up is None or out is None:
        return None
    return Interconnect(figures.scale_up_domain_chips, up * 8, out * 8)


def side(name: str, workload: Workload, *, price_fen: int | None = None, pue: float = 1.0) -> Side:
    """Estimate ``workload`` on the chip or system ``name``; ``price_fen`` per chip-hour."""
    found = resolve(name)
    given = "given price (per chip-hour)"
    if isinstance(found, Accelerator):
        outcome = estimates.estimate(workload, found, pue=pue)
        kwh = outcome.energy_kwh if isinstance(outcome, Estimate) else None
        basis = "chips' TDP × load factor (no switches, optics or hosts)"
        if kwh is None and isinstance(outcome, Estimate):
            basis = f"no TDP for {found.id}: energy unknown"
        price_basis = given if price_fen is not None else "no price given: cost unknown"
        label = f"{found.vendor} {found.model}"
        return Side(name, label, found, None, None, outcome, kwh, basis, price_fen, price_basis)
    chip = load_catalog().get(found.chip_id)
    n = _system_count(workload, found, chip)
    outcome = estimates.estimate(workload, chip, count=n * found.chips, pue=pue,
                                 interconnect=system_interconnect(found))  # fmt: skip
    kwh, basis = None, "no estimate"
    if isinstance(outcome, Estimate):
        kwh, basis = _system_energy(workload, found, outcome, n, pue)
    price, price_basis = (price_fen, given) if price_fen is not None else _system_price(found)
    label = f"{found.vendor} {found.name}"
    return Side(name, label, chip, found, n, outcome, kwh, basis, price, price_basis)


def compare(
    a: str,
    b: str,
    workload: Workload,
    *,
    price_fen_a: int | None = None,
    price_fen_b: int | None = None,
    pue: float = 1.0,
) -> tuple[Side, Side]:
    workload.validate()
    return (
        side(a, workload, price_fen=price_fen_a, pue=pue),
        side(b, workload, price_fen=price_fen_b, pue=pue),
    )
