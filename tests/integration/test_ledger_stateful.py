"""A Hypothesis state machine drives random ledger operations on SQLite against a simple model.

Holds, posts (full, partial, too large), voids, retries with the same and with different content,
clock jumps, expiries and bad input. After every step the database must agree with the model
and ``check_invariants`` must find nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from suanli.errors import ValidationError
from suanli.ledger.model import TransferResult as R
from suanli.services import ledger
from suanli.store.db import make_engine
from suanli.store.uow import UnitOfWork

ACCOUNTS = {  # id: (kind, currency, has a floor)
    "iss": ("issuer", "CNY", False),
    "bud": ("program_budget", "CNY", True),
    "v1": ("voucher", "CNY", True),
    "v2": ("voucher", "CNY", True),
    "rcv": ("provider_receivable", "CNY", True),
    "usd-fund": ("funding", "USD", False),
    "usd-wallet": ("tenant_wallet", "USD", True),
}
NAMES = sorted(ACCOUNTS)
T0 = datetime(2026, 5, 1, tzinfo=UTC)
FUNDING = [
    ("iss", "bud", 50_000, "CNY"),
    ("bud", "v1", 20_000, "CNY"),
    ("usd-fund", "usd-wallet", 9_000, "USD"),
]


class LedgerMachine(RuleBasedStateMachine):
    template: Path  # a migrated, empty SQLite file, set by the test

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-sm-"))
        shutil.copy(self.template, self.dir / "db.sqlite")
        self.engine = make_engine(f"sqlite:///{self.dir / 'db.sqlite'}")
        self.now = T0
        self.totals = {name: [0, 0, 0, 0] for name in NAMES}  # posted d/c, pending d/c
        self.applied: dict[str, dict[str, Any]] = {}  # transfer id -> the request that applied
        self.holds: dict[str, dict[str, Any]] = {}  # hold id -> request, status, timeout_at
        self.resolutions: dict[str, tuple[str, str, int | None]] = {}  # id -> kind, hold, amount
        self.count = 0
        with UnitOfWork(self.engine) as uow:
            for name, (kind, currency, _) in ACCOUNTS.items():
                ledger.open_account(uow, name, kind, currency)
            uow.commit()
        for debit, credit, amount, currency in FUNDING:
            self.transfer(debit, credit, amount, currency, False, None, "funding")

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with UnitOfWork(self.engine) as uow:
            out = fn(uow, *args, **kwargs)
            uow.commit()
        return out

    def _fresh_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count}"

    def _predict(self, debit: str, credit: str, amount: int, currency: str) -> R:
        if ACCOUNTS[debit][1] != currency or ACCOUNTS[credit][1] != currency:
            return R.CURRENCY_MISMATCH
        pd, pc, hd, _ = self.totals[debit]
        if ACCOUNTS[debit][2] and pd + hd + amount > pc:
            return R.INSUFFICIENT_FUNDS
        return R.OK

    @rule(
        debit=st.sampled_from(NAMES),
        credit=st.sampled_from(NAMES),
        amount=st.integers(1, 5_000),
        currency=st.sampled_from(["CNY", "CNY", "CNY", "USD"]),
        pending=st.booleans(),
        timeout_s=st.sampled_from([None, 60, 900]),
        memo=st.sampled_from(["", "job"]),
    )
    def transfer(
        self,
        debit: str,
        credit: str,
        amount: int,
        currency: str,
        pending: bool,
        timeout_s: int | None,
        memo: str,
    ) -> None:
        if debit == credit:
            return
        timeout_s = timeout_s if pending else None
        tid = self._fresh_id("t")
        req = {
            "debit_account_id": debit,
            "credit_account_id": credit,
            "amount_minor": amount,
            "currency": currency,
            "pending": pending,
            "timeout_s": timeout_s,
            "memo": memo,
        }
        expected = self._predict(debit, credit, amount, currency)
        out = self._run(ledger.transfer, tid, **req, now=self.now)
        assert out.result is expected, (out, expected)
        if expected is not R.OK:
            return
        self.applied[tid] = req
        side = 2 if pending else 0
        self.totals[debit][side] += amount
        self.totals[credit][side + 1] += amount
        if pending:
            timeout_at = self.now + timedelta(seconds=timeout_s) if timeout_s else None
            self.holds[tid] = {**req, "status": "pending", "timeout_at": timeout_at}

    @rule(
        debit=st.sampled_from(["v1", "v2", "bud", "usd-wallet"]),
        amount=st.integers(1, 8_000),
        timeout_s=st.sampled_from([60, 900]),
    )
    def hold(self, debit: str, amount: int, timeout_s: int) -> None:
        """A hold with a timeout from an account with a floor: the common case of placement."""
        credit, currency = ("usd-fund", "USD") if debit == "usd-wallet" else ("rcv", "CNY")
        self.transfer(debit, credit, amount, currency, True, timeout_s, "")

    @precondition(lambda self: self.applied)
    @rule(data=st.data(), change=st.sampled_from([None, "amount_minor", "memo"]))
    def retry_transfer(self, data: st.DataObject, change: str | None) -> None:
        tid = data.draw(st.sampled_from(sorted(self.applied)))
        req = dict(self.applied[tid])
        if change == "amount_minor":
            req["amount_minor"] += 1
        elif change == "memo":
            req["memo"] += "!"
        out = self._run(ledger.transfer, tid, **req, now=self.now)
        assert out.result is (R.EXISTS if change is None else R.EXISTS_WITH_DIFFERENT_CONTENT)

    def _expected_resolution(self, hold_id: str, amount: int | None) -> R:
        hold = self.holds[hold_id]
        status = hold["status"]
        if status != "pending":
            return {
                "posted": R.PENDING_ALREADY_POSTED,
                "voided": R.PENDING_ALREADY_VOIDED,
                "expired": R.PENDING_EXPIRED,
            }[status]
        if hold["timeout_at"] is not None and self.now >= hold["timeout_at"]:
            return R.PENDING_EXPIRED
        if amount is not None and amount > hold["amount_minor"]:
            return R.EXCEEDS_PENDING_AMOUNT
        return R.OK

    def _release(self, hold_id: str, status: str, posted: int) -> None:
        hold = self.holds[hold_id]
        hold["status"] = status
        debit, credit, amount = (
            hold["debit_account_id"],
            hold["credit_account_id"],
            hold["amount_minor"],
        )
        self.totals[debit][2] -= amount
        self.totals[credit][3] -= amount
        self.totals[debit][0] += posted
        self.totals[credit][1] += posted

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), fraction=st.sampled_from([None, 0.0, 0.5, 1.0, 1.5]), void=st.booleans())
    def resolve(self, data: st.DataObject, fraction: float | None, void: bool) -> None:
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        held = self.holds[hold_id]["amount_minor"]
        amount = None if fraction is None or void else max(1, int(held * fraction))
        expected = self._expected_resolution(hold_id, amount)
        rid = self._fresh_id("void" if void else "post")
        if void:
            out = self._run(ledger.void_pending, rid, hold_id, now=self.now)
        else:
            out = self._run(ledger.post_pending, rid, hold_id, amount, now=self.now)
        assert out.result is expected, (out, expected)
        if expected is R.OK:
            self._release(
                hold_id, "voided" if void else "posted", 0 if void else out.transfer.amount_minor
            )
            self.resolutions[rid] = ("void" if void else "post", hold_id, amount)

    @precondition(lambda self: self.resolutions)
    @rule(data=st.data())
    def retry_resolution(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(sorted(self.resolutions)))
        kind, hold_id, amount = self.resolutions[rid]
        if kind == "void":
            out = self._run(ledger.void_pending, rid, hold_id, now=self.now)
        else:
            out = self._run(ledger.post_pending, rid, hold_id, amount, now=self.now)
        assert out.result is R.EXISTS

    @rule(seconds=st.sampled_from([1, 59, 61, 600, 1000]))
    def advance_clock(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule()
    def expire(self) -> None:
        due = [
            h
            for h, v in self.holds.items()
            if v["status"] == "pending"
            and v["timeout_at"] is not None
            and v["timeout_at"] <= self.now
        ]
        assert self._run(ledger.expire_pending, self.now) == len(due)
        for hold_id in due:
            self._release(hold_id, "expired", 0)

    @rule(
        amount=st.sampled_from([0, -1, 2.5]),
        credit=st.sampled_from(["rcv", "nobody"]),
    )
    def bad_input(self, amount: Any, credit: str) -> None:
        with pytest.raises(ValidationError):
            self._run(ledger.transfer, self._fresh_id("bad"), "bud", credit, amount, "CNY")
        out = self._run(ledger.transfer, self._fresh_id("bad"), "v1", "nobody", 1, "CNY")
        assert out.result is R.ACCOUNT_NOT_FOUND

    @invariant()
    def database_agrees_with_model_and_is_healthy(self) -> None:
        with UnitOfWork(self.engine, read_only=True) as uow:
            assert ledger.check_invariants(uow) == []
            stored = {
                a.id: [a.posted_debits, a.posted_credits, a.pending_debits, a.pending_credits]
                for a in ledger.list_accounts(uow)
            }
        assert stored == self.totals


def test_random_ledger_operations_keep_every_invariant(_sqlite_template: Path) -> None:
    LedgerMachine.template = _sqlite_template
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=40,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
