"""Batch placement as a MILP solved by HiGHS (``highspy``).

Variables: one binary per candidate. Minimise the objective terms of the chosen candidates plus
the value of each request left unplaced (written as ``term - value`` per candidate, plus a
constant). Rows: each request at most once; per pool and slot, accelerators in use at most the
pool's count; per program, subsidy at most its budget and domestic accelerator-hours at least
its floor times all its subsidised accelerator-hours; per tenant, accelerator-hours on scarce
models at most its fair share of their capacity less what it already holds there.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
from scipy import sparse

from suanli.placement.check import Tally, objective, violations
from suanli.placement.colgen import solve_lp
from suanli.placement.greedy import greedy
from suanli.placement.model import BoolArray, FloatArray, Instance, IntArray, Solution


@dataclass(frozen=True, slots=True)
class _Rows:
    matrix: sparse.csr_array
    lower: FloatArray
    upper: FloatArray


def _stack(blocks: list[tuple[sparse.coo_array, FloatArray, FloatArray]]) -> _Rows:
    matrix = sparse.vstack([b[0] for b in blocks], format="csr")
    return _Rows(
        matrix, np.concatenate([b[1] for b in blocks]), np.concatenate([b[2] for b in blocks])
    )


def _block(
    rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, n: int
) -> sparse.coo_array:
    return sparse.coo_array((vals.astype(np.float64), (rows, cols)), shape=(n_rows, n))


def constraint_rows(inst: Instance) -> _Rows:
    cs = inst.candidates
    n = len(cs)
    idx = np.arange(n)
    blocks = []
    n_req = len(inst.requests)
    blocks.append(
        (_block(cs.request, idx, np.ones(n), n_req, n), np.full(n_req, -np.inf), np.ones(n_req))
    )
    # Capacity: one row per (pool, slot) that some candidate covers.
    span = cs.end_slot - cs.start_slot
    var = np.repeat(idx, span)
    slot = cs.start_slot[var] + (np.arange(var.size) - np.repeat(np.cumsum(span) - span, span))
    key = cs.pool[var] * inst.n_slots + slot
    keys, row = np.unique(key, return_inverse=True)
    cap = np.array([p.count for p in inst.pools], dtype=np.float64)[keys // inst.n_slots]
    blocks.append(
        (_block(row, var, cs.accels[var], keys.size, n), np.full(keys.size, -np.inf), cap)
    )
    ah = cs.accel_hours
    for k, prog in enumerate(inst.programs):
        pol = inst.policy.program(prog)
        if pol is None:
            continue
        mine = np.flatnonzero(cs.program == k)
        # Rows are scaled to right-hand sides near 1: HiGHS's tolerances are absolute.
        if pol.budget_fen is not None:
            budget = max(float(pol.budget_fen), 1.0)
            blocks.append(
                (
                    _block(np.zeros(mine.size, int), mine, cs.subsidy_fen[mine] / budget, 1, n),
                    np.array([-np.inf]),
                    np.array([float(pol.budget_fen) / budget]),
                )
            )
        if pol.domestic_floor > 0:
            coef = (cs.domestic[mine].astype(np.float64) - float(pol.domestic_floor)) * ah[mine]
            scale = max(float(np.abs(coef).max(initial=0.0)), 1e-9)
            blocks.append(
                (
                    _block(np.zeros(mine.size, int), mine, coef / scale, 1, n),
                    np.array([-pol.domestic_surplus_ah / scale]),
                    np.array([np.inf]),
                )
            )
    limits = inst.fair_share_limits()
    if limits is not None:
        scarce = np.flatnonzero(cs.scarce)
        tenant = inst.tenant_index[scarce]
        nt = len(inst.tenants)
        cap = inst.policy.fair_share_cap
        assert cap is not None
        scale = max(float(cap) * inst.scarce_capacity_accel_hours(), 1e-9)  # the whole share
        blocks.append(
            (
                _block(tenant, scarce, ah[scarce] / scale, nt, n),
                np.full(nt, -np.inf),
                limits / scale,
            )
        )
    return _stack(blocks)


def _highs(
    inst: Instance, rows: _Rows, *, relax: bool, time_limit_s: float, rel_gap: float = 0.0
) -> highspy.Highs:
    n = len(inst.candidates)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = rows.matrix.shape[0]
    lp.col_cost_ = _scaled_cost(inst)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    inf = highspy.kHighsInf
    lp.row_lower_ = np.where(np.isfinite(rows.lower), rows.lower, -inf)
    lp.row_upper_ = np.where(np.isfinite(rows.upper), rows.upper, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = rows.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = rows.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = rows.matrix.data.astype(np.float64)
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h = _new_highs()
    h.silent()
    h.setOptionValue("time_limit", max(time_limit_s, 0.1))
    h.setOptionValue("mip_rel_gap", rel_gap)
    h.passModel(lp)
    return h


def _new_highs() -> highspy.Highs:
    """A HiGHS instance, without the banner its constructor writes to the process's stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _scaled_cost(inst: Instance) -> FloatArray:
    """Per candidate, its objective term less its request's value, in ``_cost_scale`` units."""
    value = np.array([r.value_fen for r in inst.requests], dtype=np.float64)
    terms = inst.objective_terms() - value[inst.candidates.request]
    return np.asarray(terms / _cost_scale(inst), dtype=np.float64)


