"""Baselines over the same candidates and rules as the MILP: greedy by cost, and FIFO first-fit."""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from suanli.placement.check import Tally, objective
from suanli.placement.model import Instance, IntArray, Solution


def _slices(inst: Instance) -> tuple[IntArray, IntArray]:
    """Per request, the [lo, hi) range of its candidates (candidates are sorted by request)."""
    req = inst.candidates.request
    n = len(inst.requests)
    lo = np.searchsorted(req, np.arange(n), side="left")
    hi = np.searchsorted(req, np.arange(n), side="right")
    return lo, hi


def _place(
    inst: Instance, order: Iterable[int], rank: IntArray, method: str, *, by_value: bool
) -> Solution:
    """Give each request, in ``order``, its first candidate by ``rank`` that keeps every rule."""
    started = time.perf_counter()
    lo, hi = _slices(inst)
    tally = Tally(inst)
    choice = np.full(len(inst.requests), -1, dtype=np.int64)
    terms = inst.objective_terms()
    for r in order:
        span = np.arange(lo[r], hi[r])
        if span.size == 0:
            continue
        for c in span[np.argsort(rank[span], kind="stable")]:
            if by_value and terms[c] >= inst.requests[r].value_fen:
                break  # cheaper to leave it unplaced than to place it here or anywhere later
            if tally.fits(int(c)):
                tally.add(int(c))
                choice[r] = c
                break
    return Solution(
        method=method,
        choice=choice,
        objective=objective(inst, choice),
        lp_bound=None,
        status="heuristic",
        seconds=time.perf_counter() - started,
    )


def greedy(inst: Instance) -> Solution:
    """Requests with the most gain per accelerator-hour first, each on its cheapest fit."""
    terms = inst.objective_terms()
    lo, hi = _slices(inst)
    best = np.array([terms[a:b].argmin() + a if b > a else -1 for a, b in zip(lo, hi, strict=True)])
    value = np.array([r.value_fen for r in inst.requests], dtype=np.float64)
    has = best >= 0
    density = np.full(len(best), -np.inf)
    ah = inst.candidates.accel_hours
    density[has] = (value[has] - terms[best[has]]) / ah[best[has]]
    order = np.argsort(-density, kind="stable")
    rank = np.argsort(np.argsort(terms, kind="stable"), kind="stable")
    return _place(inst, (int(r) for r in order), rank, "greedy", by_value=True)


def fifo(inst: Instance) -> Solution:
    """Requests in submission order, each on its earliest-starting candidate (pools in order)."""
    cs = inst.candidates
    order = sorted(range(len(inst.requests)), key=lambda r: (inst.requests[r].submit_slot, r))
    rank = np.lexsort((cs.pool, cs.start_slot))
    position = np.empty_like(rank)
    position[rank] = np.arange(len(rank))
    # FIFO ignores price: it places whatever fits first.
    return _place(inst, order, position, "fifo", by_value=False)
