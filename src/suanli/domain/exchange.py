"""Job requests for the exchange, the capacity calendar of an offer, and why an offer is refused.

Plain Python. A request names a workload, how many accelerators (or "auto"), a deadline, a ceiling
on what the tenant pays after subsidy, the origins it accepts, the vouchers to pay with and the
objective its quote is sorted by. An offer's capacity calendar is the list of reservations on it;
``earliest_start`` finds the first window where the request's accelerators fit for its duration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from suanli.domain.filings import check_filing_number
from suanli.domain.jobs import JobSpec, check_fallback
from suanli.domain.registry import check_id
from suanli.errors import ValidationError
from suanli.rejection import Code, Rejection

Objective = Literal["net_cost", "finish_time", "energy"]
OBJECTIVES: tuple[Objective, ...] = ("net_cost", "finish_time", "energy")
Mode = Literal["online", "batch"]
ORIGINS = frozenset({"domestic", "foreign"})
MIN_DURATION_S = 60  # a reservation is never shorter than a minute
MAX_DURATION_S = 30 * 86400  # a job of stated size runs at most 30 days
MAX_OFFER_IDS = 100

# Why an offer cannot take a request: one code per class, with a sentence saying why.
REFUSAL_CODES = (
    "origin",  # the request does not accept the chip's origin
    "export_controlled",  # the chip is export-controlled and the request refuses such chips
    "precision",  # the chip cannot run the precision (and no fallback is allowed)
    "memory",  # the model does not fit on the chips the offer can give
    "capacity",  # not enough free accelerators before the offer's window closes
    "not_accredited",  # none of the request's vouchers' programs accepts this offer
    "related_party",  # the provider is the tenant's affiliate and a program forbids paying it
    "deadline",  # it would finish after the deadline
    "ceiling",  # the net cost is above the request's ceiling
    "policy",  # a program's domestic floor or the tenant's fair share forbids it
    "catalog",  # the catalog lacks a figure the estimate needs
    "compliance",  # a compliance rule flags the offer (domain.compliance)
)


# Not frozen: a quote builds one per refused offer (most of a thousand), and a frozen
# dataclass costs about four times as much to build.
@dataclass(slots=True)
class OfferRefusal:
    """Why a quote leaves one offer out."""

    offer_id: str
    accelerator_id: str
    code: Code
    reason: str
    rule_id: str = ""  # the compliance rule that left it out (code ``compliance``)

    def to_dict(self) -> dict[str, str]:
        out = {
            "offer_id": self.offer_id,
            "accelerator_id": self.accelerator_id,
            "code": self.code,
            "reason": self.reason,
        }
        if self.rule_id:
            out["rule_id"] = self.rule_id
        return out


def affiliate_refusal(refused: Sequence[OfferRefusal]) -> Rejection | None:
    """When every offer was left out because a program refuses to pay the tenant's affiliate,
    the request is refused for that, with the first such offer's reason."""
    if refused and all(r.code is Code.RELATED_PARTY for r in refused):
        why = f"offer {refused[0].offer_id}: {refused[0].reason}"
        return Rejection(Code.RELATED_PARTY, why, "voucher_ids")
    return None


