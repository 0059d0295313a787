"""A fleet for the simulator: pools of accelerators with prices, and the programs paying for them.

``data/fleets/sample.toml``::

    reference_accelerator = "nvidia-a100-sxm4-80gb"
    [[program]]
    id = "city-voucher"
    rate_domestic = "1/2"     # share of cost the program pays on domestic chips
    rate_foreign = "3/10"
    domestic_floor = "7/10"   # of its subsidised accelerator-hours
    [[pool]]
    id = "sh-lg-1-910b"
    accelerator = "910B"      # catalog id or alias
    count = 256
    price_fen_per_accel_hour = 850
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from suanli.errors import ValidationError
from suanli.placement.policy import parse_fraction


@dataclass(frozen=True, slots=True)
class FleetProgram:
    id: str
    rate_domestic: Fraction
    rate_foreign: Fraction
    domestic_floor: Fraction


@dataclass(frozen=True, slots=True)
class FleetPool:
    id: str
    accelerator_id: str
    domestic: bool
    count: int
    price_fen_per_accel_hour: int
    speed: float  # throughput relative to the trace's reference accelerator


@dataclass(frozen=True, slots=True)
class Fleet:
    reference_accelerator: str
    pools: tuple[FleetPool, ...]
    program: FleetProgram | None

    @property
    def gpus(self) -> int:
        return sum(p.count for p in self.pools)


def _int(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{where}.{key}", "must be a positive integer")
    return value


def _named(canonical: Callable[[str], tuple[str, bool]], name: str, field: str) -> tuple[str, bool]:
    """``canonical(name)``, its refusal naming the fleet's field rather than a bare accelerator."""
    try:
        return canonical(name)
    except ValidationError as exc:
        raise ValidationError(field, exc.message) from None


def parse_fleet(
    raw: Mapping[str, Any],
    *,
    canonical: Callable[[str], tuple[str, bool]],
    speed: Callable[[str, str], float],
    reference: str | None = None,
) -> Fleet:
    """Validate a fleet mapping. ``canonical`` maps a catalog name to (id, is_domestic) or
    raises ValidationError; ``speed(reference_id, accelerator_id)`` is the relative speed."""
    ref_name = reference or raw.get("reference_accelerator")
    if not isinstance(ref_name, str) or not ref_name:
        raise ValidationError("reference_accelerator", "is required")
    ref_id, _ = _named(canonical, ref_name, "reference_accelerator")
    pools = []
    seen: set[str] = set()
    for i, entry in enumerate(raw.get("pool", [])):
        where = f"pool[{i}]"
        if not isinstance(entry, Mapping):
            raise ValidationError(where, "must be a table")
        pid = entry.get("id")
        if not isinstance(pid, str) or not pid or pid in seen:
            raise ValidationError(f"{where}.id", "must be a unique non-empty string")
        seen.add(pid)
        acc_id, domestic = _named(
            canonical, str(entry.get("accelerator", "")), f"{where}.accelerator"
        )
        pools.append(
            FleetPool(
                pid,
                acc_id,
                domestic,
                _int(entry, "count", where),
                _int(entry, "price_fen_per_accel_hour", where),
                speed(ref_id, acc_id),
            )
        )
    if not pools:
        raise ValidationError("pool", "a fleet needs at least one [[pool]]")
    programs = raw.get("program", [])
    if len(programs) > 1:
        raise ValidationError("program", "the simulator takes at most one program")
    program = None
    if programs:
        p = programs[0]
        one = Fraction(1)
        program = FleetProgram(
            str(p.get("id") or "program"),
            parse_fraction(
                p.get("rate_domestic", 0), "program.rate_domestic", low=0 * one, high=one
            ),
            parse_fraction(p.get("rate_foreign", 0), "program.rate_foreign", low=0 * one, high=one),
            parse_fraction(
                p.get("domestic_floor", 0), "program.domestic_floor", low=0 * one, high=one
            ),
        )
    return Fleet(ref_id, tuple(pools), program)