def _cost_scale(inst: Instance) -> float:
    """Costs are handed to HiGHS in units of the typical request value, not in fen."""
    values = [r.value_fen for r in inst.requests if r.value_fen > 0]
    return float(np.median(values)) if values else 1.0


def _round(inst: Instance, x: FloatArray) -> IntArray:
    """A feasible answer from the LP's: candidates by LP value, then by cost, while they fit."""
    tally = Tally(inst)
    terms = inst.objective_terms()
    value = np.array([r.value_fen for r in inst.requests], dtype=np.float64)
    choice = np.full(len(inst.requests), -1, dtype=np.int64)
    worth = terms < value[inst.candidates.request]
    for c in np.lexsort((terms, -np.round(x, 6))):
        r = int(inst.candidates.request[c])
        if choice[r] < 0 and worth[c] and tally.fits(int(c)):
            tally.add(int(c))
            choice[r] = c
    return choice


def _solver_gap(inst: Instance, shifted: float, constant: float) -> float:
    """HiGHS measures its gap on the shifted objective (cost - value); ours is on the total."""
    if shifted == 0:
        return inst.policy.mip_rel_gap
    return max(inst.policy.mip_rel_gap * abs(shifted + constant) / abs(shifted), 1e-6)


def solve_batch(inst: Instance, *, time_limit_s: float | None = None) -> Solution:
    """Optimal (or, at the time limit, best feasible) assignment, with its LP bound and gap."""
    started = time.perf_counter()
    limit = inst.policy.time_limit_s if time_limit_s is None else time_limit_s
    constant = float(sum(r.value_fen for r in inst.requests))
    if len(inst.candidates) == 0:
        choice = np.full(len(inst.requests), -1, dtype=np.int64)
        return Solution("batch", choice, constant, constant, "optimal", 0.0, 0.0)
    rows = constraint_rows(inst)
    lower, upper = rows.lower, rows.upper
    lp = solve_lp(inst, rows.matrix.tocsc(), lower, upper, _scaled_cost(inst),
                  time_limit_s=_left(started, limit), new_highs=_new_highs)  # fmt: skip
    if lp is None:
        # No LP optimum in time: the greedy answer, its gap measured against the weaker bound.
        choice = greedy(inst).choice
        sol = _report(inst, choice, None, "fallback_greedy", started)
        return replace(sol, gap=_gap(sol.objective, separable_bound(inst)))
    lp_shifted = lp.bound * _cost_scale(inst)
    lp_bound = lp_shifted + constant
    gap = _solver_gap(inst, lp_shifted, constant)
    held = replace(inst, candidates=inst.candidates.take(lp.columns))
    rounded = _round(held, lp.x)
    # The rest works over the candidates an answer better than the rounded one could use.
    slack = (objective(held, rounded) - lp_bound) / _cost_scale(inst)
    columns, x = lp.widened(slack, most=lp.columns.size)
    sub = replace(inst, candidates=inst.candidates.take(columns))
    sub_rows = constraint_rows(sub)
    where = np.searchsorted(columns, lp.columns)
    choice = np.where(rounded >= 0, where[np.maximum(rounded, 0)], -1)
    status = "lp_rounding"
    # Most of the LP is integral: fix those, branch on the rest (a small MILP, quickly solved).
    fixed = _milp(sub, sub_rows, x > 1 - 1e-6, None, _left(started, limit) / 2, gap)
    if fixed is not None and objective(sub, fixed) < objective(sub, choice):
        choice, status = fixed, "fixed_lp_milp"
    if objective(sub, choice) - lp_bound > inst.policy.mip_rel_gap * abs(lp_bound):
        # Still not close enough: the MILP over those candidates, started from the best so far.
        full = _milp(sub, sub_rows, None, choice, _left(started, limit), gap)
        if full is not None and objective(sub, full) < objective(sub, choice):
            choice, status = full, "milp"
    choice = np.where(choice >= 0, columns[np.maximum(choice, 0)], -1)
    return _report(inst, choice, lp_bound, status, started)