@dataclass(frozen=True, slots=True)
class JobRequest:
    """What a tenant asks the exchange for. ``workload`` is the estimator's Workload, kept as
    ``Any`` here so the domain does not import the estimator."""

    id: str
    tenant_id: str
    workload: Any
    accelerators: int | None = None  # None: the fewest that fit, per offer
    deadline: datetime | None = None
    max_net_fen: int | None = None  # ceiling on what the tenant pays after subsidy
    allowed_origins: frozenset[str] = ORIGINS
    allow_export_controlled: bool = True
    voucher_ids: tuple[str, ...] = ()
    objective: Objective = "net_cost"
    spec: JobSpec | None = (
        None  # what the site runs; accelerators and time limit come from the quote
    )
    fallback: tuple[str, ...] = ()
    mode: Mode = "online"
    offer_ids: tuple[str, ...] = ()  # only these offers (empty: every live offer)
    # A job of stated size: ``accelerators`` for at most this long, not estimated from a
    # workload (which may then be None). It is the reservation and the run's time limit.
    duration_s: int | None = None
    # An inference service open to the public must run a filed generative-AI model, named by
    # its filing number (domain.filings); a program may require one for any work it pays.
    public_facing: bool = False
    model_filing: str | None = None

    def validate(self) -> JobRequest:
        check_id(self.id, "id")
        check_id(self.tenant_id, "tenant_id")
        self._validate_size()
        if self.accelerators is not None and (
            isinstance(self.accelerators, bool)
            or not isinstance(self.accelerators, int)
            or not 1 <= self.accelerators <= 65536
        ):
            raise ValidationError("accelerators", "must be a whole number from 1, or auto")
        if self.deadline is not None and self.deadline.tzinfo is None:
            raise ValidationError("deadline", "must carry a time zone")
        if self.max_net_fen is not None and (
            isinstance(self.max_net_fen, bool)
            or not isinstance(self.max_net_fen, int)
            or self.max_net_fen < 0
        ):
            raise ValidationError("max_net_fen", "must be a whole number of fen ≥ 0")
        if not self.allowed_origins or not set(self.allowed_origins) <= ORIGINS:
            raise ValidationError(
                "allowed_origins", "must be a non-empty subset of domestic, foreign"
            )
        if self.objective not in OBJECTIVES:
            raise ValidationError("objective", f"must be one of {', '.join(OBJECTIVES)}")
        if self.mode not in ("online", "batch"):
            raise ValidationError("mode", "must be online or batch")
        if len(set(self.voucher_ids)) != len(self.voucher_ids):
            raise ValidationError("voucher_ids", "names a voucher twice")
        for i, vid in enumerate(self.voucher_ids):
            if not isinstance(vid, str) or not vid:
                raise ValidationError(f"voucher_ids[{i}]", "must be a voucher id")
        check_fallback(self.fallback)
        if self.spec is not None:
            self.spec.validate()
        self._validate_model()
        return self

    def _validate_model(self) -> None:
        if not isinstance(self.public_facing, bool):
            raise ValidationError("public_facing", "must be true or false")
        if self.model_filing is not None:
            check_filing_number(self.model_filing, "model_filing")
        kind = getattr(self.workload, "kind", "inference")
        if self.public_facing and kind != "inference":
            raise ValidationError("public_facing", f"a {kind} job serves no public; only inference")

    def _validate_size(self) -> None:
        if len(self.offer_ids) > MAX_OFFER_IDS:
            raise ValidationError("offer_ids", f"at most {MAX_OFFER_IDS} offers")
        if len(set(self.offer_ids)) != len(self.offer_ids):
            raise ValidationError("offer_ids", "names an offer twice")
        for i, oid in enumerate(self.offer_ids):
            check_id(oid, f"offer_ids[{i}]")
        if self.duration_s is None:
            return
        if (
            isinstance(self.duration_s, bool)
            or not isinstance(self.duration_s, int)
            or not 1 <= self.duration_s <= MAX_DURATION_S
        ):
            raise ValidationError("duration_s", f"must be whole seconds, 1 to {MAX_DURATION_S}")
        if self.accelerators is None:
            raise ValidationError("accelerators", "a job of stated size says how many")

    def check_sized(self) -> None:
        """A quote needs a workload to estimate, or a stated size."""
        if self.workload is None and self.duration_s is None:
            raise ValidationError("workload", "is required (or a stated size: duration_s)")


@dataclass(frozen=True, slots=True)
class Busy:
    """One reservation on an offer: ``accelerators`` in use over [start, end)."""

    start: datetime
    end: datetime
    accelerators: int


def peak_use(busy: Sequence[Busy], start: datetime, end: datetime) -> int:
    """Most accelerators in use at any instant of [start, end)."""
    events: list[tuple[datetime, int]] = []
    for b in busy:
        if b.start < end and b.end > start:
            events.append((max(b.start, start), b.accelerators))
            events.append((b.end, -b.accelerators))
    # Ends sort before starts at the same instant: [a, b) then [b, c) never overlap.
    events.sort(key=lambda e: (e[0], e[1]))
    now = peak = 0
    for _, delta in events:
        now += delta
        peak = max(peak, now)
    return peak


def fits(capacity: int, busy: Sequence[Busy], need: int, start: datetime, end: datetime) -> bool:
    return need <= capacity and peak_use(busy, start, end) + need <= capacity


def earliest_start(
    capacity: int,
    busy: Sequence[Busy],
    need: int,
    duration: timedelta,
    not_before: datetime,
    not_after: datetime,
) -> datetime | None:
    """The first start at which ``need`` accelerators are free for ``duration``, ending by
    ``not_after``; None if there is none. Only ``not_before`` and reservation ends can be the
    earliest start: use only drops when a reservation ends."""
    if need > capacity:
        return None
    starts = sorted({not_before} | {b.end for b in busy if b.end > not_before})
    for start in starts:
        end = start + duration
        if end > not_after:
            return None
        if peak_use(busy, start, end) + need <= capacity:
            return start
    return None
