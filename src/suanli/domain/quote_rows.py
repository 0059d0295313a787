"""The rows of a quote: one priced offer each, the quote with its refusals, the sort orders.
Plain data; ``domain.quotes`` builds them."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from operator import attrgetter
from typing import Any

from suanli.domain.exchange import MIN_DURATION_S, OfferRefusal
from suanli.estimate.api import Estimate
from suanli.rejection import Rejection


@dataclass(slots=True)
class QuoteRow:
    offer_id: str
    site_id: str
    provider_id: str
    accelerator_id: str
    origin: str
    count: int
    accelerator_hours: float
    accelerator_hours_p10: float
    accelerator_hours_p90: float
    wall_hours: float
    duration_s: int  # reserved and the run's time limit: the p90 wall time
    cost_fen: int
    currency: str
    subsidies: dict[str, int]  # voucher id -> what it would pay
    voucher_id: str | None  # the voucher that pays (most)
    program_id: str | None
    rate: Fraction  # that voucher's program's rate here
    subsidy_fen: int
    net_fen: int
    energy_kwh: float | None
    start: datetime
    finish: datetime
    price_fen_per_accel_hour: int
    notes: tuple[str, ...] = ()
    compliance: tuple[str, ...] = ()  # ids of the rules that flag the offer without excluding it
    # Writes the subsidy's explanation (top rows only): lines cost more than the rest of a row,
    # so they are written when first read, not for rows nobody looks at.
    explain: Callable[[], tuple[str, ...]] | None = field(default=None, repr=False, compare=False)
    _lines: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def subsidy_lines(self) -> tuple[str, ...]:
        """The paying voucher's subsidy explained line by line (top rows; empty for others)."""
        if self._lines is None:
            self._lines = self.explain() if self.explain is not None else ()
        return self._lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "offer_id": self.offer_id,
            "site_id": self.site_id,
            "provider_id": self.provider_id,
            "accelerator_id": self.accelerator_id,
            "origin": self.origin,
            "count": self.count,
            "accelerator_hours": self.accelerator_hours,
            "accelerator_hours_p10": self.accelerator_hours_p10,
            "accelerator_hours_p90": self.accelerator_hours_p90,
            "wall_hours": self.wall_hours,
            "duration_s": self.duration_s,
            "cost_fen": self.cost_fen,
            "currency": self.currency,
            "subsidies": dict(self.subsidies),
            "voucher_id": self.voucher_id,
            "program_id": self.program_id,
            "rate": str(self.rate),
            "subsidy_fen": self.subsidy_fen,
            "net_fen": self.net_fen,
            "energy_kwh": self.energy_kwh,
            "start": self.start.isoformat(),
            "finish": self.finish.isoformat(),
            "price_fen_per_accel_hour": self.price_fen_per_accel_hour,
            "subsidy_lines": list(self.subsidy_lines),
            "notes": list(self.notes),
            "compliance": list(self.compliance),
        }


@dataclass(slots=True)
class Quote:
    request_id: str
    objective: str
    rows: Sequence[QuoteRow]  # a list, or built when read (``quote_lazy.Lazy``)
    refused: Sequence[OfferRefusal] = field(default_factory=list)
    rejection: Rejection | None = None  # why no offer could be priced at all

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "objective": self.objective,
            "feasible": [r.to_dict() for r in self.rows],
            "infeasible": [r.to_dict() for r in self.refused],
            "rejection": None if self.rejection is None else self.rejection.to_dict(),
        }


def sort_key(objective: str) -> Any:
    if objective == "finish_time":
        return lambda r: (r.finish, r.net_fen, r.offer_id)
    if objective == "energy":
        return lambda r: (math.inf if r.energy_kwh is None else r.energy_kwh, r.net_fen, r.offer_id)
    return attrgetter("net_fen", "finish", "offer_id")


def duration_s(est: Estimate) -> int:
    """The p90 wall time in whole seconds, at least a minute: reserved, and the time limit."""
    scale = est.accelerator_hours_p90 / est.accelerator_hours if est.accelerator_hours else 1.0
    return max(MIN_DURATION_S, math.ceil(est.wall_hours * scale * 3600))
