"""The fair-share cap less what each tenant already holds: solver, baselines and checker agree."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np

from suanli.placement.candidates import build_candidates
from suanli.placement.check import violations
from suanli.placement.greedy import fifo, greedy
from suanli.placement.milp import solve_batch
from suanli.placement.model import Instance, Pool, Request
from suanli.placement.policy import Policy


def _instance(held_ah: dict[str, float]) -> Instance:
    # One scarce pool of 2 over 4 one-hour slots: 8 accelerator-hours, a share of 1/2 is 4.
    pools = [Pool("h800", "H800", False, 2, 100, scarce=True), Pool("910b", "910B", True, 2, 900)]
    requests = [Request(f"{t}{i}", t, 1, value_fen=100_000) for t in "ab" for i in range(2)]
    policy = Policy(fair_share_cap=Fraction(1, 2), candidates_per_request=64, mip_rel_gap=1e-9)
    hours = np.full((len(requests), len(pools)), 2.0)
    inst = build_candidates(requests, pools, hours, policy, n_slots=4, slot_hours=1.0)
    return replace(inst, scarce_held_ah=held_ah)


def _scarce_ah(inst: Instance, choice: np.ndarray, tenant: str) -> float:
    cs = inst.candidates
    mine = [c for c in choice if c >= 0 and inst.requests[cs.request[c]].tenant == tenant]
    return float(sum(cs.accel_hours[c] for c in mine if cs.scarce[c]))


def test_what_a_tenant_holds_comes_off_its_share() -> None:
    fresh = _instance({})
    assert fresh.fair_share_limits() is not None
    assert fresh.fair_share_limits().tolist() == [4.0, 4.0]  # type: ignore[union-attr]
    inst = _instance({"a": 3.0, "b": 9.0})
    assert inst.fair_share_limits().tolist() == [1.0, 0.0]  # type: ignore[union-attr]
    # Alone, each tenant takes its whole share (two 2-hour runs) of the cheap scarce pool.
    before = solve_batch(fresh).choice
    assert _scarce_ah(fresh, before, "a") == _scarce_ah(fresh, before, "b") == 4.0
    for solve in (solve_batch, greedy, fifo):
        assert violations(fresh, solve(fresh).choice) == []
        after = solve(inst)
        assert violations(inst, after.choice) == []
        # Holding 3 hours, a has room for no 2-hour run there; b, above its share, none at all.
        assert _scarce_ah(inst, after.choice, "a") == 0.0
        assert _scarce_ah(inst, after.choice, "b") == 0.0
        assert (after.choice >= 0).all()  # placed on the dearer pool instead


def test_the_checker_flags_a_choice_above_the_remaining_share() -> None:
    fresh, inst = _instance({}), _instance({"a": 3.0})
    choice = solve_batch(fresh).choice
    assert violations(fresh, choice) == []
    assert violations(inst, choice) == ["tenant a above its fair share of scarce models"]