def separable_bound(inst: Instance) -> float:
    """A true lower bound without the LP: each request at its cheapest candidate or unplaced,
    every shared row (capacity, budget, floor, fair share) dropped."""
    value = np.array([r.value_fen for r in inst.requests], dtype=np.float64)
    best = value.copy()
    np.minimum.at(best, inst.candidates.request, inst.objective_terms())
    return float(best.sum())


def _left(started: float, limit: float) -> float:
    return limit - (time.perf_counter() - started)


def _milp(
    inst: Instance,
    rows: _Rows,
    fix: BoolArray | None,
    start: IntArray | None,
    time_limit_s: float,
    rel_gap: float,
) -> IntArray | None:
    """Branch and bound, with some candidates fixed to 1 and/or a starting answer; None if none."""
    if time_limit_s <= 0.05:
        return None
    n = len(inst.candidates)
    h = _highs(inst, rows, relax=False, time_limit_s=time_limit_s, rel_gap=rel_gap)
    if fix is not None:
        low = np.where(fix, 1.0, 0.0)
        h.changeColsBounds(n, np.arange(n, dtype=np.int32), low, np.ones(n))
    if start is not None:
        sol = highspy.HighsSolution()
        x0 = np.zeros(n)
        x0[start[start >= 0]] = 1.0
        sol.col_value = list(x0)
        h.setSolution(sol)
    h.run()
    if h.getInfo().primal_solution_status != 2:  # 2: a feasible integer answer exists
        return None
    found = np.asarray(h.getSolution().col_value)
    choice = np.full(len(inst.requests), -1, dtype=np.int64)
    picked = np.flatnonzero(found > 0.5)
    choice[inst.candidates.request[picked]] = picked
    return None if violations(inst, choice) else choice


def _gap(total: float, bound: float) -> float:
    return (total - bound) / max(abs(total), 1.0)


def _report(
    inst: Instance, choice: IntArray, lp_bound: float | None, status: str, started: float
) -> Solution:
    total = objective(inst, choice)
    gap = None if lp_bound is None else _gap(total, lp_bound)
    return Solution(
        method="batch",
        choice=choice,
        objective=total,
        lp_bound=lp_bound,
        status=status,
        seconds=time.perf_counter() - started,
        gap=gap,
    )
