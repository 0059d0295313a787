"""Monthly statements as records: one line per settled run (a tenant's or a provider's), or per
payment from a program's vouchers (a program's), with the month's totals."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

MONEY = ("billed_fen", "voucher_fen", "wallet_fen")


@dataclass(frozen=True, slots=True)
class StatementLine:
    run_id: str  # "" for a direct spend from a voucher
    request_id: str
    attempt: int | None
    tenant_id: str
    provider_id: str
    site_id: str
    offer_id: str
    accelerator_id: str
    exit_class: str
    finished_at: str  # ISO 8601, UTC, seconds: when the run ended or the payment posted
    accelerator_seconds: float
    price_fen_per_accel_hour: int | None
    currency: str
    billed_fen: int  # what the line cost in all
    voucher_fen: int  # the voucher's share (on a program's statement: that program's share)
    wallet_fen: int
    program_id: str
    voucher_note: str  # why the voucher paid less than its rate, where it did
    voucher_id: str
    transfer_id: str  # the ledger posting, on a program's statement

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COLUMNS = tuple(f.name for f in fields(StatementLine))


@dataclass(frozen=True, slots=True)
class Statement:
    party: str  # the tenant, provider or program
    month: str  # YYYY-MM
    lines: tuple[StatementLine, ...]

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(x, k) for x in self.lines) for k in MONEY}

    def to_dict(self) -> dict[str, Any]:
        return {"party": self.party, "month": self.month,
                "lines": [x.to_dict() for x in self.lines], "totals": self.totals}  # fmt: skip
