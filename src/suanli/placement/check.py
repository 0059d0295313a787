"""Policy checks: incremental (for greedy and FIFO) and whole-solution (for tests and the MILP).

The same rules as the MILP's constraints, written plainly, so a solver answer can be verified
independently of the solver.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from suanli.placement.model import Instance, IntArray

_EPS = 1e-6


class Tally:
    """Capacity used per pool and slot, budget spent, hours by origin and tenant, as placed."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.used = np.zeros((len(inst.pools), inst.n_slots), dtype=np.int64)
        self.cap = np.array([p.count for p in inst.pools], dtype=np.int64)
        n_prog = len(inst.programs)
        self.spent_fen = np.zeros(n_prog, dtype=np.int64)
        self.budget_fen = [_budget(inst, p) for p in inst.programs]
        self.floor = [_floor(inst, p) for p in inst.programs]
        self.surplus = [_surplus(inst, p) for p in inst.programs]
        self.dom_ah = np.zeros(n_prog)
        self.sub_ah = np.zeros(n_prog)
        self.tenant_scarce_ah = np.zeros(len(inst.tenants))
        self.scarce_limit = inst.fair_share_limits()  # per tenant; None: no cap
        # The columns read per candidate, computed once and as Python lists: indexing a list is
        # far cheaper than a numpy scalar, and ``accel_hours`` is a product over every candidate,
        # which recomputed per call made greedy and FIFO quadratic in the candidates.
        cs = inst.candidates
        self._pool: list[int] = cs.pool.tolist()
        self._start: list[int] = cs.start_slot.tolist()
        self._end: list[int] = cs.end_slot.tolist()
        self._accels: list[int] = cs.accels.tolist()
        self._ah: list[float] = cs.accel_hours.tolist()
        self._program: list[int] = cs.program.tolist()
        self._subsidy: list[int] = cs.subsidy_fen.tolist()
        self._domestic: list[bool] = cs.domestic.tolist()
        self._scarce: list[bool] = cs.scarce.tolist()
        self._tenant: list[int] = inst.tenant_index.tolist()
        self._cap: list[int] = self.cap.tolist()

    def fits(self, c: int) -> bool:
        p, s, e = self._pool[c], self._start[c], self._end[c]
        if int(self.used[p, s:e].max(initial=0)) + self._accels[c] > self._cap[p]:
            return False
        ah = self._ah[c]
        prog = self._program[c]
        if prog >= 0:
            budget = self.budget_fen[prog]
            if budget is not None and int(self.spent_fen[prog]) + self._subsidy[c] > budget:
                return False
            dom = float(self.dom_ah[prog]) + (ah if self._domestic[c] else 0.0)
            need = float(self.floor[prog]) * (float(self.sub_ah[prog]) + ah)
            if dom + self.surplus[prog] + _EPS < need:
                return False
        if self._scarce[c] and self.scarce_limit is not None:
            t = self._tenant[c]
            if float(self.tenant_scarce_ah[t]) + ah > float(self.scarce_limit[t]) + _EPS:
                return False
        return True

    def add(self, c: int) -> None:
        p, s, e = self._pool[c], self._start[c], self._end[c]
        self.used[p, s:e] += self._accels[c]
        ah = self._ah[c]
        prog = self._program[c]
        if prog >= 0:
            self.spent_fen[prog] += self._subsidy[c]
            self.sub_ah[prog] += ah
            self.dom_ah[prog] += ah if self._domestic[c] else 0.0
        if self._scarce[c]:
            self.tenant_scarce_ah[self._tenant[c]] += ah


def _budget(inst: Instance, program: str) -> int | None:
    pol = inst.policy.program(program)
    return None if pol is None else pol.budget_fen


def _floor(inst: Instance, program: str) -> Fraction:
    pol = inst.policy.program(program)
    return Fraction(0) if pol is None else pol.domestic_floor


def _surplus(inst: Instance, program: str) -> float:
    pol = inst.policy.program(program)
    return 0.0 if pol is None else pol.domestic_surplus_ah


def violations(inst: Instance, choice: IntArray) -> list[str]:
    """Every rule the chosen candidates break; empty when the solution is feasible."""
    problems: list[str] = []
    cs = inst.candidates
    if len(choice) != len(inst.requests):
        return [f"choice has {len(choice)} entries for {len(inst.requests)} requests"]
    chosen = choice[choice >= 0]
    if (cs.request[chosen] != np.flatnonzero(choice >= 0)).any():
        problems.append("a request took another request's candidate")
    used = np.zeros((len(inst.pools), inst.n_slots), dtype=np.int64)
    for c in chosen:
        used[cs.pool[c], cs.start_slot[c] : cs.end_slot[c]] += cs.accels[c]
    for p, pool in enumerate(inst.pools):
        if used[p].max(initial=0) > pool.count:
            problems.append(f"pool {pool.id} over-committed: {used[p].max()} > {pool.count}")
    ah = cs.accel_hours
    for k, prog in enumerate(inst.programs):
        mine = chosen[cs.program[chosen] == k]
        budget = _budget(inst, prog)
        if budget is not None and int(cs.subsidy_fen[mine].sum()) > budget:
            problems.append(f"program {prog} over budget: {cs.subsidy_fen[mine].sum()} > {budget}")
        total, dom = float(ah[mine].sum()), float(ah[mine][cs.domestic[mine]].sum())
        surplus = _surplus(inst, prog)
        if dom + surplus + _EPS * max(1.0, total) < float(_floor(inst, prog)) * total:
            problems.append(f"program {prog} domestic share {dom / total:.4f} below its floor")
    limits = inst.fair_share_limits()
    if limits is not None:
        tenant = inst.tenant_index
        for t, name in enumerate(inst.tenants):
            mine = chosen[(tenant[chosen] == t) & cs.scarce[chosen]]
            limit = float(limits[t])
            if float(ah[mine].sum()) > limit + _EPS * max(1.0, limit):
                problems.append(f"tenant {name} above its fair share of scarce models")
    return problems


def objective(inst: Instance, choice: IntArray) -> float:
    """Objective terms of the chosen candidates plus the value of every unplaced request."""
    terms = inst.objective_terms()
    placed = choice >= 0
    unplaced_fen = sum(r.value_fen for r, p in zip(inst.requests, placed, strict=True) if not p)
    return float(terms[choice[placed]].sum()) + float(unplaced_fen)
