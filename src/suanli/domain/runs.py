"""Runs as records: one attempt of a job at one offer, what pays for it, and its usage.

A run is stored with its voucher rule and its ledger holds as JSON; these records are the typed
form the services work with, and ``to_dict`` the JSON the API and the CLI answer with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from suanli.domain.jobs import ExitClass, JobSpec, RunStatus

PARTS = ("voucher", "wallet")  # who a run's cost is held from, in the order it is held


@dataclass(frozen=True, slots=True)
class RunVoucher:
    """The voucher that pays a run's share: its rate on this attempt and, per accelerator
    origin, the rate its placement allows (a fallback to the other origin reads it)."""

    voucher_id: str
    account_id: str
    program_id: str
    rate: Fraction  # what this attempt pays at, 0..1
    rates: Mapping[str, Fraction]  # origin ("domestic"/"foreign") -> rate
    note: str = ""  # why it pays less than its rates say (a refusal, a lowered rate)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "account_id": self.account_id,
            "program_id": self.program_id,
            "voucher_id": self.voucher_id,
            "rates": {origin: str(rate) for origin, rate in sorted(self.rates.items())},
            "rate": str(self.rate),
        }
        if self.note:
            data["note"] = self.note
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> RunVoucher | None:
        """The stored rule; None for a run no voucher pays (stored as an empty object)."""
        if not data.get("account_id"):
            return None
        return RunVoucher(
            voucher_id=str(data.get("voucher_id", "")),
            account_id=str(data["account_id"]),
            program_id=str(data.get("program_id", "")),
            rate=Fraction(str(data.get("rate", "0"))),
            rates={o: Fraction(str(r)) for o, r in (data.get("rates") or {}).items()},
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True, slots=True)
class VoucherTerms:
    """What a placement or a fallback offers a run's voucher: its rates per origin, and for a
    fallback the rate decided for the new attempt (with why it is lower, if it is)."""

    voucher_id: str
    account_id: str
    program_id: str
    rates: dict[str, Fraction]
    decided_rate: Fraction | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Hold:
    """A pending ledger transfer that reserves part of a run's cost until it settles."""

    transfer_id: str
    account_id: str
    amount_fen: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.transfer_id, "account": self.account_id, "amount": self.amount_fen}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Hold:
        return Hold(str(data["id"]), str(data["account"]), int(data["amount"]))


def holds_from_dict(data: Mapping[str, Any]) -> dict[str, Hold]:
    return {part: Hold.from_dict(hold) for part, hold in data.items()}


def holds_to_dict(holds: Mapping[str, Hold]) -> dict[str, Any]:
    return {part: hold.to_dict() for part, hold in holds.items()}


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    request_id: str
    tenant_id: str
    site_id: str
    offer_id: str
    provider_id: str
    accelerator_id: str
    attempt: int
    status: RunStatus
    spec: JobSpec
    fallback: tuple[str, ...]
    price_fen_per_accel_hour: int
    currency: str
    voucher: RunVoucher | None
    holds: Mapping[str, Hold]
    created_at: datetime
    leases: int = 0
    lease_id: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    exit_class: ExitClass | None = None
    exit_detail: str = ""
    cancel_requested: bool = False
    checkpoint_uri: str = ""
    billed_fen: int | None = None
    voucher_fen: int | None = None
    wallet_fen: int | None = None
    next_run_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    settled_at: datetime | None = None

    @property
    def voucher_rate(self) -> Fraction:
        return Fraction(0) if self.voucher is None else self.voucher.rate

    def to_dict(self) -> dict[str, Any]:
        """The run as the API shows it (the stored columns, JSON ones as objects)."""
        return {
            "id": self.id, "request_id": self.request_id, "tenant_id": self.tenant_id,
            "site_id": self.site_id, "offer_id": self.offer_id, "provider_id": self.provider_id,
            "accelerator_id": self.accelerator_id, "attempt": self.attempt,
            "status": self.status.value, "lease_id": self.lease_id,
            "lease_owner": self.lease_owner, "lease_expires_at": self.lease_expires_at,
            "leases": self.leases,
            "exit_class": None if self.exit_class is None else self.exit_class.value,
            "exit_detail": self.exit_detail, "cancel_requested": self.cancel_requested,
            "checkpoint_uri": self.checkpoint_uri, "spec": self.spec.to_dict(),
            "fallback": list(self.fallback),
            "price_fen_per_accel_hour": self.price_fen_per_accel_hour,
            "currency": self.currency,
            "voucher": {} if self.voucher is None else self.voucher.to_dict(),
            "holds": holds_to_dict(self.holds), "billed_fen": self.billed_fen,
            "voucher_fen": self.voucher_fen, "wallet_fen": self.wallet_fen,
            "next_run_id": self.next_run_id, "created_at": self.created_at,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "settled_at": self.settled_at,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One interval an agent metered, idempotent by (run, sequence number)."""

    run_id: str
    seq: int
    lease_id: str
    accelerator_seconds: float
    wall_seconds: float
    cpu_seconds: float = 0.0
    reported_at: datetime | None = None

    def same_report(self, other: UsageRecord) -> bool:
        """Whether ``other`` reports the same interval (a retry), whenever it arrived."""
        return (self.run_id, self.seq, self.lease_id, self.accelerator_seconds,
                self.wall_seconds, self.cpu_seconds) == (
                other.run_id, other.seq, other.lease_id, other.accelerator_seconds,
                other.wall_seconds, other.cpu_seconds)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run_id": self.run_id, "seq": self.seq, "lease_id": self.lease_id,
            "accelerator_seconds": self.accelerator_seconds, "wall_seconds": self.wall_seconds,
            "cpu_seconds": self.cpu_seconds,
        }  # fmt: skip
        if self.reported_at is not None:
            data["reported_at"] = self.reported_at
        return data


@dataclass(frozen=True, slots=True)
class Lease:
    """A run leased to an agent, with what the agent needs to start it."""

    run: Run
    next_seq: int  # the usage sequence number the agent reports next
    vendor: str
    origin: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.run.to_dict(), "next_seq": self.next_seq, "vendor": self.vendor,
                "origin": self.origin}  # fmt: skip
