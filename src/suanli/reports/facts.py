"""What the reports read: posted records as the store hands them over (settled runs with their
metered usage, offers, reservations, vouchers, postings out of program budgets) and the sourced
data they are judged against (targets, grid emission factors)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class RunFact:
    """A settled run, its site and tenant, and what its usage records metered."""

    run_id: str
    tenant_id: str
    tenant_is_startup: bool
    provider_id: str
    site_id: str
    city: str
    pue: float
    offer_id: str
    system_id: str | None
    accelerator_id: str
    accelerators: int
    program_id: str  # "" when no voucher paid
    currency: str
    billed_fen: int
    voucher_fen: int
    accelerator_seconds: float
    wall_seconds: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime

    @property
    def month(self) -> str:
        return self.finished_at.strftime("%Y-%m")

    @property
    def wait_s(self) -> float | None:
        if self.started_at is None:
            return None
        return max((self.started_at - self.created_at).total_seconds(), 0.0)


@dataclass(frozen=True, slots=True)
class OfferFact:
    offer_id: str
    site_id: str
    provider_id: str
    city: str
    accelerator_id: str
    count: int
    available_from: datetime
    available_until: datetime
    retired_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReservationFact:
    offer_id: str
    accelerators: int
    start_at: datetime
    end_at: datetime
    released_at: datetime | None


@dataclass(frozen=True, slots=True)
class AwardFact:
    """A voucher issued: the amount its program committed, and when."""

    program_id: str
    amount_fen: int
    currency: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PostingFact:
    """A posted ledger transfer out of a program's budget account (money released)."""

    program_id: str
    amount_fen: int
    at: datetime


@dataclass(frozen=True, slots=True)
class BudgetFact:
    program_id: str
    year: int
    budget_fen: int | None
    currency: str


@dataclass(frozen=True, slots=True)
class Source:
    url: str
    title: str
    published: date

    def to_dict(self) -> dict[str, str]:
        return {"url": self.url, "title": self.title, "published": self.published.isoformat()}


@dataclass(frozen=True, slots=True)
class Target:
    """A declared domestic-share target: ``share`` of ``metric`` by ``by_date``."""

    id: str
    jurisdiction: str
    share: float
    by_date: date
    metric: str  # "offered_capacity" | "accelerator_hours" | "spend"
    scope: str
    source: Source


@dataclass(frozen=True, slots=True)
class GridFactor:
    """kg CO2 per kWh of a province's grid, and what the figure is (provincial or regional)."""

    province: str
    kg_co2_per_kwh: float
    basis: str
    source: Source
