"""Applications, reviews, vouchers and purchase claims on SQLite and PostgreSQL.

Test programs with small budgets and caps live in a temporary programs folder, so limits are
reached in a few steps. Every refusal is checked to leave every balance and record as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from suanli.domain.registry import Tenant
from suanli.domain.roles import SYSTEM, Principal, Role
from suanli.domain.subsidy_facts import Contract
from suanli.domain.vouchers import ReviewResult, Status
from suanli.errors import ConflictError, PermissionDenied, ValidationError
from suanli.rejection import Code
from suanli.services import applications as apps
from suanli.services import claims, ledger, registry
from suanli.services import vouchers as voucher_service
from suanli.store.tables.vouchers import purchase_claims, voucher_applications, vouchers
from suanli.store.uow import UnitOfWork

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QT = Principal(Role.TENANT, "qiantang-llm")
DH = Principal(Role.TENANT, "deepharbor-ai")
BUYER = Principal(Role.TENANT, "yanqi-compute")
REVIEWER = Principal(Role.REVIEWER, None, "rev-1")
AUDITOR = Principal(Role.AUDITOR, None)

COMMON = """format = 1
issuer = "Test issuer"
jurisdiction = "Hangzhou"
currency = "CNY"
version = "1"
source = ["test fixture"]
"""
PROGRAMS = {
    # 1,000,000 fen a year; 30 %/20 %; cap 250,000 per entity a year; vouchers valid 30 days.
    "t-voucher": COMMON
    + """name = "Test vouchers"
kind = "compute-voucher"
[validity]
voucher_days = 30
[budget]
per_year_fen = 1_000_000
[rates]
domestic = "30%"
foreign = "20%"
[cap]
per_entity_fen = 250_000
[[eligibility]]
id = "in-hangzhou"
expr = 'applicant.registered_city == "Hangzhou"'
reason = "registered in Hangzhou"
""",
    # A tight budget, no cap: for the concurrency test.
    "t-tight": COMMON
    + """name = "Tight budget"
kind = "compute-voucher"
[budget]
per_year_fen = 1_000_000
[rates]
any = "50%"
""",
    # No published budget, half on award and half after a progress report.
    "t-tranche": COMMON
    + """name = "Tranches"
kind = "compute-voucher"
[rates]
any = "100%"
[[tranches]]
share = "50%"
on = "award"
[[tranches]]
share = "50%"
on = "progress-report"
""",
    # A city share and a district top-up that stack to at most 100 % of the cost.
    "t-city": COMMON
    + """name = "City share"
kind = "compute-voucher"
[rates]
any = "30%"
[stacking]
with = ["t-district"]
""",
    "t-district": COMMON
    + """name = "District top-up"
kind = "compute-voucher"
[rates]
any = "100%"
[stacking]
with = ["t-city"]
""",
    # No double subsidy on a cost.
    "t-alone": COMMON
    + """name = "Alone"
kind = "compute-voucher"
[rates]
any = "20%"
[exclusions]
double_subsidy = true
""",
    # Domestic accelerators only, 10 %, cap 150,000 per buyer a year.
    "t-purchase": COMMON
    + """name = "Domestic GPU purchase"
