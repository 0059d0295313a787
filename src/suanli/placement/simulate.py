"""Trace-driven discrete-event simulation of a placement policy over a fleet.

Jobs arrive at their trace times and run for their trace duration divided by the speed of the
pool they are placed on, relative to the trace's reference accelerator. Policies:

- ``fifo``: strict arrival order; the head job takes the first pool (fleet order) with room and
  blocks everyone behind it until it fits. Price and the domestic floor are ignored.
- ``greedy``: at every arrival and completion, queued jobs in arrival order each take the
  cheapest pool (net of subsidy) with room now, keeping the program's domestic floor on the
  running total; a job that does not fit waits without blocking others (backfill).
- ``batch``: every ``window_s``, the queued jobs are placed at once by the MILP (start now,
  free capacity, domestic floor with the credit earned so far); older jobs are worth more.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from suanli.placement.candidates import build_candidates
from suanli.placement.fleet import Fleet
from suanli.placement.milp import solve_batch
from suanli.placement.model import BoolArray, FloatArray, Pool, Request
from suanli.placement.policy import Policy, ProgramPolicy
from suanli.placement.trace import Trace

POLICIES = ("fifo", "greedy", "batch")
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class SimResult:
    jobs: int
    unplaced: int
    wait_p50_s: float
    wait_p95_s: float
    makespan_s: float
    utilization: float
    cost_fen: int
    subsidy_fen: int
    domestic_share: float
    jain_fairness: float
    sim_seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class _State:
    """Free accelerators per pool, running jobs, and what has been placed so far."""

    def __init__(self, trace: Trace, fleet: Fleet) -> None:
        self.trace, self.fleet = trace, fleet
        self.free = np.array([p.count for p in fleet.pools], dtype=np.int64)
        self.running: list[tuple[float, int, int]] = []  # (end_s, pool, gpus)
        n = len(trace)
        self.start_s = np.full(n, np.nan)
        self.pool = np.full(n, -1, dtype=np.int64)
        self.run_s = np.zeros(n)
        self.dom_ah = 0.0
        self.tot_ah = 0.0
        prog = fleet.program
        self.floor = float(prog.domestic_floor) if prog else 0.0
        price = np.array([p.price_fen_per_accel_hour for p in fleet.pools], dtype=np.float64)
        speed = np.array([p.speed for p in fleet.pools])
        rate = np.array([_rate(fleet, p.domestic) for p in fleet.pools], dtype=np.float64)
        # Net fen per reference accelerator-hour on each pool: what greedy sorts by.
        self.net_per_ref_hour = price * (1 - rate) / speed
        self.by_net = np.argsort(self.net_per_ref_hour, kind="stable")
        self.domestic = np.array([p.domestic for p in fleet.pools])
        self.speed = speed

    def start(self, job: int, pool: int, now: float) -> None:
        gpus = int(self.trace.gpus[job])
        run = float(self.trace.duration_s[job]) / float(self.speed[pool])
        self.free[pool] -= gpus
        heapq.heappush(self.running, (now + run, pool, gpus))
        self.start_s[job], self.pool[job], self.run_s[job] = now, pool, run
        ah = gpus * run / 3600
        self.tot_ah += ah
        self.dom_ah += ah if self.domestic[pool] else 0.0

    def release_until(self, now: float) -> None:
        while self.running and self.running[0][0] <= now:
            _, pool, gpus = heapq.heappop(self.running)
            self.free[pool] += gpus

    def floor_allows(self, pool: int, ah: float) -> bool:
        if self.domestic[pool] or self.fleet.program is None:
            return True
        return self.dom_ah + 1e-9 >= self.floor * (self.tot_ah + ah)


def _rate(fleet: Fleet, domestic: bool) -> Fraction:
    prog = fleet.program
    if prog is None:
        return Fraction(0)
    return prog.rate_domestic if domestic else prog.rate_foreign


def _fifo(st: _State, queue: list[int], now: float) -> list[int]:
    while queue:
        job = queue[0]
        fits = np.flatnonzero(st.free >= st.trace.gpus[job])
        if fits.size == 0:
            break
        st.start(job, int(fits[0]), now)
        queue.pop(0)
    return queue


def _greedy(st: _State, queue: list[int], now: float, scan: int = 256) -> list[int]:
    waiting: list[int] = []
    for i, job in enumerate(queue):
        if i >= scan or st.free.max() < 1:
            waiting.extend(queue[i:])
            break
        gpus = int(st.trace.gpus[job])
        placed = False
        for pool in st.by_net:
            if st.free[pool] >= gpus:
                ah = gpus * float(st.trace.duration_s[job]) / float(st.speed[pool]) / 3600
                if st.floor_allows(int(pool), ah):
                    st.start(job, int(pool), now)
                    placed = True
                    break
        if not placed:
            waiting.append(job)
    return waiting


def _batch(st: _State, queue: list[int], now: float, limit: int = 1000) -> list[int]:
    if not queue or st.free.max() < st.trace.gpus[queue].min():
        return queue
    head, rest = queue[:limit], queue[limit:]
    fleet = st.fleet
    prog = fleet.program
    live = np.flatnonzero(st.free > 0)
    pools = [
        Pool(
            fleet.pools[j].id,
            fleet.pools[j].accelerator_id,
            bool(st.domestic[j]),
            int(st.free[j]),
            fleet.pools[j].price_fen_per_accel_hour,
        )
        for j in live
    ]
    dur_h = st.trace.duration_s[head] / 3600
    worst = float(max(p.price_fen_per_accel_hour for p in fleet.pools)) / float(st.speed.min())
    requests = [
        Request(
            id=str(job),
            tenant=st.trace.tenant[job],
            accels=int(st.trace.gpus[job]),
            # Worth more than any pool costs, and more the longer it has waited.
            value_fen=int(
                2 * worst * st.trace.gpus[job] * (dur_h[i] + 1) + (now - st.trace.submit_s[job])
            ),
            program=prog.id if prog else None,
        )
        for i, job in enumerate(head)
    ]
    hours = dur_h[:, None] / st.speed[live][None, :]
    programs = {}
    rates = {}
    if prog is not None:
        surplus = st.dom_ah - st.floor * st.tot_ah
        programs[prog.id] = ProgramPolicy(prog.id, None, prog.domestic_floor, max(surplus, 0.0))
        rates[prog.id] = (prog.rate_domestic, prog.rate_foreign)
    policy = Policy(
        programs=programs, candidates_per_request=len(pools), time_limit_s=5.0, mip_rel_gap=0.01
    )
    inst = build_candidates(
        requests, pools, hours, policy, n_slots=1, slot_hours=1e12, rates=rates, max_starts=1
    )
    sol = solve_batch(inst)
    waiting = []
    for r, c in enumerate(sol.choice):
        job = head[r]
        if c < 0:
            waiting.append(job)
        else:
            st.start(job, int(live[inst.candidates.pool[c]]), now)
    return waiting + rest


def simulate(
    trace: Trace,
    fleet: Fleet,
    policy: str,
    *,
    window_s: float = 600.0,
    progress: Progress | None = None,
) -> SimResult:
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}")
    started = time.perf_counter()
    st = _State(trace, fleet)
    biggest = max(p.count for p in fleet.pools)
    queue: list[int] = []
    n, nxt = len(trace), 0
    step = {"fifo": _fifo, "greedy": _greedy, "batch": _batch}[policy]
    tick = 0.0
    while nxt < n or queue:
        # Next event: an arrival, a completion, or (batch) the next window.
        times = []
        if nxt < n:
            times.append(float(trace.submit_s[nxt]))
        if st.running:
            times.append(st.running[0][0])
        if not times:
            break  # queued jobs that no pool can ever hold
        now = min(times)
        if policy == "batch":  # decide only on window boundaries
            now = max(tick, float(np.ceil(now / window_s)) * window_s)
        st.release_until(now)
        before = nxt
        while nxt < n and trace.submit_s[nxt] <= now:
            if trace.gpus[nxt] <= biggest:
                queue.append(nxt)
            nxt += 1
        queue = step(st, queue, now)
        if policy == "batch":
            tick = now + window_s
        if progress is not None and nxt > before:
            progress(nxt - before)
        if not st.running and nxt >= n and queue:
            break  # nothing running, nothing arriving: what is left can never start
    return _summarise(st, time.perf_counter() - started)


def _summarise(st: _State, seconds: float) -> SimResult:
    t = st.trace
    placed = st.pool >= 0
    wait = (st.start_s - t.submit_s)[placed]
    end = (st.start_s + st.run_s)[placed]
    makespan = float(end.max() - t.submit_s[0]) if placed.any() else 0.0
    pools = st.pool[placed]
    gpus = t.gpus[placed]
    hours = st.run_s[placed] / 3600
    price = np.array([p.price_fen_per_accel_hour for p in st.fleet.pools], dtype=np.int64)
    cost = np.rint(price[pools] * gpus * hours).astype(np.int64)
    subsidy = 0
    for pool in range(len(st.fleet.pools)):
        rate = _rate(st.fleet, bool(st.domestic[pool]))
        subsidy += int(((cost[pools == pool] * rate.numerator) // rate.denominator).sum())
    ah = gpus * hours
    total_ah = float(ah.sum())
    capacity_ah = st.fleet.gpus * makespan / 3600
    return SimResult(
        jobs=int(placed.sum()),
        unplaced=int((~placed).sum()),
        wait_p50_s=float(np.percentile(wait, 50)) if wait.size else 0.0,
        wait_p95_s=float(np.percentile(wait, 95)) if wait.size else 0.0,
        makespan_s=makespan,
        utilization=total_ah / capacity_ah if capacity_ah else 0.0,
        cost_fen=int(cost.sum()),
        subsidy_fen=subsidy,
        domestic_share=float(ah[st.domestic[pools]].sum()) / total_ah if total_ah else 0.0,
        jain_fairness=_jain(t, placed, wait, st.run_s[placed]),
        sim_seconds=seconds,
    )


def _jain(t: Trace, placed: BoolArray, wait: FloatArray, run: FloatArray) -> float:
    """Jain's index over tenants of their mean service ratio run / (wait + run)."""
    tenants = np.array(t.tenant)[placed]
    ratio = run / np.maximum(wait + run, 1e-9)
    means = np.array([ratio[tenants == name].mean() for name in np.unique(tenants)])
    if means.size == 0:
        return 1.0
    return float(means.sum() ** 2 / (means.size * (means**2).sum()))
