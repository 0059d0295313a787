"""Placement policies as data: program budgets and domestic floors, fair share, objective weights.

A policy file (``data/policies/*.toml``) reads::

    name = "default"
    fair_share_cap = "1/2"            # no tenant above this share of the scarce models' capacity
    scarce_models = ["nvidia-h800-sxm5-80gb"]
    candidates_per_request = 8        # k cheapest pools kept per request
    time_limit_s = 30
    mip_rel_gap = 0.005
    [weights]
    net_cost = 1
    wait_fen_per_accel_hour = 0
    [[program]]
    id = "sh-2025"
    budget_fen = 100000000
    domestic_floor = "7/10"           # of subsidised accelerator-hours
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from suanli.errors import ValidationError


@dataclass(frozen=True, slots=True)
class ProgramPolicy:
    id: str
    budget_fen: int | None = None  # what the program may still commit; None: unbounded here
    domestic_floor: Fraction = Fraction(0)
    # Domestic accelerator-hours already above the floor from earlier placements (a credit).
    domestic_surplus_ah: float = 0.0


@dataclass(frozen=True, slots=True)
class Weights:
    net_cost: Fraction = Fraction(1)
    wait_fen_per_accel_hour: Fraction = Fraction(0)


@dataclass(frozen=True, slots=True)
class Policy:
    name: str = "default"
    programs: Mapping[str, ProgramPolicy] = field(default_factory=dict)
    fair_share_cap: Fraction | None = None
    scarce_models: frozenset[str] = frozenset()
    weights: Weights = Weights()
    candidates_per_request: int = 8
    time_limit_s: float = 30.0
    mip_rel_gap: float = 0.005

    def program(self, program_id: str | None) -> ProgramPolicy | None:
        return None if program_id is None else self.programs.get(program_id)


def parse_fraction(raw: Any, field_name: str, *, low: Fraction, high: Fraction | None) -> Fraction:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValidationError(field_name, "must be a number or a fraction like '7/10'")
    try:
        value = Fraction(str(raw))
    except (ValueError, ZeroDivisionError) as exc:
        raise ValidationError(field_name, f"not a number: {raw!r}") from exc
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError(field_name, f"must be {bounds}, got {raw!r}")
    return value


def _program(raw: Any, where: str) -> ProgramPolicy:
    if not isinstance(raw, Mapping):
        raise ValidationError(where, "must be a table")
    pid = raw.get("id")
    if not isinstance(pid, str) or not pid:
        raise ValidationError(f"{where}.id", "is required")
    budget = raw.get("budget_fen")
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool)):
        raise ValidationError(f"{where}.budget_fen", "must be an integer number of fen")
    if budget is not None and budget < 0:
        raise ValidationError(f"{where}.budget_fen", "must not be negative")
    floor = parse_fraction(
        raw.get("domestic_floor", 0), f"{where}.domestic_floor", low=Fraction(0), high=Fraction(1)
    )
    return ProgramPolicy(pid, budget, floor)


def _positive(raw: Mapping[str, Any], key: str, default: float, *, integer: bool) -> Any:
    value = raw.get(key, default)
    ok_type = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type) or value <= 0:
        raise ValidationError(key, f"must be a positive {'integer' if integer else 'number'}")
    return value


def parse_policy(raw: Mapping[str, Any]) -> Policy:
    """Validate a policy mapping (a parsed TOML file); errors name the offending field."""
    known = {
        "name",
        "fair_share_cap",
        "scarce_models",
        "weights",
        "program",
        "candidates_per_request",
        "time_limit_s",
        "mip_rel_gap",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValidationError(unknown[0], "unknown policy field")
    programs: dict[str, ProgramPolicy] = {}
    for i, entry in enumerate(raw.get("program", [])):
        prog = _program(entry, f"program[{i}]")
        if prog.id in programs:
            raise ValidationError(f"program[{i}].id", f"duplicate program {prog.id!r}")
        programs[prog.id] = prog
    cap_raw = raw.get("fair_share_cap")
    cap = (
        None
        if cap_raw is None
        else parse_fraction(cap_raw, "fair_share_cap", low=Fraction(0), high=Fraction(1))
    )
    scarce = raw.get("scarce_models", [])
    if not isinstance(scarce, list) or not all(isinstance(s, str) and s for s in scarce):
        raise ValidationError("scarce_models", "must be a list of accelerator ids")
    w_raw = raw.get("weights", {})
    if not isinstance(w_raw, Mapping):
        raise ValidationError("weights", "must be a table")
    weights = Weights(
        parse_fraction(w_raw.get("net_cost", 1), "weights.net_cost", low=Fraction(0), high=None),
        parse_fraction(
            w_raw.get("wait_fen_per_accel_hour", 0),
            "weights.wait_fen_per_accel_hour",
            low=Fraction(0),
            high=None,
        ),
    )
    return Policy(
        name=str(raw.get("name", "default")),
        programs=programs,
        fair_share_cap=cap,
        scarce_models=frozenset(scarce),
        weights=weights,
        candidates_per_request=int(_positive(raw, "candidates_per_request", 8, integer=True)),
        time_limit_s=float(_positive(raw, "time_limit_s", 30.0, integer=False)),
        mip_rel_gap=float(_positive(raw, "mip_rel_gap", 0.005, integer=False)),
    )
