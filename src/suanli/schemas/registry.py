"""Bodies that create or change providers, sites, offers and tenants (API and CLI)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt

from suanli.schemas.base import MAX_FEN, Body, Currency

Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
# Bounds are the columns' (VARCHAR lengths, 32-bit INTEGER): PostgreSQL enforces them, and a
# value past them would fail in the database rather than here.
Name = Annotated[str, Field(min_length=1, max_length=200)]
City = Annotated[str, Field(min_length=1, max_length=100)]
Party = Annotated[str, Field(min_length=1, max_length=64)]
INT32_MAX = 2**31 - 1
# Counts and money are JSON integers only: pydantic's lax mode would read false as 0 fen.


class ProviderIn(Body):
    id: Id
    name: Name
    city: City
    related_parties: list[Party] = Field([], max_length=100)
    parent_id: Party | None = Field(None, description="the organisation that owns it, if any")
    beneficial_owners: list[Party] = Field(
        [], max_length=100, description="natural or legal persons who ultimately own it"
    )


class SiteIn(Body):
    id: Id
    provider_id: Id
    name: Name
    city: City
    backend: Literal["local", "slurm", "ray", "kubernetes"] = "local"
    pue: float = Field(1.3, ge=1.0, le=3.0)


class OfferIn(Body):
    id: Id
    site_id: Id
    accelerator_id: str = Field(min_length=1, max_length=64, description="catalog id or alias")
    count: StrictInt = Field(gt=0, le=INT32_MAX)
    price_fen_per_accel_hour: StrictInt = Field(
        gt=0, le=MAX_FEN, description="price per accelerator-hour, fen"
    )
    currency: Currency = "CNY"
    available_from: datetime = Field(strict=False)  # ISO text in JSON
    available_until: datetime = Field(strict=False)
    system_id: str | None = Field(
        None, min_length=1, max_length=64, description="catalog system id or alias, if any"
    )
    capacity_unit: Literal["chips", "systems"] = Field(
        "chips", description="count chips of the system, or whole systems (count stays chips)"
    )
    export_licence: str | None = Field(
        None, min_length=1, max_length=100, description="the exporter's licence number"
    )
    import_declaration: str | None = Field(
        None, min_length=1, max_length=100, description="the customs import declaration number"
    )
    acquired_on: date | None = Field(
        None, strict=False, description="when the chips were bought or imported"
    )


class TenantIn(Body):
    id: Id
    name: Name
    registered_city: City
    founded_on: date = Field(strict=False)  # ISO text in JSON
    headcount: StrictInt = Field(ge=0, le=INT32_MAX)
    annual_revenue_fen: StrictInt = Field(ge=0, le=MAX_FEN)
    currency: Currency = "CNY"
    sector: Annotated[str, Field(min_length=1, max_length=100)]
    is_startup: StrictBool  # 0 or "no" is not an answer; pydantic's lax mode would take them
    related_parties: list[Party] = Field([], max_length=100)
    ownership: Literal["private", "state-owned", "government"] = "private"
    parent_id: Party | None = Field(None, description="the organisation that owns it, if any")
    beneficial_owners: list[Party] = Field(
        [], max_length=100, description="natural or legal persons who ultimately own it"
    )
