"""Batch placement: policies hold, the MILP matches brute force, baselines are feasible."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.errors import ValidationError
from suanli.placement.candidates import build_candidates
from suanli.placement.check import objective, violations
from suanli.placement.greedy import fifo, greedy
from suanli.placement.milp import solve_batch
from suanli.placement.model import Instance, Pool, Request
from suanli.placement.policy import Policy, ProgramPolicy, parse_policy

HALF = (Fraction(1, 2), Fraction(1, 2))


def _instance(pools, requests, hours, policy, n_slots=4, rates=None) -> Instance:
    return build_candidates(
        requests,
        pools,
        np.array(hours, dtype=float),
        policy,
        n_slots=n_slots,
        slot_hours=1.0,
        rates=rates or {"v": HALF},
    )


def _exact(policy: Policy) -> Policy:
    return Policy(
        programs=policy.programs,
        fair_share_cap=policy.fair_share_cap,
        scarce_models=policy.scarce_models,
        candidates_per_request=64,
        time_limit_s=20,
        mip_rel_gap=1e-9,
    )


def test_domestic_floor_forces_the_dearer_domestic_pool() -> None:
    pools = [Pool("dom", "910B", True, 4, 1000), Pool("for", "H20", False, 4, 500)]
    requests = [Request(f"r{i}", "t", 2, value_fen=100_000, program="v") for i in range(2)]
    floor = Policy(programs={"v": ProgramPolicy("v", domestic_floor=Fraction(1, 2))})
    inst = _instance(pools, requests, [[1, 1], [1, 1]], _exact(floor))
    sol = solve_batch(inst)
    chosen = inst.candidates.pool[sol.choice]
    # Cheapest would be both on the foreign pool; the floor needs half the hours domestic.
    assert sorted(chosen.tolist()) == [0, 1]
    assert violations(inst, sol.choice) == []
    # cost 2000 + 1000, half subsidised
    assert sol.objective == pytest.approx(1000 + 500)


def test_capacity_is_never_over_committed_and_waiting_jobs_start_later() -> None:
    pools = [Pool("p", "910B", True, 4, 100)]
    requests = [Request(f"r{i}", "t", 4, value_fen=10_000) for i in range(3)]
    inst = _instance(pools, requests, [[2], [2], [2]], _exact(Policy()), n_slots=5)
    sol = solve_batch(inst)
    # Only two 2-slot jobs fit in 5 slots on a full pool; the third stays unplaced.
    assert sol.placed == 2
    starts = sorted(inst.candidates.start_slot[sol.choice[sol.choice >= 0]].tolist())
    assert starts[1] >= starts[0] + 2
    assert violations(inst, sol.choice) == []


@pytest.mark.parametrize(
    ("budget_fen", "cap"),
    [(4000, None), (None, Fraction(1, 4)), (3999, Fraction(1, 4))],
)
def test_budget_caps_subsidy_and_fair_share_caps_a_tenant(
    budget_fen: int | None, cap: Fraction | None
) -> None:
    # Each job: 4 accelerators × 2 h = 8 accel-hours, cost 8000 fen, subsidy 4000 fen.
    pools = [Pool("h", "H800", False, 8, 1000, scarce=True)]
    requests = [Request(f"r{i}", "big", 4, value_fen=100_000, program="v") for i in range(2)]
    policy = Policy(programs={"v": ProgramPolicy("v", budget_fen=budget_fen)}, fair_share_cap=cap)
    inst = _instance(pools, requests, [[2], [2]], _exact(policy))
    sol = solve_batch(inst)
    # Budget 4000 pays one subsidy; a quarter of 8 accelerators × 4 slots is 8 accel-hours.
    assert sol.placed == (0 if budget_fen == 3999 else 1)
    assert violations(inst, sol.choice) == []


def _random_instance(seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    pools = [
        Pool(
            f"p{j}",
            f"m{j}",
            bool(j % 2),
            int(rng.integers(2, 6)),
            int(rng.integers(50, 200)),
            scarce=j == 0,
        )
        for j in range(3)
    ]
    requests = [
        Request(
            f"r{i}",
            f"t{i % 2}",
            int(rng.integers(1, 4)),
            value_fen=int(rng.integers(200, 2000)),
            program="v" if i % 3 else None,
        )
        for i in range(4)
    ]
    hours = rng.uniform(0.5, 2.5, (4, 3))
    policy = Policy(
        programs={
            "v": ProgramPolicy(
                "v",
                budget_fen=int(rng.integers(100, 600)),
                domestic_floor=Fraction(int(rng.integers(0, 4)), 4),
            )
        },
        fair_share_cap=Fraction(int(rng.integers(1, 4)), 4),
        candidates_per_request=3,
        time_limit_s=20,
        mip_rel_gap=1e-9,
    )
    # The program may pay nothing on foreign chips: those hours are then not subsidised.
    rates = {"v": (Fraction(1, 2), Fraction(int(rng.integers(0, 3)), 4))}
    return _instance(pools, requests, hours, policy, n_slots=3, rates=rates)


def _brute_force(inst: Instance) -> float:
    options = [
        [-1, *np.flatnonzero(inst.candidates.request == r).tolist()]
        for r in range(len(inst.requests))
    ]
    best = float("inf")
    for combo in itertools.product(*options):
        choice = np.array(combo, dtype=np.int64)
        if not violations(inst, choice):
            best = min(best, objective(inst, choice))
    return best


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_milp_equals_brute_force_on_tiny_instances(seed: int) -> None:
    inst = _random_instance(seed)
    sol = solve_batch(inst)
    assert violations(inst, sol.choice) == []
    assert sol.objective == pytest.approx(_brute_force(inst), abs=1e-6)
    assert sol.lp_bound is not None and sol.lp_bound <= sol.objective + 1e-6


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_greedy_and_fifo_keep_every_rule(seed: int) -> None:
    inst = _random_instance(seed)
    for sol in (greedy(inst), fifo(inst)):
        assert violations(inst, sol.choice) == []
        assert sol.objective >= solve_batch(inst).objective - 1e-6


def test_synthetic_batch_beats_baselines_within_one_percent_of_its_bound() -> None:
    from suanli.placement import synthetic

    inst = synthetic.instance(300, 40, seed=3)
    batch, g, f = solve_batch(inst), greedy(inst), fifo(inst)
    for sol in (batch, g, f):
        assert violations(inst, sol.choice) == []
    assert batch.lp_bound is not None
    assert batch.objective <= 1.01 * batch.lp_bound
    assert batch.objective <= g.objective <= f.objective


def test_policy_file_validation_names_the_field() -> None:
    ok = parse_policy({"fair_share_cap": "1/4", "program": [{"id": "v", "domestic_floor": "7/10"}]})
    assert ok.programs["v"].domestic_floor == Fraction(7, 10)
    with pytest.raises(ValidationError) as err:
        parse_policy({"program": [{"id": "v", "domestic_floor": 1.5}]})
    assert err.value.field == "program[0].domestic_floor"
    with pytest.raises(ValidationError) as err:
        parse_policy({"fair_share": 0.2})
    assert err.value.field == "fair_share"
    with pytest.raises(ValidationError) as err:
        parse_policy({"program": [{"id": "v", "budget_fen": 1.5}]})
    assert err.value.field == "program[0].budget_fen"


def test_shipped_policy_files_parse() -> None:
    import tomllib

    from suanli.paths import data_dir

    files = sorted((data_dir() / "policies").glob("*.toml"))
    assert files
    for path in files:
        policy = parse_policy(tomllib.loads(path.read_text()))
        assert 0 < policy.mip_rel_gap <= 0.01


def test_time_limited_fallback_reports_a_true_gap() -> None:
    from suanli.placement import synthetic
    from suanli.placement.milp import separable_bound

    inst = synthetic.instance(2000, 200, seed=1)
    # Too little time for the LP: greedy's answer, with its gap against a bound that holds.
    sol = solve_batch(inst, time_limit_s=0.01)
    assert sol.status == "fallback_greedy"
    assert sol.lp_bound is None
    assert violations(inst, sol.choice) == []
    bound = separable_bound(inst)
    assert sol.gap == pytest.approx((sol.objective - bound) / sol.objective)
    assert 0 <= sol.gap < 0.05
    full = solve_batch(inst)
    assert full.lp_bound is not None and bound <= full.lp_bound + 1e-6


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_separable_bound_is_below_the_optimum(seed: int) -> None:
    from suanli.placement.milp import separable_bound

    inst = _random_instance(seed)
    assert separable_bound(inst) <= _brute_force(inst) + 1e-6


def test_floor_counts_only_hours_the_program_pays_for() -> None:
    # The program pays half on domestic chips and nothing on foreign ones; its floor is 100 %.
    pools = [Pool("dom", "910B", True, 4, 1000), Pool("for", "H20", False, 4, 400)]
    requests = [Request(f"r{i}", "t", 2, value_fen=100_000, program="v") for i in range(2)]
    floor = Policy(programs={"v": ProgramPolicy("v", budget_fen=0, domestic_floor=Fraction(1))})
    rates = {"v": (Fraction(1, 2), Fraction(0))}
    inst = _instance(pools, requests, [[1, 1], [1, 1]], _exact(floor), rates=rates)
    # Unsubsidised foreign hours are the tenant's own: they neither break the floor nor spend
    # the (empty) budget; domestic ones would need 1,000 fen of subsidy each, over the budget.
    for sol in (solve_batch(inst), greedy(inst), fifo(inst)):
        assert violations(inst, sol.choice) == []
        assert inst.candidates.pool[sol.choice].tolist() == [1, 1]
        assert sol.objective == pytest.approx(2 * 800)
