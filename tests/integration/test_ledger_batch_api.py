"""``POST /api/v1/ledger/transfers/batch``: officers only, a result per transfer, replays, the
limit and malformed transfers answered 422 naming the field with nothing written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from suanli.services import ledger
from suanli.services.ledger_batch import MAX_BATCH
from suanli.store.uow import UnitOfWork
from tests.conftest import ApiClient

URL = "/api/v1/ledger/transfers/batch"


def _books(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        ledger.open_account(uow, "issuer:sh", "issuer", "CNY")
        ledger.open_account(uow, "voucher:dh-1", "voucher", "CNY", "deepharbor-ai")
        ledger.open_account(uow, "receivable:zgc", "provider_receivable", "CNY", "bj-zgc-dc")
        assert ledger.transfer(uow, "f1", "issuer:sh", "voucher:dh-1", 50_000, "CNY").ok
        uow.commit()


def _t(tid: str, amount: int, debit: str = "voucher:dh-1", **more: Any) -> dict[str, Any]:
    return {"id": tid, "debit_account_id": debit, "credit_account_id": "receivable:zgc",
            "amount_minor": amount, "currency": "CNY", **more}  # fmt: skip


def _totals(engine: Engine) -> list[tuple[str, int, int]]:
    with UnitOfWork(engine, read_only=True) as uow:
        return [(a.id, a.posted_debits, a.pending_debits) for a in ledger.list_accounts(uow)]


def test_officers_send_batches_with_a_result_each(api: ApiClient, world: Engine) -> None:
    _books(api.engine)
    officer = api.token("officer")
    body = {"transfers": [_t("b1", 30_000), _t("b2", 30_000), _t("b3", 5_000, pending=True,
                          timeout_s=600), _t("b4", 1, debit="nobody")]}  # fmt: skip
    got = api.http.post(URL, json=body, headers=officer)
    assert got.status_code == 200, got.text
    reply = got.json()
    assert [r["result"] for r in reply["results"]] == [
        "ok", "insufficient_funds", "ok", "account_not_found"
    ]  # fmt: skip
    assert reply["applied"] == 2 and reply["results"][2]["transfer"]["status"] == "pending"
    after = _totals(api.engine)
    again = api.http.post(URL, json=body, headers=officer).json()
    assert [r["result"] for r in again["results"]] == [
        "exists", "insufficient_funds", "exists", "account_not_found"
    ]  # fmt: skip
    assert again["applied"] == 0 and _totals(api.engine) == after
    with UnitOfWork(api.engine) as uow:
        assert ledger.check_invariants(uow) == []


def test_only_officers(api: ApiClient, world: Engine) -> None:
    _books(api.engine)
    before = _totals(api.engine)
    body = {"transfers": [_t("t1", 100)]}
    callers = [("tenant", "deepharbor-ai"), ("provider", "bj-zhongguancun-dc"),
               ("auditor", None), ("reviewer", None)]  # fmt: skip
    for role, org in callers:
        token = api.token(role, org) if org else api.token(role)
        assert api.http.post(URL, json=body, headers=token).status_code == 403
    assert api.http.post(URL, json=body).status_code == 401
    assert _totals(api.engine) == before


def test_bad_batches_are_422_naming_the_field_and_write_nothing(
    api: ApiClient, world: Engine
) -> None:
    _books(api.engine)
    officer = api.token("officer")
    before = _totals(api.engine)
    cases = [
        ({"transfers": [_t(f"l{i}", 1) for i in range(MAX_BATCH + 1)]}, ["body", "transfers"]),
        ({"transfers": [_t("ok", 1), _t("bad", 0)]}, ["body", "transfers", 1, "amount_minor"]),
        ({"transfers": [_t("ok", 1), _t("bad id!", 1)]}, ["body", "transfers", 1, "id"]),
        ({"transfers": [_t("ok", 1), {**_t("x", 1), "memo": 5}]}, ["body", "transfers", 1, "memo"]),
        ({"transfers": []}, ["body", "transfers"]),
    ]
    for body, loc in cases:
        got = api.http.post(URL, json=body, headers=officer)
        assert got.status_code == 422, got.text
        assert loc in [e["loc"] for e in got.json()["detail"]], got.json()
    # Same account on both sides: found by the service, named as transfers[i].field.
    same = {"transfers": [_t("ok", 1), {**_t("x", 1), "credit_account_id": "voucher:dh-1"}]}
    got = api.http.post(URL, json=same, headers=officer)
    assert got.status_code == 422 and "transfers[1].credit_account_id" in got.text
    assert _totals(api.engine) == before
