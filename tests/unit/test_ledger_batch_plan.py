"""``ledger.batch.plan``: a batch judged in memory, transfer by transfer, with running balances."""

from __future__ import annotations

from datetime import UTC, datetime

from suanli.ledger.batch import TransferSpec, plan
from suanli.ledger.model import Account, AccountKind, TransferResult

T0 = datetime(2026, 3, 1, tzinfo=UTC)
R = TransferResult


def _account(
    account_id: str, kind: AccountKind, credits: int = 0, currency: str = "CNY"
) -> Account:
    return Account(account_id, kind, currency, None, 0, credits, 0, 0, T0)


ACCOUNTS = {
    a.id: a
    for a in (
        _account("issuer", AccountKind.ISSUER),
        _account("wallet", AccountKind.TENANT_WALLET, credits=100),
        _account("other", AccountKind.TENANT_WALLET),
        _account("usd", AccountKind.TENANT_WALLET, currency="USD"),
    )
}


def test_each_transfer_sees_the_balances_the_earlier_ones_left() -> None:
    specs = [
        TransferSpec("a", "wallet", "other", 60, "CNY"),
        TransferSpec("b", "wallet", "other", 60, "CNY"),  # 40 left: refused
        TransferSpec("c", "other", "wallet", 60, "CNY"),  # "other" received 60 in "a"
        TransferSpec("d", "wallet", "other", 100, "CNY"),
        TransferSpec("e", "issuer", "wallet", 5, "CNY", pending=True),  # a hold: not spendable
        TransferSpec("f", "wallet", "other", 1, "CNY"),
    ]
    decided = plan(ACCOUNTS, {}, specs, T0)
    assert [o.result for o in decided.outcomes] == [R.OK, R.INSUFFICIENT_FUNDS, R.OK, R.OK, R.OK,
                                                    R.INSUFFICIENT_FUNDS]  # fmt: skip
    assert decided.outcomes[1].reason == "account wallet has 40 available < 60"
    assert [t.id for t in decided.new] == ["a", "c", "d", "e"]
    assert decided.deltas == {
        "wallet": [160, 60, 0, 5],
        "other": [60, 160, 0, 0],
        "issuer": [0, 0, 5, 0],
    }


def test_unknown_accounts_currencies_and_replays() -> None:
    stored = plan(ACCOUNTS, {}, [TransferSpec("old", "issuer", "wallet", 7, "CNY")], T0).new[0]
    specs = [
        TransferSpec("old", "issuer", "wallet", 7, "CNY"),
        TransferSpec("old", "issuer", "wallet", 8, "CNY"),
        TransferSpec("x", "issuer", "nowhere", 1, "CNY"),
        TransferSpec("y", "issuer", "usd", 1, "CNY"),
        TransferSpec("z", "issuer", "other", 1, "CNY"),
        TransferSpec("z", "issuer", "other", 1, "CNY"),  # repeated in the batch: a replay
    ]
    decided = plan(ACCOUNTS, {"old": stored}, specs, T0)
    assert [o.result for o in decided.outcomes] == [
        R.EXISTS, R.EXISTS_WITH_DIFFERENT_CONTENT, R.ACCOUNT_NOT_FOUND, R.CURRENCY_MISMATCH,
        R.OK, R.EXISTS,
    ]  # fmt: skip
    assert decided.outcomes[3].reason == "account usd is in USD, not CNY"
    assert [t.id for t in decided.new] == ["z"]
    assert ACCOUNTS["wallet"].posted_credits == 100  # the accounts themselves are not changed
