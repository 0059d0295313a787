"""Batch placement from quotes: each candidate is charged to the program of its own row."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import numpy as np

from suanli.placement.candidates import build_candidates
from suanli.placement.check import violations
from suanli.placement.milp import solve_batch
from suanli.placement.model import Pool, Request
from suanli.placement.policy import Policy, ProgramPolicy
from suanli.services.batch_placement import _Item, _paying


def _row(voucher: str | None, program: str | None, rate: Fraction) -> SimpleNamespace:
    return SimpleNamespace(voucher_id=voucher, program_id=program, rate=rate)


def test_rows_paid_by_another_program_or_by_no_one_are_charged_accordingly() -> None:
    # One request, two vouchers: A pays on the domestic offer, B on the foreign one; the third
    # offer is domestic but B's voucher is empty there, so nobody pays.
    pools = [Pool("dom", "910B", True, 4, 1000), Pool("for", "H20", False, 4, 600),
             Pool("dom2", "910B", True, 4, 1000)]  # fmt: skip
    rows = {"dom": _row("va", "A", Fraction(1, 2)), "for": _row("vb", "B", Fraction(1, 2)),
            "dom2": _row("vb0", "B", Fraction(1, 2))}  # fmt: skip
    vouchers = {"va": SimpleNamespace(balance_fen=10**6), "vb": SimpleNamespace(balance_fen=10**6),
                "vb0": SimpleNamespace(balance_fen=0)}  # fmt: skip
    # A's floor is 100 %: had the foreign row been charged to A, it could not be chosen.
    programs = {"A": ProgramPolicy("A", domestic_floor=Fraction(1)),
                "B": ProgramPolicy("B", budget_fen=10**6)}  # fmt: skip
    policy = Policy(programs=programs, mip_rel_gap=1e-9)
    request = Request("r", "t", 1, value_fen=10**6, program="A")
    inst = build_candidates([request], pools, np.ones((1, 3)), policy, n_slots=2, slot_hours=1.0)
    item = _Item(SimpleNamespace(id="r"), rows, vouchers)  # type: ignore[arg-type]
    inst = _paying(inst, [item])
    cs = inst.candidates
    by_pool = {inst.pools[int(p)].id: (int(cs.program[i]), int(cs.subsidy_fen[i]))
               for i, p in enumerate(cs.pool)}  # fmt: skip
    assert inst.programs == ("A", "B")
    assert by_pool == {"dom": (0, 500), "for": (1, 300), "dom2": (-1, 0)}
    sol = solve_batch(inst)
    assert violations(inst, sol.choice) == []
    assert inst.pools[int(cs.pool[sol.choice[0]])].id == "for"  # net 300, B pays
