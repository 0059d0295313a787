"""What the placer sees: pools of capacity, requests, and costed (request, pool, start) candidates.

Candidates are kept as a structure of numpy arrays, not objects: a batch of 10,000 requests with
tens of candidates each is built, checked and handed to the solver without a Python loop per pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from suanli.placement.policy import Policy

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Pool:
    """One offer's accelerators as the placer sees them: count per time slot, price, origin."""

    id: str
    accelerator_id: str
    domestic: bool
    count: int
    price_fen_per_accel_hour: int
    scarce: bool = False
    programs: frozenset[str] = frozenset()  # programs that accredit this offer; empty = all


@dataclass(frozen=True, slots=True)
class Request:
    """A job to place. ``value_fen`` is what leaving it unplaced costs in the objective."""

    id: str
    tenant: str
    accels: int
    value_fen: int
    submit_slot: int = 0
    deadline_slot: int | None = None  # the job must end by this slot (exclusive)
    program: str | None = None  # the voucher program paying part of it
    allowed_origins: frozenset[str] = frozenset({"domestic", "foreign"})


@dataclass(frozen=True, slots=True)
class Candidates:
    """Parallel arrays, one entry per (request, pool, start slot) the placer may choose."""

    request: IntArray
    pool: IntArray
    start_slot: IntArray
    end_slot: IntArray  # exclusive
    accels: IntArray
    hours: FloatArray
    cost_fen: IntArray
    subsidy_fen: IntArray
    program: IntArray  # index into Instance.programs of the program paying; -1: none pays
    domestic: BoolArray
    scarce: BoolArray
    wait_hours: FloatArray

    def __len__(self) -> int:
        return int(self.request.shape[0])

    @property
    def net_fen(self) -> IntArray:
        return self.cost_fen - self.subsidy_fen

    @property
    def accel_hours(self) -> FloatArray:
        return self.accels * self.hours

    def take(self, index: IntArray) -> Candidates:
        return Candidates(**{name: getattr(self, name)[index] for name in CANDIDATE_DTYPES})


# Every column of Candidates with its dtype, in declaration order.
CANDIDATE_DTYPES: dict[str, type] = {
    "request": np.int64,
    "pool": np.int64,
    "start_slot": np.int64,
    "end_slot": np.int64,
    "accels": np.int64,
    "hours": np.float64,
    "cost_fen": np.int64,
    "subsidy_fen": np.int64,
    "program": np.int64,
    "domestic": np.bool_,
    "scarce": np.bool_,
    "wait_hours": np.float64,
}


@dataclass(frozen=True, slots=True)
class Instance:
    """Everything one batch placement decides over."""

    pools: tuple[Pool, ...]
    requests: tuple[Request, ...]
    candidates: Candidates
    policy: Policy
    n_slots: int
    slot_hours: float
    programs: tuple[str, ...] = ()
    tenants: tuple[str, ...] = field(default=())
    # Scarce accelerator-hours each tenant already holds in the horizon (earlier placements).
    scarce_held_ah: Mapping[str, float] = field(default_factory=dict)

    @property
    def tenant_index(self) -> IntArray:
        """Per candidate, the index of its request's tenant in ``tenants``."""
        where = {t: i for i, t in enumerate(self.tenants)}
        per_request = np.array([where[r.tenant] for r in self.requests], dtype=np.int64)
        return per_request[self.candidates.request] if len(self.requests) else per_request

    def scarce_capacity_accel_hours(self) -> float:
        return sum(p.count for p in self.pools if p.scarce) * self.n_slots * self.slot_hours

    def fair_share_limits(self) -> FloatArray | None:
        """Per tenant, the scarce accelerator-hours this batch may still give it: its share of
        the scarce capacity less what it already holds there, never below zero."""
        cap = self.policy.fair_share_cap
        if cap is None:
            return None
        limit = float(cap) * self.scarce_capacity_accel_hours()
        held = np.array([self.scarce_held_ah.get(t, 0.0) for t in self.tenants], dtype=np.float64)
        return np.maximum(limit - held, 0.0)

    def objective_terms(self) -> FloatArray:
        """Per candidate, what choosing it adds to the objective (net cost + weighted wait)."""
        w = self.policy.weights
        c = self.candidates
        return (
            float(w.net_cost) * c.net_fen.astype(np.float64)
            + float(w.wait_fen_per_accel_hour) * c.wait_hours * c.accels
        )


@dataclass(frozen=True, slots=True)
class Solution:
    """The chosen candidate per request (-1: unplaced) and how good the choice is."""

    method: str
    choice: IntArray
    objective: float  # total, including penalties for unplaced requests
    lp_bound: float | None
    status: str
    seconds: float
    # (objective - bound) / objective: against lp_bound, or, where the LP did not finish in the
    # time limit (lp_bound None), against the separable bound (each request at its cheapest).
    gap: float | None = None

    @property
    def placed(self) -> int:
        return int((self.choice >= 0).sum())
