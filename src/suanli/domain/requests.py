"""What the exchange stores of a request: the request as given, where it was placed, and the
capacity reserved for it. ``to_dict`` is the JSON the API and the CLI answer with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from suanli.domain.exchange import OfferRefusal
from suanli.domain.runs import Run
from suanli.rejection import Rejection


@dataclass(frozen=True, slots=True)
class StoredRequest:
    id: str
    tenant_id: str
    mode: str  # online | batch
    body: Mapping[str, Any]  # the request as given, canonical JSON: a retry must match it
    status: str  # pending | placed | cancelled
    reason: str  # why a batch left it pending, if it did
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "tenant_id": self.tenant_id, "mode": self.mode,
                "body": dict(self.body), "status": self.status, "reason": self.reason,
                "created_at": self.created_at, "updated_at": self.updated_at}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a request was placed, and the quote row it took (as it was quoted)."""

    request_id: str
    tenant_id: str
    offer_id: str
    method: str  # online | batch
    run_id: str
    voucher_id: str | None
    program_id: str | None
    origin: str
    accelerator_hours: float  # for domestic shares, not money
    quote: Mapping[str, Any]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "tenant_id": self.tenant_id,
                "offer_id": self.offer_id, "method": self.method, "run_id": self.run_id,
                "voucher_id": self.voucher_id, "program_id": self.program_id,
                "origin": self.origin, "accelerator_hours": self.accelerator_hours,
                "quote": dict(self.quote), "created_at": self.created_at}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reservation:
    """Accelerators of one offer held for a request over a window."""

    id: str
    request_id: str
    tenant_id: str
    offer_id: str
    start_at: datetime
    end_at: datetime
    accelerators: int
    status: str  # active | released
    created_at: datetime
    released_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "request_id": self.request_id, "tenant_id": self.tenant_id,
                "offer_id": self.offer_id, "start_at": self.start_at, "end_at": self.end_at,
                "accelerators": self.accelerators, "status": self.status,
                "created_at": self.created_at, "released_at": self.released_at}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RequestView:
    """A request with its placement, its reservations and the runs of its attempts."""

    request: StoredRequest
    placement: Placement | None
    reservations: Sequence[Reservation]
    runs: Sequence[Run]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.request.to_dict(),
            "placement": None if self.placement is None else self.placement.to_dict(),
            "reservations": [r.to_dict() for r in self.reservations],
            "runs": [r.to_dict() for r in self.runs],
        }


@dataclass(slots=True)
class Submitted:
    """A submission's answer: placed (with its placement and run), pending (kept for the
    batch) or refused (with the rejection), and why each other offer was out."""

    request_id: str
    status: str  # placed | pending | refused
    rejection: Rejection | None = None  # set when refused
    placement: Placement | None = None
    run: Run | None = None
    refused: list[OfferRefusal] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rejection is None

    @property
    def reason(self) -> str:
        return "" if self.rejection is None else self.rejection.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "status": self.status,
            "accepted": self.ok,
            "reason": self.reason,
            "rejection": None if self.rejection is None else self.rejection.to_dict(),
            "placement": None if self.placement is None else self.placement.to_dict(),
            "run": None if self.run is None else self.run.to_dict(),
            "infeasible": [r.to_dict() for r in self.refused],
        }
