"""Properties of the subsidy over every shipped contract program (seeded Hypothesis)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.money import apply_rate
from suanli.domain.subsidy import compute_subsidy
from suanli.services.programs import load_programs
from tests.unit.programs_helpers import acc, contract, tenant

PROGRAMS = [p for p in load_programs().values() if p.kind != "purchase-subsidy"]
ACCS = [acc("910B"), acc("H20"), acc("MLU370-X8"), acc("A100")]


def _contract_for(program_id: str, amount: int, hours: int, acc_id: str) -> object:
    program = load_programs()[program_id]
    providers = program.accredited_providers or ("any-provider",)
    if program.credits is not None:
        providers = tuple(program.credits.credits_per_accelerator_hour)
    return contract(
        provider_id=providers[0],
        amount_fen=amount,
        accelerator_hours=Fraction(hours),
        currency=program.currency,
        accelerator_id=acc_id,
        start_on=date(2025, 9, 1),
        end_on=date(2026, 6, 1),
    )


cases = st.tuples(
    st.sampled_from(PROGRAMS),
    st.sampled_from(ACCS),
    st.integers(0, 10**11),  # up to RMB 1bn
    st.integers(0, 10**10),
    st.integers(0, 10**6),
    st.booleans(),
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(cases, st.integers(0, 10**11))
def test_subsidy_bounds_and_monotone(case: tuple, extra: int) -> None:  # type: ignore[type-arg]
    program, accelerator, amount, already, hours, startup = case
    t = tenant(is_startup=startup, sector="university")
    c = _contract_for(program.id, amount, hours, accelerator.id)
    d = compute_subsidy(program, t, c, accelerator, already_subsidised_this_year_fen=already)  # type: ignore[arg-type]
    assert 0 <= d.subsidy_fen <= amount
    assert d.subsidy_fen <= apply_rate(amount, d.rate)
    if program.cap_per_entity_fen is not None:
        assert d.subsidy_fen <= max(program.cap_per_entity_fen - already, 0)
    if not d.eligible:
        assert d.subsidy_fen == 0 and any(not v.passed for v in d.reasons)
    more = _contract_for(program.id, amount + extra, hours, accelerator.id)
    d2 = compute_subsidy(program, t, more, accelerator, already_subsidised_this_year_fen=already)  # type: ignore[arg-type]
    assert d2.subsidy_fen >= d.subsidy_fen


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.integers(0, 10**11), st.integers(0, 100), st.sampled_from(ACCS))
def test_stacked_subsidies_never_exceed_the_cost(
    amount: int, other_pct: int, accelerator: object
) -> None:
    programs = load_programs()
    city, district = programs["shanghai-2025"], programs["shanghai-2025-district-topup"]
    c = _contract_for(city.id, amount, 100, accelerator.id)  # type: ignore[attr-defined]
    t = tenant(registered_city="Shanghai")
    first = compute_subsidy(city, t, c, accelerator)  # type: ignore[arg-type]
    top = compute_subsidy(
        district, t, c, accelerator,  # type: ignore[arg-type]
        other_subsidies_fen=first.subsidy_fen, other_programs=[city.id],
    )  # fmt: skip
    assert first.subsidy_fen + top.subsidy_fen <= amount
    assert first.subsidy_fen <= apply_rate(amount, city.rates.domestic or Fraction(0))
    # Whatever other programs already paid, the top-up never lifts the total above 100 %.
    other = amount * other_pct // 100
    d = compute_subsidy(
        district, t, c, accelerator, other_subsidies_fen=other, other_programs=[city.id]
    )  # type: ignore[arg-type]
    assert other + d.subsidy_fen <= amount
