"""Pure voucher rules: tranche splits add up exactly, limits bite in order, validity ends."""

from __future__ import annotations

import dataclasses
from datetime import date
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.programs import Tranche
from suanli.domain.vouchers import check_limits, tranche_amounts, voucher_validity
from suanli.rejection import Code
from suanli.services.programs import get_program


@settings(derandomize=True, max_examples=300)
@given(
    amount=st.integers(min_value=1, max_value=10**15),
    shares=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=5),
)
def test_tranches_add_up_to_the_award_and_none_is_above_its_share(
    amount: int, shares: list[int]
) -> None:
    total = sum(shares)
    tranches = [Tranche(Fraction(s, total), f"m{i}") for i, s in enumerate(shares)]
    parts = tranche_amounts(amount, tranches)
    assert sum(p for _, p in parts) == amount
    for (_, part), tranche in zip(parts[:-1], tranches[:-1], strict=True):
        assert part <= amount * tranche.share  # rounded down; the last takes the remainder


def test_half_up_front_rounds_down_and_the_rest_follows() -> None:
    halves = [Tranche(Fraction(1, 2), "award"), Tranche(Fraction(1, 2), "progress-report")]
    assert tranche_amounts(101, halves) == [("award", 50), ("progress-report", 51)]


def test_limits_bite_in_order_with_reasons() -> None:
    args = {"requested_fen": 100, "entitled_fen": 90, "budget_left_fen": 80, "cap_left_fen": 70}
    assert check_limits(70, "CNY", **args) is None
    refusal = check_limits(75, "CNY", **args)
    assert refusal is not None and refusal.code is Code.OVER_CAP
    assert "cap" in refusal.message
    over = check_limits(95, "CNY", **args)
    assert over is not None and over.code is Code.OVER_ENTITLEMENT
    unlimited = {"requested_fen": None, "entitled_fen": 90, "budget_left_fen": None,
                 "cap_left_fen": None}  # fmt: skip
    assert check_limits(90, "CNY", **unlimited) is None


def test_voucher_days_never_outlive_the_program() -> None:
    shenzhen = get_program("shenzhen-2024")  # valid until 2026-12-17, no voucher days
    assert voucher_validity(shenzhen, date(2025, 1, 2)) == (date(2025, 1, 2), date(2026, 12, 17))
    two_years = dataclasses.replace(shenzhen, voucher_valid_days=730)
    assert voucher_validity(two_years, date(2026, 1, 1))[1] == date(2026, 12, 17)
    assert voucher_validity(two_years, date(2024, 12, 18))[1] == date(2026, 12, 17)
    short = dataclasses.replace(shenzhen, voucher_valid_days=30)
    assert voucher_validity(short, date(2025, 1, 1))[1] == date(2025, 1, 31)
