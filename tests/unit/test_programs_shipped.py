"""Worked examples for every shipped program, taken from the program's own text."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from fractions import Fraction
from typing import Any

import pytest

from suanli.domain.subsidy import compute_purchase_subsidy, compute_subsidy
from suanli.domain.subsidy_facts import Purchase, SubsidyDecision
from suanli.errors import NotFoundError, ValidationError
from suanli.services.programs import explain, get_program, load_programs
from tests.unit.programs_helpers import YUAN, acc, contract, tenant

SHIPPED = {
    "beijing-2023",
    "shenzhen-2024",
    "hangzhou-2025",
    "shanghai-2025",
    "shanghai-2025-district-topup",
    "chengdu-2025",
    "beijing-domestic-gpu-purchase",
    "nsf-access",
}


def failed(decision: SubsidyDecision) -> set[str]:
    return {v.check for v in decision.reasons if not v.passed}


def test_every_program_is_shipped_with_sources_and_explains_itself() -> None:
    programs = load_programs()
    assert set(programs) >= SHIPPED
    for program in programs.values():
        assert program.sources
        words = explain(program)
        assert any(line.startswith("Source:") for line in words)


def test_unknown_program_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        get_program("atlantis-2030")


# --- Hangzhou: 30 % on domestic compute, 20 % otherwise, RMB 8M a year ----------------------


def _hangzhou(accelerator: str, **kw: Any) -> SubsidyDecision:
    program = get_program("hangzhou-2025")
    c = contract(
        provider_id="hz-xixi-compute", provider_city="Hangzhou", accelerator_id=accelerator
    )
    return compute_subsidy(program, tenant(registered_city="Hangzhou"), c, acc(accelerator), **kw)


def test_hangzhou_domestic_30_foreign_20() -> None:
    domestic = _hangzhou("910B")
    foreign = _hangzhou("H20")
    assert domestic.eligible and foreign.eligible
    assert domestic.rate == Fraction(3, 10) and domestic.subsidy_fen == 300_000 * YUAN
    assert foreign.rate == Fraction(1, 5) and foreign.subsidy_fen == 200_000 * YUAN
    assert "domestic" in domestic.lines[0]


def test_hangzhou_cap_8m_a_year() -> None:
    d = _hangzhou("910B", already_subsidised_this_year_fen=7_900_000 * YUAN)
    assert d.subsidy_fen == 100_000 * YUAN


def test_hangzhou_refuses_unaccredited_provider() -> None:
    program = get_program("hangzhou-2025")
    d = compute_subsidy(program, tenant(), contract(), acc("910B"))
    assert not d.eligible and d.subsidy_fen == 0
    assert failed(d) == {"accredited-provider"}


# --- Beijing 2023: 20 %, RMB 2M per firm per calendar year, non-affiliated only ------------


def test_beijing_pays_20_percent() -> None:
    d = compute_subsidy(get_program("beijing-2023"), tenant(), contract(), acc("910B"))
    assert d.eligible and d.rate == Fraction(1, 5) and d.subsidy_fen == 200_000 * YUAN


def test_beijing_cap_reached_mid_year() -> None:
    program = get_program("beijing-2023")
    big = contract(amount_fen=5_000_000 * YUAN)
    # Earlier this year the firm already got RMB 1.5M: only RMB 0.5M of the 2M cap is left.
    d = compute_subsidy(
        program, tenant(), big, acc("910B"), already_subsidised_this_year_fen=1_500_000 * YUAN
    )
    assert d.subsidy_fen == 500_000 * YUAN
    assert any("capped" in line for line in d.lines)
    spent = compute_subsidy(
        program, tenant(), big, acc("910B"), already_subsidised_this_year_fen=2_000_000 * YUAN
    )
    assert spent.eligible and spent.subsidy_fen == 0


def test_beijing_refuses_affiliated_provider() -> None:
    program = get_program("beijing-2023")
    # The provider lists the tenant as a related party (as bj-yizhuang-cloud does in the demo).
    c = contract(provider_id="bj-yizhuang-cloud", provider_related_parties=("acme-ai",))
    d = compute_subsidy(program, tenant(), c, acc("910B"))
    assert not d.eligible and failed(d) == {"related-parties"}
    own = compute_subsidy(
        program, tenant(related_parties=("bj-zhongguancun-dc",)), contract(), acc("910B")
    )
    assert failed(own) == {"related-parties"}


def test_beijing_rules_and_exclusions_give_reasons() -> None:
    program = get_program("beijing-2023")
    d = compute_subsidy(
        program,
        tenant(registered_city="Tianjin", sector="biotech"),
        contract(start_on=date(2023, 6, 1), end_on=date(2024, 12, 1)),
        acc("910B"),
        other_subsidies_fen=10_000 * YUAN,
    )
    assert failed(d) == {
        "validity",
        "registered-in-beijing",
        "sector",
        "term-at-most-one-year",
        "double-subsidy",
    }
    assert all(v.reason for v in d.reasons)


# --- Shenzhen: 50 %, 60 % for start-ups, RMB 10M ------------------------------------------


def _shenzhen(startup: bool, **kw: Any) -> SubsidyDecision:
    program = get_program("shenzhen-2024")
    t = tenant(registered_city="Shenzhen", is_startup=startup)
    c = contract(
        provider_id="sz-qianhai-dc",
        provider_city="Shenzhen",
        start_on=date(2025, 6, 1),
        end_on=None,
    )
    return compute_subsidy(program, t, c, acc("H20"), **kw)


def test_shenzhen_50_percent_and_60_for_startups() -> None:
    firm, startup = _shenzhen(False), _shenzhen(True)
    assert firm.rate == Fraction(1, 2) and firm.subsidy_fen == 500_000 * YUAN
    assert startup.rate == Fraction(3, 5) and startup.subsidy_fen == 600_000 * YUAN
    assert "start-up" in startup.lines[0]


def test_shenzhen_cap_10m() -> None:
    d = _shenzhen(True, already_subsidised_this_year_fen=9_800_000 * YUAN)
    assert d.subsidy_fen == 200_000 * YUAN


def test_shenzhen_validity_two_years() -> None:
    program = get_program("shenzhen-2024")
    late = contract(provider_id="sz-qianhai-dc", start_on=date(2027, 1, 1), end_on=None)
    d = compute_subsidy(program, tenant(registered_city="Shenzhen"), late, acc("H20"))
    assert failed(d) == {"validity"}


# --- Shanghai: city 30 % + district top-up, never above 100 % -----------------------------


def test_shanghai_city_and_district_never_above_100_percent() -> None:
    city_p, district_p = get_program("shanghai-2025"), get_program("shanghai-2025-district-topup")
    c = contract(
        provider_id="sh-lingang-ai",
        provider_city="Shanghai",
        start_on=date(2025, 9, 1),
        end_on=date(2026, 8, 31),
    )
    t = tenant(registered_city="Shanghai")
    city = compute_subsidy(city_p, t, c, acc("910B"))
    assert city.rate == Fraction(3, 10) and city.subsidy_fen == 300_000 * YUAN
    district = compute_subsidy(
        district_p,
        t,
        c,
        acc("910B"),
        other_subsidies_fen=city.subsidy_fen,
        other_programs=["shanghai-2025"],
    )
    assert district.eligible and district.subsidy_fen == 700_000 * YUAN
    assert city.subsidy_fen + district.subsidy_fen == c.amount_fen
    assert any(line.startswith("stacking") and "capped" in line for line in district.lines)


def test_shanghai_district_top_up_is_for_one_year_at_most() -> None:
    c = contract(provider_id="sh-lingang-ai", start_on=date(2025, 9, 1), end_on=date(2027, 9, 1))
    d = compute_subsidy(
        get_program("shanghai-2025-district-topup"), tenant(), c, acc("910B"),
        other_programs=["shanghai-2025"],
    )  # fmt: skip
    assert failed(d) == {"one-year"}


# --- Chengdu: 60 %, RMB 5M a year, qualified providers --------------------------------------


def test_chengdu_60_percent_and_5m_cap() -> None:
    program = get_program("chengdu-2025")
    c = contract(provider_id="cd-tianfu-ai", provider_city="Chengdu", amount_fen=10_000_000 * YUAN)
    d = compute_subsidy(program, tenant(registered_city="Chengdu"), c, acc("MLU370-X8"))
    assert d.rate == Fraction(3, 5) and d.subsidy_fen == 5_000_000 * YUAN  # 6M capped at 5M
    small = compute_subsidy(program, tenant(), contract(provider_id="cd-tianfu-ai"), acc("910B"))
    assert small.subsidy_fen == 600_000 * YUAN


# --- Beijing domestic-GPU purchase subsidy: domestic only, rate a parameter -----------------


def test_purchase_subsidy_is_domestic_only() -> None:
    program = get_program("beijing-domestic-gpu-purchase")
    assert "rates.domestic" in program.parameters  # the rate is not published
    buyer = tenant(sector="compute-services")
    buy = Purchase("huawei-ascend-910b", 64, 8_000_000 * YUAN, "CNY", date(2025, 5, 1))
    d = compute_purchase_subsidy(program, buyer, buy, acc("910B"))
    assert program.rates.domestic is not None
    assert d.eligible and d.subsidy_fen == program.rates.domestic * 8_000_000 * YUAN
    foreign = compute_purchase_subsidy(
        program,
        buyer,
        Purchase("nvidia-h20-96gb", 64, 8_000_000 * YUAN, "CNY", date(2025, 5, 1)),
        acc("H20"),
    )
    assert not foreign.eligible and failed(foreign) == {"origin"}
    with pytest.raises(ValidationError):
        compute_subsidy(program, buyer, contract(), acc("910B"))


# --- NSF ACCESS: credits at per-provider rates, half up front --------------------------------


def _access(hours: int, **kw: Any) -> SubsidyDecision:
    program = get_program("nsf-access")
    c = contract(
        provider_id="us-university-gpu",
        provider_city="Urbana",
        currency="USD",
        accelerator_id="nvidia-a100-sxm4-80gb",
        accelerator_hours=Fraction(hours),
        amount_fen=hours * 200,  # USD 2 an accelerator-hour, in cents
    )
    return compute_subsidy(program, tenant(sector="university"), c, acc("A100"), **kw)


def test_access_credits_pay_in_full_while_they_last() -> None:
    d = _access(
        1_000
    )  # 1,000 h x 100 credits = 100,000 credits <= 200,000 released (half of Explore)
    assert d.eligible and d.rate == 1 and d.subsidy_fen == 1_000 * 200 and d.credits_used == 100_000


def test_access_half_up_front_half_after_report() -> None:
    up_front = _access(3_000)  # needs 300,000 credits; 200,000 released on award
    assert up_front.credits_used == 200_000
    assert up_front.subsidy_fen == 3_000 * 200 * 2 // 3
    after = _access(3_000, milestones=frozenset({"award", "progress-report"}))
    assert after.subsidy_fen == 3_000 * 200 and after.credits_used == 300_000
    discover = _access(3_000, tier="discover")
    assert discover.subsidy_fen == 3_000 * 200


def test_access_exchange_rate_is_per_provider_and_unknown_providers_refused() -> None:
    program = get_program("nsf-access")
    c = contract(
        provider_id="us-cloud-partner",
        currency="USD",
        accelerator_hours=Fraction(10),
        amount_fen=5_000,
    )
    d = compute_subsidy(program, tenant(sector="university"), c, acc("A100"))
    assert d.credits_used == 2_500
    other = compute_subsidy(
        program, tenant(sector="university"), contract(currency="USD"), acc("A100")
    )
    assert failed(other) == {"accredited-provider"}


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_fen": -1}, "contract.amount_fen"),
        ({"currency": "USD"}, "contract.currency"),
        ({"accelerator_hours": Fraction(-1)}, "contract.accelerator_hours"),
    ],
)
def test_bad_contracts_are_errors_naming_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        compute_subsidy(get_program("beijing-2023"), tenant(), contract(**change), acc("910B"))
    assert err.value.field == field


def test_bad_amounts_and_tiers() -> None:
    program = get_program("beijing-2023")
    with pytest.raises(ValidationError, match="already_subsidised"):
        compute_subsidy(
            program, tenant(), contract(), acc("910B"), already_subsidised_this_year_fen=-5
        )
    with pytest.raises(ValidationError, match="other_subsidies"):
        compute_subsidy(program, tenant(), contract(), acc("910B"), other_subsidies_fen=10**12)
    with pytest.raises(ValidationError, match="tier"):
        _access(10, tier="platinum")


def test_the_strictest_stacked_program_binds_the_total_both_ways() -> None:
    city = get_program("shanghai-2025")
    district = get_program("shanghai-2025-district-topup")
    strict_city = replace(city, stacking=replace(city.stacking, max_total_rate=Fraction(1, 2)))
    c = contract(provider_id="sh-lingang-ai", start_on=date(2025, 9, 1), end_on=date(2026, 8, 31))
    t = tenant(registered_city="Shanghai")
    top = compute_subsidy(
        district, t, c, acc("910B"), other_subsidies_fen=300_000 * YUAN, stacked=[strict_city]
    )
    assert top.eligible and top.subsidy_fen == 200_000 * YUAN  # 50 % in all, not 100 %
    alone = compute_subsidy(get_program("beijing-2023"), tenant(), contract(), acc("910B"))
    after = compute_subsidy(
        get_program("hangzhou-2025"),
        tenant(),
        contract(provider_id="hz-xixi-compute"),
        acc("910B"),
        other_subsidies_fen=alone.subsidy_fen,
        stacked=[get_program("beijing-2023")],
    )
    assert failed(after) == {"stacked-programs"}  # Beijing allows no other subsidy on its cost


def test_one_program_twice_on_a_cost_stays_within_its_own_rate() -> None:
    d = _hangzhou("910B", own_on_cost_fen=250_000 * YUAN)
    assert d.subsidy_fen == 50_000 * YUAN  # 30 % of RMB 1M in all
