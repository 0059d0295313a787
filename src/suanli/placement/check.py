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
        self.tenant_of = inst.tenant_index

    def fits(self, c: int) -> bool:
        cs = self.inst.candidates
        p, s, e = int(cs.pool[c]), int(cs.start_slot[c]), int(cs.end_slot[c])
        if (self.used[p, s:e] + cs.accels[c] > self.cap[p]).any():
            return False
        ah = float(cs.accel_hours[c])
        prog = int(cs.program[c])
        if prog >= 0:
            budget = self.budget_fen[prog]
            if budget is not None and self.spent_fen[prog] + cs.subsidy_fen[c] > budget:
                return False
            dom = self.dom_ah[prog] + (ah if cs.domestic[c] else 0.0)
            need = float(self.floor[prog]) * (self.sub_ah[prog] + ah)
            if dom + self.surplus[prog] + _EPS < need:
                return False
        if cs.scarce[c] and self.scarce_limit is not None:
            t = int(self.tenant_of[c])
            if self.tenant_scarce_ah[t] + ah > self.scarce_limit[t] + _EPS:
                return False
        return True

    def add(self, c: int) -> None:
        cs = self.inst.candidates
        p, s, e = int(cs.pool[c]), int(cs.start_slot[c]), int(cs.end_slot[c])
        self.used[p, s:e] += cs.accels[c]
        ah = float(cs.accel_hours[c])
        prog = int(cs.program[c])
        if prog >= 0:
            self.spent_fen[prog] += cs.subsidy_fen[c]
            self.sub_ah[prog] += ah
            self.dom_ah[prog] += ah if cs.domestic[c] else 0.0
        if cs.scarce[c]:
            self.tenant_scarce_ah[int(self.tenant_of[c])] += ah


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
