"""Stacking on one cost, both databases: a program that pays only together with another,
one program's own rate under racing approvals, contracts identified by their number, and
field names in errors as the API spells them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from suanli.domain.roles import SYSTEM
from suanli.domain.vouchers import Application, ReviewResult, Status
from suanli.errors import ValidationError
from suanli.services import vouchers
from suanli.store.repositories import vouchers as repo
from suanli.store.uow import UnitOfWork
from tests.conftest import ApiClient
from tests.integration.test_vouchers import (
    COMMON,
    PROGRAMS,
    apply,
    contract,
    db,
    file_claim,
    healthy,
    review,
    snapshot,
)

__all__ = ["db"]  # the fixture, shared with test_vouchers

OWN = {
    # A district top-up that pays only together with the city share.
    "t-district": PROGRAMS["t-district"] + 'requires = ["t-city"]\n',
    # 30 % of a cost, no budget, no cap: only the rate limits what it pays on one cost.
    "t-rate": COMMON + 'name = "Rate only"\nkind = "compute-voucher"\n[rates]\nany = "30%"\n',
}


@pytest.fixture(autouse=True)
def programs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "programs"
    folder.mkdir()
    for name, text in {**PROGRAMS, **OWN}.items():
        (folder / f"{name}.toml").write_text(text)
    monkeypatch.setenv("SUANLI_PROGRAMS_DIR", str(folder))
    yield folder


def paid_on_cost(engine: Engine) -> dict[str, int]:
    with UnitOfWork(engine) as uow:
        return {v.application_id: v.amount_fen for v in vouchers.vouchers_for(uow, SYSTEM)}


# --- 1. a program that pays only together with another ------------------------------------


def test_the_top_up_alone_is_ineligible_with_its_reason(db: Engine) -> None:
    alone = apply(db, "district", 700_000, 1_000_000, program="t-district")
    assert alone.status is Status.INELIGIBLE and alone.entitled_fen == 0
    failed = {r["check"]: r["reason"] for r in alone.reasons if not r["passed"]}
    assert set(failed) == {"requires"}
    assert "only together with t-city" in failed["requires"]
    assert review(db, "district").result is ReviewResult.NOT_PENDING


def test_city_and_top_up_together_pay_at_most_the_cost(db: Engine) -> None:
    apply(db, "city", 1_000_000, 1_000_000, program="t-city")
    district = apply(db, "district", 1_000_000, 1_000_000, program="t-district")
    assert district.status is Status.PENDING and district.entitled_fen == 700_000
    assert review(db, "district").ok  # the city's application is pending: enough
    assert review(db, "city").ok
    assert sum(paid_on_cost(db).values()) == 1_000_000
    healthy(db)


def test_the_top_up_is_not_approved_once_the_city_application_is_rejected(db: Engine) -> None:
    apply(db, "city", 300_000, 1_000_000, program="t-city")
    apply(db, "district", 700_000, 1_000_000, program="t-district")
    assert review(db, "city", "reject", reason="not renting compute").ok
    before = snapshot(db)
    outcome = review(db, "district")
    assert outcome.result is ReviewResult.MISSING_REQUIRED
    assert "no pending or approved application under t-city" in outcome.reason
    assert snapshot(db) == before


# --- 2. one program's own rate under racing approvals ------------------------------------


def test_racing_approvals_of_one_program_on_one_cost_stay_within_its_rate(db: Engine) -> None:
    """Eight applications under one 30 % program on one cost, each judged as if it were the
    only one (what applications filed at the same moment see on PostgreSQL), approved at once:
    together they pay at most 30 % of the cost, not the 100 % that other programs would leave."""
    for i in range(8):
        apply(db, f"r{i}", 300_000, 1_000_000, program="t-rate")
    with UnitOfWork(db) as uow:
        for i in range(8):
            app = repo.get(uow.conn, Application, f"r{i}")
            assert app is not None
            repo.replace(uow.conn, replace(app, entitled_fen=300_000))
        uow.commit()
    start = threading.Barrier(8)

    def approve(i: int) -> ReviewResult:
        start.wait()
        return review(db, f"r{i}").result  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(approve, range(8)))
    assert results.count(ReviewResult.OK) == 1
    assert results.count(ReviewResult.OVER_STACKING) == 7
    assert sum(paid_on_cost(db).values()) == 300_000
    healthy(db)


def test_a_second_voucher_of_one_program_gets_what_its_rate_leaves(db: Engine) -> None:
    for i in range(2):
        apply(db, f"r{i}", 200_000, 1_000_000, program="t-rate")
    with UnitOfWork(db) as uow:  # as if both were judged before either was stored
        app = repo.get(uow.conn, Application, "r1")
        assert app is not None
        repo.replace(uow.conn, replace(app, entitled_fen=300_000))
        uow.commit()
    assert review(db, "r0").ok
    outcome = review(db, "r1")
    assert outcome.result is ReviewResult.OVER_STACKING and "own rate" in outcome.reason
    assert review(db, "r1", amount_fen=100_000).ok


# --- 3. contracts identified by their number ----------------------------------------------


def numbered(amount: int, number: str = "", days: int = 0) -> Any:
    base = contract(amount)
    return replace(base, contract_id=number, start_on=base.start_on + timedelta(days=days))


def test_one_contract_number_is_one_cost_whatever_else_is_stated(db: Engine) -> None:
    apply(db, "city", 300_000, 1_000_000, program="t-city", contract=numbered(1_000_000, "C-1"))
    restated = numbered(1_000_001, "C-1", days=1)  # a fen and a day off: still contract C-1
    district = apply(db, "district", 1_000_001, 0, program="t-district", contract=restated)
    assert district.entitled_fen == 700_000  # judged on the smaller amount, beside the city
    assert "judged on" in district.lines[0]
    assert review(db, "city").ok
    assert not review(db, "district", amount_fen=700_001).ok
    assert review(db, "district").ok
    assert sum(paid_on_cost(db).values()) == 1_000_000
    healthy(db)


def test_one_program_twice_on_one_contract_number(db: Engine) -> None:
    apply(db, "r0", 300_000, 1_000_000, program="t-rate", contract=numbered(1_000_000, "C-1"))
    again = apply(db, "r1", 300_000, 0, program="t-rate", contract=numbered(2_000_000, "C-1"))
    assert again.entitled_fen == 0


def test_different_numbers_are_different_contracts(db: Engine) -> None:
    apply(db, "r0", 300_000, 1_000_000, program="t-rate", contract=numbered(1_000_000, "C-1"))
    other = apply(db, "r1", 300_000, 0, program="t-rate", contract=numbered(1_000_000, "C-2"))
    assert other.entitled_fen == 300_000


def test_without_a_number_the_stated_details_match(db: Engine) -> None:
    apply(db, "r0", 300_000, 1_000_000, program="t-rate", contract=numbered(1_000_000, "C-1"))
    same = apply(db, "r1", 300_000, 0, program="t-rate", contract=numbered(1_000_000))
    assert same.entitled_fen == 0  # the stricter matching: one side names no number
    moved = apply(db, "r2", 300_000, 0, program="t-rate", contract=numbered(1_000_000, days=1))
    assert moved.entitled_fen == 300_000


def test_the_number_is_stored_only_when_given_and_retries_match(db: Engine) -> None:
    plain = apply(db, "r0", 300_000, 1_000_000, program="t-rate")
    assert "contract_id" not in plain.facts["contract"]
    first = apply(db, "r1", 1, 0, program="t-rate", contract=numbered(5, "INV 7"))
    assert first.facts["contract"]["contract_id"] == "INV 7"
    assert apply(db, "r1", 1, 0, program="t-rate", contract=numbered(5, "INV 7")) == first
    with pytest.raises(ValidationError) as exc:
        apply(db, "r2", 1, 0, program="t-rate", contract=numbered(5, " INV 7"))
    assert exc.value.field == "contract.contract_id"


def test_contract_number_over_http(api: ApiClient, db: Engine) -> None:
    tenant = api.token("tenant", "qiantang-llm")
    body = {
        "id": "qt-n1",
        "program_id": "t-rate",
        "requested_fen": 100_000,
        "contract": {
            "provider_id": "hz-xixi-compute", "accelerator_id": "910B", "accelerator_hours": 10,
            "amount_fen": 1_000_000, "start_on": "2026-02-01", "contract_id": "HZ-2026-001",
        },
    }  # fmt: skip
    made = api.http.post("/api/v1/applications", json=body, headers=tenant)
    assert made.status_code == 201, made.text
    assert made.json()["facts"]["contract"]["contract_id"] == "HZ-2026-001"
    body["contract"] = {**body["contract"], "contract_id": "x" * 129}  # type: ignore[dict-item]
    body["id"] = "qt-n2"
    long = api.http.post("/api/v1/applications", json=body, headers=tenant)
    assert long.status_code == 422
    assert long.json()["detail"][0]["loc"][-2:] == ["contract", "contract_id"]


# --- 4. field names in errors as the API spells them --------------------------------------


def test_a_claim_on_an_unknown_accelerator_names_the_request_field(db: Engine) -> None:
    before = snapshot(db)
    with pytest.raises(ValidationError) as exc:
        file_claim(db, "k1", "INV-1", 1_000_000, acc="zz9")
    assert exc.value.field == "accelerator_id"
    assert snapshot(db) == before


def test_unknown_accelerators_are_422s_naming_the_field(api: ApiClient, db: Engine) -> None:
    tenant = api.token("tenant", "yanqi-compute")
    claim = {
        "id": "k1", "program_id": "t-purchase", "accelerator_id": "zz9",
        "count": 8, "amount_fen": 1_000_000, "invoice_id": "INV-1", "purchased_on": "2026-02-01",
    }  # fmt: skip
    r = api.http.post("/api/v1/claims", json=claim, headers=tenant)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "accelerator_id"
    workload = {"kind": "finetune", "params_b": 7, "tokens_b": 1}
    body = {"workload": workload, "accelerator": "zz9"}
    r = api.http.post("/api/v1/estimates", json=body, headers=tenant)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "accelerator"
    assert "zz9" in r.json()["detail"][0]["msg"]
