"""Applications, vouchers and purchase-subsidy claims: records and the pure limit decisions.

An application carries the tenant's facts and the verdict of every eligibility rule; a reviewer
approves an amount or rejects with a reason. Approval is limited, in order, by what was asked,
by what the program's rates entitle on the stated contract, by the program's budget left this
year and by the entity's cap left in the cap period. Each limit that bites is a business
refusal (a result code with a reason), never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from suanli.domain.money import apply_rate
from suanli.domain.programs import Program, Tranche
from suanli.rejection import Code, Rejection


class Status(StrEnum):
    PENDING = "pending"  # eligible, waiting for a reviewer
    INELIGIBLE = "ineligible"  # a rule failed; kept with its reasons, never approved
    APPROVED = "approved"
    REJECTED = "rejected"


class ReviewResult(StrEnum):
    OK = "ok"
    EXISTS = "exists"  # the same decision again: the stored one is returned
    NOT_PENDING = "not_pending"  # ineligible, or decided otherwise already
    OVER_REQUESTED = "over_requested"
    OVER_ENTITLEMENT = "over_entitlement"
    OVER_BUDGET = "over_budget"
    OVER_CAP = "over_cap"
    OVER_STACKING = "over_stacking"  # with the other subsidies on the same cost, or its own
    MISSING_REQUIRED = "missing_required"  # a program it pays only together with is absent
    LEDGER_REFUSED = "ledger_refused"

    @property
    def ok(self) -> bool:
        return self in (ReviewResult.OK, ReviewResult.EXISTS)


@dataclass(frozen=True, slots=True)
class Application:
    id: str
    program_id: str
    tenant_id: str
    requested_fen: int
    currency: str
    facts: Mapping[str, Any]  # the request as given: contract, tier
    eligible: bool
    reasons: tuple[Mapping[str, Any], ...]  # {check, passed, reason} for every check
    lines: tuple[str, ...]  # how the entitlement was computed
    entitled_fen: int  # what the rates pay on the stated contract, before budget and cap
    status: Status
    created_at: datetime
    decided_by: str | None = None
    decision_reason: str = ""
    approved_fen: int | None = None
    voucher_id: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Voucher:
    id: str
    application_id: str
    program_id: str
    tenant_id: str
    currency: str
    amount_fen: int  # approved in total, every tranche
    released_fen: int  # credited to the voucher account so far
    milestones: tuple[str, ...]  # reached: "award", then e.g. "progress-report"
    valid_from: date
    valid_until: date | None  # None: the program states no end
    account_id: str
    created_at: datetime

    def expired_on(self, day: date) -> bool:
        return self.valid_until is not None and day > self.valid_until

    def validity_problem(self, day: date) -> str | None:
        """Why the voucher cannot be used on ``day``, or None."""
        if day < self.valid_from:
            return f"voucher {self.id} is valid from {self.valid_from}, not on {day}"
        if self.expired_on(day):
            return f"voucher {self.id} expired on {self.valid_until}"
        return None


@dataclass(frozen=True, slots=True)
class Claim:
    id: str
    program_id: str
    buyer_id: str
    accelerator_id: str
    count: int
    amount_fen: int
    currency: str
    invoice_id: str
    purchased_on: date
    seller_id: str
    eligible: bool
    reasons: tuple[Mapping[str, Any], ...]
    lines: tuple[str, ...]
    subsidy_fen: int  # rate x amount, capped, as computed when claimed
    status: Status
    created_at: datetime
    decided_by: str | None = None
    decision_reason: str = ""
    approved_fen: int | None = None
    payout_transfer_id: str | None = None
    decided_at: datetime | None = None


def cap_period(program: Program, day: date) -> str:
    """The key a cap is counted under: the calendar year, or the whole programme."""
    return str(day.year) if program.cap_period == "calendar-year" else "programme"


def voucher_validity(program: Program, issued_on: date) -> tuple[date, date | None]:
    """From issue to ``voucher_days`` later, else to the program's end; never past the end."""
    until = program.valid_until
    if program.voucher_valid_days is not None:
        own = issued_on + timedelta(days=program.voucher_valid_days)
        until = own if until is None else min(own, until)
    return issued_on, until


def tranche_amounts(amount_fen: int, tranches: Sequence[Tranche]) -> list[tuple[str, int]]:
    """Split an award into its tranches, rounding down; the last takes the remainder, so the
    parts always add up to the award exactly. Tranches on the same milestone are merged."""
    parts: dict[str, int] = {}
    given = 0
    for i, tranche in enumerate(tranches):
        part = (
            amount_fen - given if i == len(tranches) - 1 else apply_rate(amount_fen, tranche.share)
        )
        given += part
        parts[tranche.on] = parts.get(tranche.on, 0) + part
    return list(parts.items())


def check_limits(
    amount_fen: int,
    currency: str,
    *,
    requested_fen: int | None,
    entitled_fen: int,
    budget_left_fen: int | None,
    cap_left_fen: int | None,
    stacking_left_fen: int | None = None,
    own_rate_left_fen: int | None = None,
) -> Rejection | None:
    """The first limit an approval of ``amount_fen`` breaks, or None when it fits them all."""
    checks: list[tuple[ReviewResult, int | None, str]] = [
        (ReviewResult.OVER_REQUESTED, requested_fen, "the amount applied for"),
        (ReviewResult.OVER_ENTITLEMENT, entitled_fen, "what the program's rates pay"),
        (ReviewResult.OVER_BUDGET, budget_left_fen, "the program's budget left this year"),
        (ReviewResult.OVER_CAP, cap_left_fen, "the entity's cap left in this period"),
        (ReviewResult.OVER_STACKING, stacking_left_fen, "what other subsidies leave of the cost"),
        (
            ReviewResult.OVER_STACKING,
            own_rate_left_fen,
            "what the program's own rate leaves of the cost, after its other vouchers on it",
        ),
    ]
    for result, limit, what in checks:
        if limit is not None and amount_fen > limit:
            message = f"{amount_fen} {currency} fen is above {what} ({limit})"
            return Rejection(Code(result.value), message, "amount_fen")
    return None
