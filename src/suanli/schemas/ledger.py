"""The body of a ledger batch and its reply (API)."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import Field

from suanli.ledger.model import TransferOutcome
from suanli.schemas.base import Body, Currency, PositiveFen
from suanli.services.ledger import MAX_MEMO_CHARS
from suanli.services.ledger_batch import MAX_BATCH, TransferSpec

LedgerId = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/@-]+$")


class TransferIn(Body):
    id: str = LedgerId
    debit_account_id: str = LedgerId
    credit_account_id: str = LedgerId
    amount_minor: PositiveFen
    currency: Currency
    pending: bool = False
    timeout_s: int | None = Field(None, gt=0, le=10 * 365 * 86400, description="holds only")
    memo: str = Field("", max_length=MAX_MEMO_CHARS)

    def spec(self) -> TransferSpec:
        return TransferSpec(**self.model_dump())


class TransferBatchIn(Body):
    transfers: list[TransferIn] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"applied in order; at most {MAX_BATCH}"
    )

    def specs(self) -> list[TransferSpec]:
        return [t.spec() for t in self.transfers]


def outcome_json(spec: TransferSpec, out: TransferOutcome) -> dict[str, Any]:
    return {
        "id": spec.id,
        "result": out.result.value,
        "ok": out.ok,
        "reason": out.reason,
        "transfer": None if out.transfer is None else dataclasses.asdict(out.transfer),
    }
