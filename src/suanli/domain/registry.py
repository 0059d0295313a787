"""Providers, sites, offers and tenant organisations, with their validation rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from suanli.domain.money import MINOR_UNITS
from suanli.domain.parties import Parties, check_parties
from suanli.errors import ValidationError as InvalidField

BACKENDS = ("local", "slurm", "ray", "kubernetes")
# Who owns a tenant: compliance rules touch classes of tenants (``domain.compliance``).
OWNERSHIPS = ("private", "state-owned", "government")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def check_id(value: str, field_name: str = "id") -> str:
    if not _ID_RE.fullmatch(value):  # whole: "$" alone lets a trailing newline through
        raise InvalidField(field_name, "must be 1-64 chars of a-z, 0-9, '.', '_' or '-'")
    return value


def check_nonblank(value: str, field_name: str) -> str:
    if not value.strip():
        raise InvalidField(field_name, "must not be blank")
    return value.strip()


def check_currency(value: str, field_name: str = "currency") -> str:
    if value not in MINOR_UNITS:
        raise InvalidField(field_name, f"unknown currency {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    name: str
    city: str
    related_parties: tuple[str, ...] = ()
    retired_at: datetime | None = None
    parent_id: str | None = None  # the organisation that owns it, if any
    beneficial_owners: tuple[str, ...] = ()  # natural or legal persons who ultimately own it

    def validate(self) -> Provider:
        check_id(self.id)
        check_nonblank(self.name, "name")
        check_nonblank(self.city, "city")
        check_parties(self.id, self.parent_id, self.beneficial_owners, self.related_parties)
        return self

    @property
    def parties(self) -> Parties:
        return Parties(self.id, self.parent_id, self.beneficial_owners, self.related_parties)


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    provider_id: str
    name: str
    city: str
    backend: str = "local"
    pue: float = 1.3
    measured_peak_tflops: dict[str, float] = field(default_factory=dict)
    retired_at: datetime | None = None

    def validate(self) -> Site:
        check_id(self.id)
        check_id(self.provider_id, "provider_id")
        check_nonblank(self.name, "name")
        check_nonblank(self.city, "city")
        if self.backend not in BACKENDS:
            raise InvalidField("backend", f"must be one of {', '.join(BACKENDS)}")
        if not 1.0 <= self.pue <= 3.0:
            raise InvalidField("pue", "must be between 1.0 and 3.0")
        return self


CAPACITY_UNITS = ("chips", "systems")


@dataclass(frozen=True, slots=True)
class Offer:
    """Chips of one catalog model for rent at a site. ``count`` is always chips (what runs and
    placement take). An offer may name the system its chips sit in (``system_id``, with the
    catalog's ``chips_per_system`` kept beside it); its capacity is then counted in chips of
    that system, or in whole systems (``capacity_unit = "systems"``: ``count`` a multiple of
    ``chips_per_system``), as the provider chooses."""

    id: str
    site_id: str
    accelerator_id: str
    count: int
    price_fen_per_accel_hour: int
    currency: str
    available_from: datetime
    available_until: datetime
    retired_at: datetime | None = None
    system_id: str | None = None
    capacity_unit: str = "chips"
    chips_per_system: int | None = None
    # Provenance the provider supplies, which compliance rules read (``domain.compliance``):
    # the exporter's licence number, the customs import declaration, the date the chips
    # were bought or imported.
    export_licence: str | None = None
    import_declaration: str | None = None
    acquired_on: date | None = None

    def validate(self) -> Offer:
        check_id(self.id)
        check_id(self.site_id, "site_id")
        if self.count <= 0:
            raise InvalidField("count", "must be greater than 0")
        self._validate_system()
        for name in ("export_licence", "import_declaration"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise InvalidField(name, "must not be blank (leave it out instead)")
        if self.price_fen_per_accel_hour <= 0:
            raise InvalidField("price_fen_per_accel_hour", "must be greater than 0")
        check_currency(self.currency)
        if self.available_until <= self.available_from:
            raise InvalidField("available_until", "must be after available_from")
        return self

    @property
    def window_hours(self) -> float:
        return (self.available_until - self.available_from).total_seconds() / 3600

    @property
    def systems(self) -> int | None:
        """Whole systems on offer, when capacity is counted in systems."""
        if self.capacity_unit != "systems" or not self.chips_per_system:
            return None
        return self.count // self.chips_per_system

    def _validate_system(self) -> None:
        if self.capacity_unit not in CAPACITY_UNITS:
            raise InvalidField("capacity_unit", f"must be one of {', '.join(CAPACITY_UNITS)}")
        if self.system_id is None:
            if self.capacity_unit == "systems":
                raise InvalidField("capacity_unit", "counting in systems needs a system_id")
            if self.chips_per_system is not None:
                raise InvalidField("chips_per_system", "only for an offer naming a system")
            return
        check_id(self.system_id, "system_id")
        if self.chips_per_system is None or self.chips_per_system < 1:
            raise InvalidField("chips_per_system", "must be the system's chip count (>= 1)")
        if self.capacity_unit == "systems" and self.count % self.chips_per_system:
            raise InvalidField(
                "count",
                f"counted in systems: must be whole systems, a multiple of "
                f"{self.chips_per_system} chips (got {self.count})",
            )


@dataclass(frozen=True, slots=True)
class Tenant:
    """An organisation that rents compute; the facts programs judge it by."""

    id: str
    name: str
    registered_city: str
    founded_on: date
    headcount: int
    annual_revenue_fen: int
    currency: str
    sector: str
    is_startup: bool
    related_parties: tuple[str, ...] = ()
    retired_at: datetime | None = None
    ownership: str = "private"  # one of OWNERSHIPS
    parent_id: str | None = None  # the organisation that owns it, if any
    beneficial_owners: tuple[str, ...] = ()  # natural or legal persons who ultimately own it

    def validate(self, today: date | None = None) -> Tenant:
        check_id(self.id)
        check_nonblank(self.name, "name")
        check_nonblank(self.registered_city, "registered_city")
        check_nonblank(self.sector, "sector")
        if self.headcount < 0:
            raise InvalidField("headcount", "must not be negative")
        if self.annual_revenue_fen < 0:
            raise InvalidField("annual_revenue_fen", "must not be negative")
        check_currency(self.currency)
        if self.ownership not in OWNERSHIPS:
            raise InvalidField("ownership", f"must be one of {', '.join(OWNERSHIPS)}")
        if today is not None and self.founded_on > today:
            raise InvalidField("founded_on", "must not be in the future")
        check_parties(self.id, self.parent_id, self.beneficial_owners, self.related_parties)
        return self

    @property
    def parties(self) -> Parties:
        return Parties(self.id, self.parent_id, self.beneficial_owners, self.related_parties)

    def age_years(self, on: date) -> float:
        return (on - self.founded_on).days / 365.25


# The facts eligibility rules read: a tenant proposes changes to them, a reviewer confirms.
REVIEWED_TENANT_FACTS = frozenset(
    {"registered_city", "founded_on", "headcount", "annual_revenue_fen", "currency", "sector",
     "is_startup", "related_parties", "ownership", "parent_id", "beneficial_owners"}
)  # fmt: skip
# Facts held as tuples in records and as lists in JSON.
TUPLE_FACTS = ("related_parties", "beneficial_owners")


@dataclass(frozen=True, slots=True)
class TenantProposal:
    """Changes a tenant asked for to its reviewed facts, not yet in force."""

    tenant_id: str
    facts: Mapping[str, Any]  # field -> proposed value, as JSON (dates as ISO text)
    proposed_by: str
    proposed_at: datetime

    def applied_to(self, tenant: Tenant) -> Tenant:
        values = dict(self.facts)
        if "founded_on" in values:
            values["founded_on"] = date.fromisoformat(values["founded_on"])
        for name in TUPLE_FACTS:
            if name in values:
                values[name] = tuple(values[name])
        return replace(tenant, **values)