kind = "purchase-subsidy"
[budget]
per_year_fen = 10_000_000
[rates]
domestic = "10%"
[cap]
per_entity_fen = 150_000
[[eligibility]]
id = "compute-services"
expr = 'applicant.sector == "compute-services"'
reason = "firms that sell compute"
""",
}


@pytest.fixture(autouse=True)
def programs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "programs"
    folder.mkdir()
    for name, text in PROGRAMS.items():
        (folder / f"{name}.toml").write_text(text)
    monkeypatch.setenv("SUANLI_PROGRAMS_DIR", str(folder))
    return folder


@pytest.fixture
def db(world: Engine) -> Engine:
    """The demo world plus a compute-services firm that buys accelerators."""
    buyer = Tenant(
        "yanqi-compute", "Yanqi Compute", "Hangzhou", date(2020, 1, 1), 80, 10**9, "CNY",
        "compute-services", False,
    )  # fmt: skip
    with UnitOfWork(world) as uow:
        registry.create(uow, SYSTEM, buyer)
    return world


def contract(amount_fen: int, acc: str = "910B", currency: str = "CNY") -> Contract:
    return Contract("hz-xixi-compute", acc, Fraction(100), amount_fen, currency, date(2026, 3, 1))


def apply(engine: Engine, app_id: str, requested: int, amount: int, **kw: Any) -> Any:
    who = kw.pop("who", QT)
    with UnitOfWork(engine) as uow:
        return apps.apply(
            uow, who, application_id=app_id, program_id=kw.pop("program", "t-voucher"),
            tenant_id=kw.pop("tenant", who.org_id or "qiantang-llm"), requested_fen=requested,
            contract=kw.pop("contract", contract(amount)), now=NOW, **kw,
        )  # fmt: skip


def review(engine: Engine, app_id: str, decision: str = "approve", **kw: Any) -> Any:
    with UnitOfWork(engine) as uow:
        return apps.review(uow, kw.pop("who", REVIEWER), app_id, decision, now=NOW, **kw)  # type: ignore[arg-type]


def file_claim(engine: Engine, claim_id: str, invoice: str, amount: int, **kw: Any) -> Any:
    with UnitOfWork(engine) as uow:
        return claims.claim(
            uow, kw.pop("who", BUYER), claim_id=claim_id,
            program_id=kw.pop("program", "t-purchase"),
            buyer_id="yanqi-compute", accelerator_id=kw.pop("acc", "910B"), count=8,
            amount_fen=amount, currency=kw.pop("currency", "CNY"), invoice_id=invoice,
            purchased_on=date(2026, 2, 1), now=NOW,
        )  # fmt: skip


def snapshot(engine: Engine) -> dict[str, Any]:
    """Every balance, and how many applications, vouchers and claims are stored."""
    with UnitOfWork(engine) as uow:
        balances = {a.id: ledger.balance(uow, a.id) for a in ledger.list_accounts(uow)}
        counts = {
            t.name: uow.conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (voucher_applications, vouchers, purchase_claims)
        }
        applications = {a.id: a.status for a in apps.list_applications(uow, SYSTEM)}
    return {"balances": balances, "counts": counts, "applications": applications}


def healthy(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        assert ledger.check_invariants(uow) == []


def balance(engine: Engine, account_id: str) -> int:
    with UnitOfWork(engine) as uow:
        return ledger.balance(uow, account_id).available_minor


# --- applications -------------------------------------------------------------------------


def test_apply_eligible_stores_every_reason_and_the_entitlement(db: Engine) -> None:
    app = apply(db, "a1", 200_000, 1_000_000)
    assert app.status is Status.PENDING and app.eligible
    checks = {r["check"]: r["passed"] for r in app.reasons}
    assert checks == {"validity": True, "origin": True, "in-hangzhou": True}
    assert app.entitled_fen == 250_000  # 30 % of 1,000,000 = 300,000, capped at 250,000
    assert apply(db, "a1", 200_000, 1_000_000) == app  # a retry returns the stored one
    with pytest.raises(ConflictError):
        apply(db, "a1", 199_999, 1_000_000)


def test_apply_ineligible_keeps_the_failing_reason_and_cannot_be_approved(db: Engine) -> None:
    app = apply(db, "dh1", 100_000, 1_000_000, who=DH)
    assert app.status is Status.INELIGIBLE
    failed = [r for r in app.reasons if not r["passed"]]
    assert [r["reason"] for r in failed] == ["registered in Hangzhou"]
    before = snapshot(db)
    outcome = review(db, "dh1")
    assert outcome.result is ReviewResult.NOT_PENDING
    assert "registered in Hangzhou" in outcome.reason
    assert snapshot(db) == before


def test_approval_issues_a_voucher_funded_from_the_budget(db: Engine) -> None:
    apply(db, "a1", 200_000, 1_000_000)
    outcome = review(db, "a1", amount_fen=150_000, reason="contract checked")
    assert outcome.result is ReviewResult.OK
    voucher = outcome.voucher
    assert voucher.amount_fen == voucher.released_fen == 150_000
    assert voucher.valid_from == NOW.date()
    assert voucher.valid_until == NOW.date() + timedelta(days=30)
    assert balance(db, voucher.account_id) == 150_000
    assert balance(db, "budget:t-voucher:2026") == 1_000_000 - 150_000
    with UnitOfWork(db) as uow:
        view = voucher_service.budget_view(uow, REVIEWER, "t-voucher")
        assert view["years"][0]["paid_fen"] == 150_000
        assert view["commitments"][0]["committed_fen"] == 150_000
        assert [v.id for v in voucher_service.vouchers_for(uow, QT)] == ["v-a1"]
        assert voucher_service.vouchers_for(uow, DH) == []
    again = review(db, "a1", amount_fen=150_000, reason="contract checked")
    assert again.result is ReviewResult.EXISTS and again.voucher == voucher
    with pytest.raises(ConflictError):
        review(db, "a1", "reject", reason="changed my mind")
    healthy(db)


def test_reject_needs_a_reason_and_moves_no_money(db: Engine) -> None:
    apply(db, "a1", 200_000, 1_000_000)
    before = snapshot(db)
    with pytest.raises(ValidationError) as exc:
        review(db, "a1", "reject")
    assert exc.value.field == "reason"
    outcome = review(db, "a1", "reject", reason="purpose not shown")
    assert outcome.result is ReviewResult.OK
    assert outcome.application.status is Status.REJECTED
    assert outcome.application.decision_reason == "purpose not shown"
    assert snapshot(db)["balances"] == before["balances"]


def test_cap_per_entity_holds_across_vouchers(db: Engine) -> None:
    apply(db, "a1", 200_000, 1_000_000)
    apply(db, "a2", 100_000, 1_000_000)
    assert review(db, "a1").result is ReviewResult.OK  # 200,000 of the 250,000 cap
    before = snapshot(db)
    outcome = review(db, "a2")
    assert outcome.result is ReviewResult.OVER_CAP
    assert snapshot(db) == before
    assert review(db, "a2", amount_fen=50_000).result is ReviewResult.OK  # exactly to the cap


def test_budget_is_never_over_committed(db: Engine) -> None:
    for i in range(6):  # six contracts (one program pays on one cost at most its rate)
        apply(db, f"t{i}", 200_000, 400_000 + i, program="t-tight")
    results = [review(db, f"t{i}").result for i in range(6)]
    assert results == [ReviewResult.OK] * 5 + [ReviewResult.OVER_BUDGET]
    assert balance(db, "budget:t-tight:2026") == 0
    healthy(db)


def test_concurrent_approvals_never_exceed_the_budget(db: Engine) -> None:
    """20 reviewers approve at once; the budget pays exactly 10 of the 100,000 vouchers."""
    for i in range(20):
        apply(db, f"c{i}", 100_000, 200_000 + i, program="t-tight")

    def approve(i: int) -> ReviewResult:
        return review(db, f"c{i}").result  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(approve, range(20)))
    assert results.count(ReviewResult.OK) == 10
    assert results.count(ReviewResult.OVER_BUDGET) == 10
    assert balance(db, "budget:t-tight:2026") == 0
    assert snapshot(db)["counts"]["vouchers"] == 10
    healthy(db)


def test_tranches_hold_the_rest_until_a_reviewer_releases_it(db: Engine) -> None:
    apply(db, "n1", 100_001, 100_001, program="t-tranche")
    voucher = review(db, "n1").voucher
    assert (voucher.amount_fen, voucher.released_fen) == (100_001, 50_000)
    assert balance(db, voucher.account_id) == 50_000
    with UnitOfWork(db) as uow, pytest.raises(PermissionDenied):
        apps.release_tranche(uow, QT, voucher.id, "progress-report")
    with UnitOfWork(db) as uow, pytest.raises(ValidationError):
        apps.release_tranche(uow, REVIEWER, voucher.id, "final-report")
    with UnitOfWork(db) as uow:
        released = apps.release_tranche(uow, REVIEWER, voucher.id, "progress-report", now=NOW)
    assert released.released_fen == 100_001
    assert balance(db, voucher.account_id) == 100_001
    healthy(db)


def test_concurrent_retries_of_one_application_and_one_claim_get_the_stored_one(
    db: Engine,
) -> None:
    """Eight clients send the same application (and the same claim) at once: each gets the
    one stored record, none an error."""
    start = threading.Barrier(8)

    def both(_: int) -> tuple[Any, Any]:
        start.wait()
        return apply(db, "r1", 200_000, 1_000_000), file_claim(db, "k1", "INV-1", 1_000_000)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(both, range(8)))
    assert len({(a.id, a.created_at, k.id, k.created_at) for a, k in results}) == 1
    assert snapshot(db)["counts"]["voucher_applications"] == 1


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
