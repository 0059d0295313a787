"""The batch's LP relaxation by column generation: solve over a few candidates per request,
price every other candidate against the row duals, add those that would lower the objective,
and solve again (warm: HiGHS keeps its basis) until none would.

At 100,000 requests there are nearly two million candidates, and the LP over all of them takes
minutes; but almost every request ends on one of its cheapest few, so the restricted LPs stay
small. Whenever the loop stops, the duals give a true lower bound on the full LP (Lagrangian:
the rows' right-hand sides at the duals, plus every candidate's negative reduced cost), which
equals the LP optimum once no candidate prices out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from suanli.placement.model import BoolArray, FloatArray, Instance, IntArray

_TOL = 1e-7  # reduced cost (in units of the median request value) that counts as negative
_PER_REQUEST = 2  # candidates added per request and round, the most negative first
_FIRST = 1  # candidates per request in the first restricted LP


@dataclass(frozen=True, slots=True)
class ColumnLp:
    """The LP over every candidate, solved over ``columns`` (sorted) only."""

    columns: IntArray  # candidates the restricted LP holds
    x: FloatArray  # their LP values, aligned with ``columns``
    bound: float  # a true lower bound on the full LP, in the scaled units
    objective: float  # the restricted LP's optimum, same units
    rounds: int
    converged: bool
    reduced: FloatArray  # every candidate's reduced cost at the last duals

    def widened(self, slack: float, most: int) -> tuple[IntArray, FloatArray]:
        """The held candidates and every other whose reduced cost is below ``slack`` (an answer
        ``slack`` above the bound can hold no other: its reduced cost alone would exceed the
        gap), at most ``most`` of them, the lowest first; and the LP values over that set."""
        extra = np.flatnonzero(self.reduced < slack)
        extra = extra[~np.isin(extra, self.columns)]
        if extra.size > most:
            extra = extra[np.argpartition(self.reduced[extra], most - 1)[:most]]
        cols = np.concatenate([self.columns, extra])
        x = np.concatenate([self.x, np.zeros(extra.size)])
        order = np.argsort(cols)
        return cols[order], x[order]


def _initial(inst: Instance, cost: FloatArray, first: int) -> IntArray:
    """Each request's ``first`` cheapest candidates (every start slot of its cheapest pool)."""
    req = inst.candidates.request
    order = np.lexsort((cost, req))
    starts = np.searchsorted(req[order], req[order], side="left")
    return np.sort(order[np.arange(order.size) - starts < first])


def _model(
    matrix: sparse.csc_array, lower: FloatArray, upper: FloatArray, cost: FloatArray, cols: IntArray
) -> highspy.HighsLp:
    lp = highspy.HighsLp()
    sub = matrix[:, cols]
    lp.num_col_ = cols.size
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = cost[cols]
    lp.col_lower_ = np.zeros(cols.size)
    lp.col_upper_ = np.ones(cols.size)
    lp.row_lower_ = np.where(np.isfinite(lower), lower, -highspy.kHighsInf)
    lp.row_upper_ = np.where(np.isfinite(upper), upper, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = sub.indptr.astype(np.int32)
    lp.a_matrix_.index_ = sub.indices.astype(np.int32)
    lp.a_matrix_.value_ = sub.data.astype(np.float64)
    return lp


def _bound(y: FloatArray, lower: FloatArray, upper: FloatArray, reduced: FloatArray) -> float:
    """Lagrangian bound of the LP with 0 <= x <= 1 at row duals ``y`` (HiGHS's signs)."""
    side = np.where(y > 0, lower, upper)
    rows = float(np.dot(np.where(y != 0, y, 0.0), np.where(y != 0, side, 0.0)))
    return rows + float(np.minimum(reduced, 0.0).sum())


def _entering(inst: Instance, reduced: FloatArray, held: BoolArray) -> IntArray:
    """Per request, up to ``_PER_REQUEST`` candidates not held whose reduced cost is negative."""
    out = np.flatnonzero((reduced < -_TOL) & ~held)
    if out.size == 0:
        return out
    req = inst.candidates.request[out]
    order = np.lexsort((reduced[out], req))
    starts = np.searchsorted(req[order], req[order], side="left")
    return np.sort(out[order[np.arange(order.size) - starts < _PER_REQUEST]])


def solve_lp(
    inst: Instance,
    matrix: sparse.csc_array,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    *,
    time_limit_s: float,
    new_highs: Callable[[], highspy.Highs] = highspy.Highs,
) -> ColumnLp | None:
    """The full LP by column generation; None if the first restricted LP misses the limit."""
    started = time.perf_counter()
    cols = _initial(inst, cost, _FIRST)
    h = new_highs()
    h.silent()
    h.passModel(_model(matrix, lower, upper, cost, cols))
    held = np.zeros(cost.size, dtype=bool)
    held[cols] = True
    order = list(cols)
    rounds, bound, reduced = 0, -np.inf, np.zeros(cost.size)
    while True:
        left = time_limit_s - (time.perf_counter() - started)
        if left <= 0 and rounds == 0:
            return None
        h.setOptionValue("time_limit", max(left, 1e-3))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None if rounds == 0 else _result(h, order, bound, rounds, reduced)
        rounds += 1
        y = np.asarray(h.getSolution().row_dual)
        reduced = cost - matrix.T @ y
        bound = max(bound, _bound(y, lower, upper, reduced))
        new = _entering(inst, reduced, held)
        if new.size == 0 or time.perf_counter() - started > time_limit_s:
            return _result(h, order, bound, rounds, reduced, converged=new.size == 0)
        sub = matrix[:, new]
        h.addCols(new.size, cost[new], np.zeros(new.size), np.ones(new.size), sub.nnz,
                  sub.indptr[:-1].astype(np.int32), sub.indices.astype(np.int32),
                  sub.data.astype(np.float64))  # fmt: skip
        held[new] = True
        order += list(new)


def _result(
    h: highspy.Highs,
    order: list[int],
    bound: float,
    rounds: int,
    reduced: FloatArray,
    *,
    converged: bool = False,
) -> ColumnLp:
    x = np.asarray(h.getSolution().col_value)
    where = np.array(order, dtype=np.int64)
    by = np.argsort(where)
    objective = h.getInfo().objective_function_value
    return ColumnLp(where[by], x[by], min(bound, objective), objective, rounds, converged, reduced)
