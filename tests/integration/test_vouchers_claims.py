"""Several programs on one cost, purchase claims, spending a voucher and bad input, on SQLite
and PostgreSQL, with ``test_vouchers``' test programs and helpers. Every refusal is checked to
leave every balance and record as it was."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import Engine

from suanli.domain.roles import SYSTEM, Principal
from suanli.domain.subsidy_facts import Contract
from suanli.domain.vouchers import ReviewResult, Status
from suanli.errors import ConflictError, PermissionDenied, ValidationError
from suanli.rejection import Code
from suanli.services import applications as apps
from suanli.services import claims
from suanli.services import vouchers as voucher_service
from suanli.store.uow import UnitOfWork
from tests.integration.test_vouchers import (
    AUDITOR,
    DH,
    NOW,
    QT,
    REVIEWER,
    apply,
    balance,
    contract,
    db,
    file_claim,
    healthy,
    programs_dir,
    review,
    snapshot,
)

__all__ = ["db", "programs_dir"]  # the fixtures, shared with test_vouchers


# --- several programs, or one program twice, on one cost ----------------------------------


def vouchers_on_the_cost(engine: Engine) -> int:
    with UnitOfWork(engine) as uow:
        return sum(v.amount_fen for v in voucher_service.vouchers_for(uow, SYSTEM, "qiantang-llm"))


def test_city_and_district_on_one_contract_never_pay_above_the_cost(db: Engine) -> None:
    city = apply(db, "city", 1_000_000, 1_000_000, program="t-city")
    assert city.entitled_fen == 300_000
    # The same contract, the chip named by its catalog id instead of an alias.
    same = Contract("hz-xixi-compute", "huawei-ascend-910b", Fraction(100), 1_000_000, "CNY",
                    date(2026, 3, 1))  # fmt: skip
    district = apply(db, "district", 1_000_000, 0, program="t-district", contract=same)
    assert district.entitled_fen == 700_000  # 100 % less the city's 30 %
    assert review(db, "city").ok and review(db, "district").ok
    assert vouchers_on_the_cost(db) == 1_000_000
    healthy(db)


def test_district_first_leaves_the_city_nothing_to_pay(db: Engine) -> None:
    apply(db, "district", 1_000_000, 1_000_000, program="t-district")
    assert review(db, "district").ok
    city = apply(db, "city", 300_000, 1_000_000, program="t-city")
    assert city.entitled_fen == 0
    before = snapshot(db)
    assert review(db, "city").result is ReviewResult.OVER_ENTITLEMENT
    assert review(db, "city", amount_fen=1).result is ReviewResult.OVER_ENTITLEMENT
    assert snapshot(db) == before
    assert vouchers_on_the_cost(db) == 1_000_000


def test_one_program_twice_on_one_cost_stays_within_its_rate(db: Engine) -> None:
    apply(db, "a1", 200_000, 1_000_000)  # 30 % of 1,000,000 = 300,000 at most on this cost
    second = apply(db, "a2", 200_000, 1_000_000)
    assert second.entitled_fen == 100_000
    other_cost = apply(db, "a3", 200_000, 2_000_000)
    assert other_cost.entitled_fen == 250_000  # its own 30 %, under the 250,000 cap


def test_no_double_subsidy_holds_whichever_program_came_first(db: Engine) -> None:
    # t-voucher would stack with anything; t-alone allows no other subsidy on its cost.
    apply(db, "alone", 200_000, 1_000_000, program="t-alone")
    later = apply(db, "later", 200_000, 1_000_000)
    assert later.status is Status.INELIGIBLE
    reasons = {r["check"]: r["reason"] for r in later.reasons if not r["passed"]}
    assert reasons == {"stacked-programs": "t-alone does not stack with t-voucher"}
    first = apply(db, "first", 200_000, 2_000_000)
    assert first.status is Status.PENDING
    alone = apply(db, "alone2", 200_000, 2_000_000, program="t-alone")
    assert alone.status is Status.INELIGIBLE
    assert {r["check"] for r in alone.reasons if not r["passed"]} >= {"double-subsidy"}


def test_racing_applications_on_one_cost_never_pay_above_it(db: Engine) -> None:
    """City and district applications filed at once on eight contracts, then approved at
    once: whatever each application saw, the approvals never pay more than a contract."""
    costs = [1_000_000 + i for i in range(8)]
    jobs = [(f"{p}-{i}", p, c) for i, c in enumerate(costs) for p in ("t-city", "t-district")]

    def file(job: tuple[str, str, int]) -> None:
        apply(db, job[0], job[2], job[2], program=job[1])

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(file, jobs))
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda job: review(db, job[0]), jobs))
    with UnitOfWork(db) as uow:
        paid = {v.application_id: v.amount_fen for v in voucher_service.vouchers_for(uow, SYSTEM)}
    for i, cost in enumerate(costs):
        assert paid.get(f"t-city-{i}", 0) + paid.get(f"t-district-{i}", 0) <= cost
    healthy(db)


# --- claims -------------------------------------------------------------------------------


def test_claim_pays_rate_times_amount_through_the_ledger(db: Engine) -> None:
    found = file_claim(db, "k1", "INV-1", 1_000_001)
    assert found.status is Status.PENDING and found.subsidy_fen == 100_000  # rounded down
    with UnitOfWork(db) as uow:
        outcome = claims.review_claim(uow, REVIEWER, "k1", "approve", now=NOW)
    assert outcome.result is ReviewResult.OK
    assert balance(db, "wallet:yanqi-compute") == 100_000
    assert balance(db, "budget:t-purchase:2026") == 10_000_000 - 100_000
    healthy(db)


def test_claim_on_foreign_accelerators_is_refused_with_its_reason(db: Engine) -> None:
    found = file_claim(db, "k1", "INV-1", 1_000_000, acc="H100-SXM")
    assert found.status is Status.INELIGIBLE
    origin = next(r for r in found.reasons if r["check"] == "origin")
    assert not origin["passed"] and "does not cover foreign" in origin["reason"]
    # an ineligible claim does not hold the invoice
    assert file_claim(db, "k2", "INV-1", 1_000_000).status is Status.PENDING


def test_the_same_invoice_twice_is_refused(db: Engine) -> None:
    file_claim(db, "k1", "INV-1", 1_000_000)
    assert file_claim(db, "k1", "INV-1", 1_000_000).id == "k1"  # a retry
    before = snapshot(db)
    with pytest.raises(ConflictError, match="INV-1"):
        file_claim(db, "k2", "INV-1", 1_000_000)
    assert snapshot(db) == before


def test_cap_holds_across_claims(db: Engine) -> None:
    file_claim(db, "k1", "INV-1", 1_000_000)
    file_claim(db, "k2", "INV-2", 1_000_000)
    with UnitOfWork(db) as uow:
        assert claims.review_claim(uow, REVIEWER, "k1", "approve", now=NOW).ok
    with UnitOfWork(db) as uow:
        outcome = claims.review_claim(uow, REVIEWER, "k2", "approve", now=NOW)
    assert outcome.result is ReviewResult.OVER_CAP  # 100,000 + 100,000 > 150,000
    with UnitOfWork(db) as uow:
        assert claims.review_claim(uow, REVIEWER, "k2", "approve", amount_fen=50_000, now=NOW).ok
    assert balance(db, "wallet:yanqi-compute") == 150_000
    healthy(db)


# --- bad input ----------------------------------------------------------------------------


@pytest.fixture
def issued(db: Engine) -> Iterator[str]:
    apply(db, "a1", 200_000, 1_000_000)
    yield review(db, "a1").voucher.id


def spend(engine: Engine, who: Principal, voucher_id: str, amount: Any, **kw: Any) -> Any:
    with UnitOfWork(engine) as uow:
        return voucher_service.spend_voucher(
            uow, who, voucher_id, provider_id="hz-xixi-compute", amount_fen=amount,
            currency=kw.pop("currency", "CNY"), transfer_id=kw.pop("transfer_id", "pay-1"),
            now=kw.pop("now", NOW),
        )  # fmt: skip


BAD_INPUT = {
    "unknown program": (
        lambda e, v: apply(e, "x1", 1, 1_000, program="no-such"),
        ValidationError,
        "program_id",
    ),
    "negative requested amount": (
        lambda e, v: apply(e, "x1", -5, 1_000),
        ValidationError,
        "requested_fen",
    ),
    "negative spend": (lambda e, v: spend(e, QT, v, -1), ValidationError, "amount_fen"),
    "negative claim": (lambda e, v: file_claim(e, "x1", "I", -1), ValidationError, "amount_fen"),
    "wrong currency on spend": (
        lambda e, v: spend(e, QT, v, 100, currency="USD"),
        ValidationError,
        "currency",
    ),
    "wrong currency on apply": (
        lambda e, v: apply(e, "x1", 100, 1_000, contract=contract(1_000, currency="USD")),
        ValidationError,
        "contract.currency",
    ),
    "wrong currency on claim": (
        lambda e, v: file_claim(e, "x1", "I", 100, currency="USD"),
        ValidationError,
        "currency",
    ),
    "another tenant's voucher": (lambda e, v: spend(e, DH, v, 100), PermissionDenied, None),
    "auditor applies": (
        lambda e, v: apply(e, "x1", 100, 1_000, who=AUDITOR, tenant="qiantang-llm"),
        PermissionDenied,
        None,
    ),  # fmt: skip
    "auditor reviews": (lambda e, v: review(e, "a1", who=AUDITOR), PermissionDenied, None),
    "tenant reviews": (lambda e, v: review(e, "a1", who=QT), PermissionDenied, None),
    "tenant applies for another": (
        lambda e, v: apply(e, "x1", 100, 1_000, who=DH, tenant="qiantang-llm"),
        PermissionDenied,
        None,
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    db: Engine, issued: str, case: str
) -> None:
    action, error, field = BAD_INPUT[case]
    before = snapshot(db)
    with pytest.raises(error) as exc:
        action(db, issued)
    if field is not None:
        assert exc.value.field == field  # type: ignore[attr-defined]
    assert str(exc.value)
    assert snapshot(db) == before
    healthy(db)


def test_spending_a_voucher_pays_the_provider_and_stops_at_its_balance(
    db: Engine, issued: str
) -> None:
    assert spend(db, QT, issued, 120_000).ok
    assert balance(db, "receivable:hz-xixi-compute") == 120_000
    before = snapshot(db)
    outcome = spend(db, QT, issued, 80_001, transfer_id="pay-2")
    assert outcome.result == "insufficient_funds"
    assert outcome.rejection is not None and outcome.rejection.code is Code.INSUFFICIENT_FUNDS
    assert snapshot(db) == before
    healthy(db)


def test_an_expired_voucher_is_a_rejection_and_pays_nothing(db: Engine, issued: str) -> None:
    before = snapshot(db)
    early = spend(db, QT, issued, 100, now=NOW - timedelta(days=1))
    late = spend(db, QT, issued, 100, now=NOW + timedelta(days=31))
    assert early.rejection is not None and early.rejection.code is Code.VOUCHER_NOT_YET_VALID
    assert late.rejection is not None and late.rejection.code is Code.VOUCHER_EXPIRED
    assert late.rejection.field == "voucher_id" and "expired" in late.rejection.message
    assert late.transfer is None and not late.ok
    assert snapshot(db) == before


def test_tenants_read_only_their_own_applications(db: Engine) -> None:
    apply(db, "a1", 200_000, 1_000_000)
    apply(db, "d1", 100_000, 1_000_000, who=DH)
    with UnitOfWork(db) as uow:
        assert [a.id for a in apps.list_applications(uow, QT)] == ["a1"]
        assert {a.id for a in apps.list_applications(uow, AUDITOR)} == {"a1", "d1"}
        with pytest.raises(PermissionDenied):
            apps.get_application(uow, QT, "d1")
        with pytest.raises(PermissionDenied):
            apps.list_applications(uow, QT, tenant_id="deepharbor-ai")
        with pytest.raises(PermissionDenied):
            voucher_service.budget_view(uow, QT, "t-voucher")
