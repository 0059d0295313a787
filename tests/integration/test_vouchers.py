"""Applications, reviews, vouchers and purchase claims on SQLite and PostgreSQL.

Test programs with small budgets and caps live in a temporary programs folder, so limits are
reached in a few steps. Every refusal is checked to leave every balance and record as it was.
"""

from __future__ import annotations

import threading
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
