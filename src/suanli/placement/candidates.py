"""Cost every feasible (request, pool) pair, keep each request's k cheapest, expand start slots.

Pruning is what makes 100,000 requests × 5,000 pools tractable: the solver sees k pools per
request, each with a few start slots, instead of half a billion pairs. The pairs themselves
come either as a dense requests × pools matrix of hours (NaN: infeasible) or, for large
instances, as ``PairHours``: only the pairs a request can use, so memory grows with the pairs,
not with requests × pools. Every step is a numpy expression over all pairs of a chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from suanli.placement.model import (
    CANDIDATE_DTYPES,
    BoolArray,
    Candidates,
    FloatArray,
    Instance,
    IntArray,
    Pool,
    Request,
)
from suanli.placement.policy import Policy

# (domestic rate, foreign rate) per program: the share of cost the program pays.
Rates = Mapping[str, tuple[Fraction, Fraction]]
_CHUNK = 2000  # requests costed at a time, to bound memory


@dataclass(frozen=True, slots=True)
class PairHours:
    """Hours per (request, pool) pair, sorted by request; a pair not listed is infeasible."""

    request: IntArray
    pool: IntArray
    hours: FloatArray


def hours_matrix(
    requests: Sequence[Request], pools: Sequence[Pool], hours: Sequence[Mapping[str, float]]
) -> FloatArray:
    """Requests × pools hours from per-request mappings keyed by pool id (missing: infeasible)."""
    out = np.full((len(requests), len(pools)), np.nan)
    col = {p.id: j for j, p in enumerate(pools)}
    for i, per_pool in enumerate(hours):
        for pool_id, h in per_pool.items():
            if pool_id in col:
                out[i, col[pool_id]] = h
    return out


def _pair_chunks(hours: FloatArray | PairHours, n_requests: int) -> Iterator[PairHours]:
    """The pairs, a chunk of requests at a time (a dense matrix is never flattened whole)."""
    for lo in range(0, n_requests, _CHUNK):
        hi = min(lo + _CHUNK, n_requests)
        if isinstance(hours, PairHours):
            a, b = np.searchsorted(hours.request, [lo, hi])
            yield PairHours(hours.request[a:b], hours.pool[a:b], hours.hours[a:b])
        else:
            block = np.asarray(hours[lo:hi], dtype=np.float64)
            r, p = np.nonzero(np.isfinite(block) & (block > 0))
            yield PairHours(r.astype(np.int64) + lo, p.astype(np.int64), block[r, p])


@dataclass(frozen=True, slots=True)
class _Columns:
    """Per-request and per-pool columns that every pair is checked and priced against."""

    accels: IntArray
    submit: IntArray
    end: IntArray  # the slot a request must end by (deadline, capped at the horizon)
    allow_dom: BoolArray
    allow_for: BoolArray
    program: IntArray  # index into the instance's programs; -1: none
    rate: IntArray  # (n_requests, 4): domestic numerator, denominator, foreign ditto
    price_fen: IntArray
    count: IntArray
    domestic: BoolArray
    scarce: BoolArray
    accredits: BoolArray  # (n_pools, n_programs + 1): the pool may serve the program's requests


def _columns(
    requests: Sequence[Request],
    pools: Sequence[Pool],
    policy: Policy,
    programs: tuple[str, ...],
    rates: Rates,
    n_slots: int,
) -> _Columns:
    prog_index = {p: i for i, p in enumerate(programs)}
    rate = np.array([_rate_row(r.program, rates) for r in requests], dtype=np.int64)
    # One column per program and a last one, all true, that index -1 (no program) reads.
    accredits = np.array(
        [[not p.programs or prog in p.programs for prog in programs] + [True] for p in pools],
        dtype=bool,
    ).reshape(len(pools), len(programs) + 1)
    return _Columns(
        accels=np.array([r.accels for r in requests], dtype=np.int64),
        submit=np.array([r.submit_slot for r in requests], dtype=np.int64),
        end=np.array(
            [
                n_slots if r.deadline_slot is None else min(n_slots, r.deadline_slot)
                for r in requests
            ],
            dtype=np.int64,
        ),
        allow_dom=np.array(["domestic" in r.allowed_origins for r in requests], dtype=bool),
        allow_for=np.array(["foreign" in r.allowed_origins for r in requests], dtype=bool),
        program=np.array([prog_index.get(r.program or "", -1) for r in requests], dtype=np.int64),
        rate=rate.reshape(len(requests), 4),
        price_fen=np.array([p.price_fen_per_accel_hour for p in pools], dtype=np.int64),
        count=np.array([p.count for p in pools], dtype=np.int64),
        domestic=np.array([p.domestic for p in pools], dtype=bool),
        scarce=np.array([p.scarce or p.accelerator_id in policy.scarce_models for p in pools]),
        accredits=accredits,
    )


def _rate_row(program: str | None, rates: Rates) -> tuple[int, int, int, int]:
    if program is None or program not in rates:
        return (0, 1, 0, 1)
    d, f = rates[program]
    return (d.numerator, d.denominator, f.numerator, f.denominator)


def build_candidates(
    requests: Sequence[Request],
    pools: Sequence[Pool],
    hours: FloatArray | PairHours,
    policy: Policy,
    *,
    n_slots: int,
    slot_hours: float,
    rates: Rates | None = None,
    max_starts: int = 3,
) -> Instance:
    """An Instance over each request's k cheapest feasible pools, up to ``max_starts`` starts."""
    programs = tuple(sorted({r.program for r in requests if r.program is not None}))
    cols = _columns(requests, pools, policy, programs, rates or {}, n_slots)
    k = min(policy.candidates_per_request, len(pools))
    parts: list[dict[str, np.ndarray]] = []
    for pairs in _pair_chunks(hours, len(requests)):
        priced = _cheapest(_priced(pairs, cols, slot_hours), k)
        parts += _expand(priced, cols, max_starts, slot_hours)
    cands = _concat(parts)
    order = np.lexsort((cands.start_slot, cands.pool, cands.request))
    return Instance(
        pools=tuple(pools),
        requests=tuple(requests),
        candidates=cands.take(order),
        policy=policy,
        n_slots=n_slots,
        slot_hours=slot_hours,
        programs=programs,
        tenants=tuple(sorted({r.tenant for r in requests})),
    )


