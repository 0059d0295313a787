"""Cost every (request, pool) pair, keep each request's k cheapest, expand start slots.

Pruning is what makes 10,000 requests × 1,000 pools tractable: the solver sees k pools per
request, each with a few start slots, instead of ten million pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from suanli.placement.model import (
    CANDIDATE_DTYPES,
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


def _subsidy(cost_fen: IntArray, rate: Fraction) -> IntArray:
    # Integer arithmetic, rounded down like suanli.domain.money.apply_rate.
    return (cost_fen * rate.numerator) // rate.denominator


def _feasible(
    reqs: Sequence[Request], pools: Sequence[Pool], hours: FloatArray, dur: IntArray, n_slots: int
) -> np.ndarray:
    count = np.array([p.count for p in pools])
    dom = np.array([p.domestic for p in pools])
    ok = np.isfinite(hours) & (hours > 0)
    for i, r in enumerate(reqs):
        row = ok[i]
        row &= count >= r.accels
        if "domestic" not in r.allowed_origins:
            row &= ~dom
        if "foreign" not in r.allowed_origins:
            row &= dom
        if r.program is not None:
            row &= np.array([not p.programs or r.program in p.programs for p in pools])
        end = min(n_slots, r.deadline_slot if r.deadline_slot is not None else n_slots)
        row &= r.submit_slot + dur[i] <= end
    return ok


@dataclass(frozen=True, slots=True)
class _PoolArrays:
    """Per-pool columns every chunk of requests is priced against."""

    price_fen: np.ndarray
    domestic: np.ndarray
    scarce: np.ndarray
    k: int  # candidates kept per request


def build_candidates(
    requests: Sequence[Request],
    pools: Sequence[Pool],
    hours: FloatArray,
    policy: Policy,
    *,
    n_slots: int,
    slot_hours: float,
    rates: Rates | None = None,
    max_starts: int = 3,
) -> Instance:
    """An Instance over each request's k cheapest feasible pools, up to ``max_starts`` starts."""
    rates = rates or {}
    programs = tuple(sorted({r.program for r in requests if r.program is not None}))
    prog_index = {p: i for i, p in enumerate(programs)}
    columns = _PoolArrays(
        price_fen=np.array([p.price_fen_per_accel_hour for p in pools], dtype=np.int64),
        domestic=np.array([p.domestic for p in pools], dtype=bool),
        scarce=np.array([p.scarce or p.accelerator_id in policy.scarce_models for p in pools]),
        k=min(policy.candidates_per_request, len(pools)),
    )
    parts: list[dict[str, np.ndarray]] = []
    for lo in range(0, len(requests), _CHUNK):
        chunk = _Chunk(requests[lo : lo + _CHUNK], hours[lo : lo + _CHUNK], lo)
        parts += _chunk_candidates(
            chunk, pools, columns, rates, prog_index, n_slots, slot_hours, max_starts
        )
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


@dataclass(frozen=True, slots=True)
class _Chunk:
    requests: Sequence[Request]
    hours: FloatArray
    offset: int  # index of the chunk's first request in the whole instance


def _chunk_subsidy(
    reqs: Sequence[Request], cost: np.ndarray, domestic: np.ndarray, rates: Rates
) -> np.ndarray:
    subsidy = np.zeros_like(cost)
    for i, r in enumerate(reqs):
        if r.program is not None and r.program in rates:
            d_rate, f_rate = rates[r.program]
            subsidy[i] = np.where(domestic, _subsidy(cost[i], d_rate), _subsidy(cost[i], f_rate))
    return subsidy


def _chunk_candidates(
    chunk: _Chunk,
    pools: Sequence[Pool],
    columns: _PoolArrays,
    rates: Rates,
    prog_index: dict[str, int],
    n_slots: int,
    slot_hours: float,
    max_starts: int,
) -> list[dict[str, np.ndarray]]:
    """The candidate columns of one chunk of requests: its k cheapest feasible pools, each at
    up to ``max_starts`` start slots that still meet the deadline."""
    reqs, h, k = chunk.requests, chunk.hours, columns.k
    accels = np.array([r.accels for r in reqs], dtype=np.int64)
    safe_h = np.where(np.isfinite(h), h, 0.0)
    dur = np.ceil(safe_h / slot_hours - 1e-9).astype(np.int64).clip(min=1)
    ok = _feasible(reqs, pools, h, dur, n_slots)
    cost = np.rint(columns.price_fen[None, :] * accels[:, None] * safe_h).astype(np.int64)
    subsidy = _chunk_subsidy(reqs, cost, columns.domestic, rates)
    net = np.where(ok, (cost - subsidy).astype(np.float64), np.inf)
    best = np.argpartition(net, k - 1, axis=1)[:, :k] if k < len(pools) else None
    cols = best if best is not None else np.tile(np.arange(len(pools)), (len(reqs), 1))
    rows = np.repeat(np.arange(len(reqs)), cols.shape[1])
    cols = cols.ravel()
    keep = np.isfinite(net[rows, cols])
    rows, cols = rows[keep], cols[keep]
    submit = np.array([r.submit_slot for r in reqs], dtype=np.int64)[rows]
    deadline = np.array(
        [n_slots if r.deadline_slot is None else min(n_slots, r.deadline_slot) for r in reqs],
        dtype=np.int64,
    )[rows]
    # The floor is on the hours a program subsidises: one that pays nothing on a candidate
    # (rate 0 there) neither spends its budget nor counts.
    program = np.array(
        [prog_index.get(reqs[int(i)].program or "", -1) for i in rows], dtype=np.int64
    )
    d = dur[rows, cols]
    parts: list[dict[str, np.ndarray]] = []
    for j in range(max_starts):
        start = submit + j
        fits = start + d <= deadline
        if not fits.any():
            break
        rr, cc, ss, dd = rows[fits], cols[fits], start[fits], d[fits]
        parts.append(
            {
                "request": rr + chunk.offset,
                "pool": cc,
                "start_slot": ss,
                "end_slot": ss + dd,
                "accels": accels[rr],
                "hours": h[rr, cc],
                "cost_fen": cost[rr, cc],
                "subsidy_fen": subsidy[rr, cc],
                "program": np.where(subsidy[rr, cc] > 0, program[fits], -1),
                "domestic": columns.domestic[cc],
                "scarce": columns.scarce[cc],
                "wait_hours": (ss - submit[fits]) * slot_hours,
            }
        )
    return parts


def _concat(parts: list[dict[str, np.ndarray]]) -> Candidates:
    arrays: dict[str, np.ndarray] = {
        n: (np.concatenate([p[n] for p in parts]) if parts else np.zeros(0)).astype(t)
        for n, t in CANDIDATE_DTYPES.items()
    }
    return Candidates(**arrays)