def _priced(pairs: PairHours, cols: _Columns, slot_hours: float) -> dict[str, np.ndarray]:
    """The feasible pairs with their duration in slots, cost and subsidy."""
    r, p, h = pairs.request, pairs.pool, pairs.hours
    dur = np.ceil(h / slot_hours - 1e-9).astype(np.int64).clip(min=1)
    ok = np.isfinite(h) & (h > 0) & cols.accredits[p, cols.program[r]]
    ok &= cols.count[p] >= cols.accels[r]
    ok &= np.where(cols.domestic[p], cols.allow_dom[r], cols.allow_for[r])
    ok &= cols.submit[r] + dur <= cols.end[r]
    r, p, h, dur = r[ok], p[ok], h[ok], dur[ok]
    cost = np.rint(cols.price_fen[p] * cols.accels[r] * h).astype(np.int64)
    dom = cols.domestic[p]
    num = np.where(dom, cols.rate[r, 0], cols.rate[r, 2])
    den = np.where(dom, cols.rate[r, 1], cols.rate[r, 3])
    # Integer arithmetic, rounded down like suanli.domain.money.apply_rate.
    subsidy = (cost * num) // den
    return {"request": r, "pool": p, "hours": h, "dur": dur, "cost": cost, "subsidy": subsidy}


def _cheapest(pairs: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Each request's k pairs of least net cost (ties: the lower pool index)."""
    r = pairs["request"]
    order = np.lexsort((pairs["pool"], pairs["cost"] - pairs["subsidy"], r))
    r_sorted = r[order]
    first = np.searchsorted(r_sorted, r_sorted, side="left")
    keep = order[np.arange(order.size) - first < k]
    return {name: col[keep] for name, col in pairs.items()}


def _expand(
    pairs: dict[str, np.ndarray], cols: _Columns, max_starts: int, slot_hours: float
) -> list[dict[str, np.ndarray]]:
    """Candidate columns: each pair at up to ``max_starts`` start slots that meet the deadline."""
    r, p, d = pairs["request"], pairs["pool"], pairs["dur"]
    submit, deadline = cols.submit[r], cols.end[r]
    # The floor is on the hours a program subsidises: one that pays nothing on a candidate
    # (rate 0 there) neither spends its budget nor counts.
    program = np.where(pairs["subsidy"] > 0, cols.program[r], -1)
    parts: list[dict[str, np.ndarray]] = []
    for j in range(max_starts):
        start = submit + j
        fits = start + d <= deadline
        if not fits.any():
            break
        rr, pp, ss = r[fits], p[fits], start[fits]
        parts.append(
            {
                "request": rr,
                "pool": pp,
                "start_slot": ss,
                "end_slot": ss + d[fits],
                "accels": cols.accels[rr],
                "hours": pairs["hours"][fits],
                "cost_fen": pairs["cost"][fits],
                "subsidy_fen": pairs["subsidy"][fits],
                "program": program[fits],
                "domestic": cols.domestic[pp],
                "scarce": cols.scarce[pp],
                "wait_hours": np.full(rr.size, j * slot_hours),
            }
        )
    return parts


def _concat(parts: list[dict[str, np.ndarray]]) -> Candidates:
    arrays: dict[str, np.ndarray] = {
        n: (np.concatenate([p[n] for p in parts]) if parts else np.zeros(0)).astype(t)
        for n, t in CANDIDATE_DTYPES.items()
    }
    return Candidates(**arrays)
