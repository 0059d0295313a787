"""Create, list, update and retire providers, sites, offers and tenants.

Creates are idempotent by id: the same record again returns the stored one; a different record
under an existing id is a conflict. Who may touch what is checked here, once, for every entrypoint.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from suanli.domain.registry import (
    REVIEWED_TENANT_FACTS,
    Offer,
    Provider,
    Site,
    Tenant,
    TenantProposal,
)
from suanli.domain.roles import Principal, Role
from suanli.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from suanli.services import audit
from suanli.services.catalog import load_catalog, load_systems
from suanli.store.repositories import registry as repo
from suanli.store.uow import UnitOfWork

Record = TypeVar("Record", Provider, Site, Offer, Tenant)
KIND_NAMES: dict[type[Any], str] = {
    Provider: "provider",
    Site: "site",
    Offer: "offer",
    Tenant: "tenant",
}


def owner_of(uow: UnitOfWork, record: Any) -> str:
    """The organisation that owns a record: a provider for sites and offers, else itself."""
    if isinstance(record, Provider | Tenant):
        return str(record.id)
    if isinstance(record, Site):
        return record.provider_id
    site = repo.get(uow.conn, Site, record.site_id)
    if site is None:
        raise NotFoundError("site", record.site_id)
    return site.provider_id


def _check_write(uow: UnitOfWork, who: Principal, record: Any) -> None:
    if isinstance(record, Tenant):
        allowed = who.role == Role.OFFICER or (who.role == Role.TENANT and who.org_id == record.id)
    else:
        allowed = who.role == Role.OFFICER or (
            who.role == Role.PROVIDER and who.org_id == owner_of(uow, record)
        )
    if not allowed:
        raise PermissionDenied(f"{who.role} may not change {KIND_NAMES[type(record)]} {record.id}")


def _reads_tenants(who: Principal, tenant_id: str | None = None) -> bool:
    """Read-all roles, and a tenant its own record; never a provider or an agent, whose
    organisation id may happen to equal a tenant's."""
    if who.role in (Role.OFFICER, Role.REVIEWER, Role.AUDITOR):
        return True
    return who.role is Role.TENANT and (tenant_id is None or who.org_id == tenant_id)


def _check_read(uow: UnitOfWork, who: Principal, record: Any) -> None:
    # Offers, sites and providers are public market data; tenants' facts are private.
    if isinstance(record, Tenant) and not _reads_tenants(who, record.id):
        raise PermissionDenied(f"{who.role} may not read tenant {record.id}")


def _validate(uow: UnitOfWork, record: Record) -> Record:
    if isinstance(record, Tenant):
        record.validate(today=date.today())
    elif not isinstance(record, Offer):  # an offer is validated once its system is resolved
        record.validate()
    if isinstance(record, Site) and repo.get(uow.conn, Provider, record.provider_id) is None:
        raise ValidationError("provider_id", f"unknown provider {record.provider_id!r}")
    if isinstance(record, Offer):
        if load_catalog().find(record.accelerator_id) is None:
            raise ValidationError(
                "accelerator_id", f"unknown accelerator model {record.accelerator_id!r}"
            )
        # Store the canonical catalog id, whatever alias the caller used.
        record = dataclasses.replace(
            record, accelerator_id=load_catalog().get(record.accelerator_id).id
        )
        record = _with_system(record).validate()
        if repo.get(uow.conn, Site, record.site_id) is None:
            raise ValidationError("site_id", f"unknown site {record.site_id!r}")
    return record


def _with_system(offer: Offer) -> Offer:
    """The offer with its system's canonical id and chip count from the catalog (None for an
    offer naming no system); the system must be built of the offer's chip."""
    if offer.system_id is None:
        return dataclasses.replace(offer, chips_per_system=None)
    system = load_systems().find(offer.system_id)
    if system is None:
        raise ValidationError("system_id", f"unknown system {offer.system_id!r}")
    if system.chip_id != offer.accelerator_id:
        raise ValidationError(
            "accelerator_id",
            f"system {system.id} is built of {system.chip_id}, not {offer.accelerator_id}",
        )
    return dataclasses.replace(offer, system_id=system.id, chips_per_system=system.chips)


def create(uow: UnitOfWork, who: Principal, record: Record) -> Record:
    record = _validate(uow, record)
    _check_write(uow, who, record)
    existing = repo.get(uow.conn, type(record), record.id)
    if existing is not None:
        if dataclasses.replace(existing, retired_at=None) == record:
            return existing  # a retry of the same create
        raise ConflictError(f"{KIND_NAMES[type(record)]} {record.id} exists with other content")
    repo.add(uow.conn, record)
    kind = KIND_NAMES[type(record)]
    audit.record(uow, who, f"{kind}.create", kind, record.id, dataclasses.asdict(record))
    uow.commit()
    return record


def get(uow: UnitOfWork, who: Principal, kind: type[Record], record_id: str) -> Record:
    record = repo.get(uow.conn, kind, record_id)
    if record is None:
        raise NotFoundError(KIND_NAMES[kind], record_id)
    _check_read(uow, who, record)
    return record


def list_records(
    uow: UnitOfWork,
    who: Principal,
    kind: type[Record],
    *,
    include_retired: bool = False,
    **where: Any,
) -> list[Record]:
    if kind is Tenant and not _reads_tenants(who):
        raise PermissionDenied(f"{who.role} may not list tenants")
    if kind is Tenant and who.role is Role.TENANT:
        where = {**where, "id": who.org_id or "\x00"}
    return repo.list_all(uow.conn, kind, include_retired=include_retired, **where)


def amend(
    uow: UnitOfWork, who: Principal, kind: type[Record], record_id: str, changes: dict[str, Any]
) -> Record:
    """Change a record. A tenant's changes to the facts programs judge it by (its city, age,
    size, revenue, sector, start-up status, related parties, parent and beneficial owners)
    are kept as a proposal for a reviewer to confirm; the rest apply at once. A provider's
    ownership (related parties, parent, beneficial owners) is an officer's to change."""
    current = repo.get(uow.conn, kind, record_id, lock=True)
    if current is None:
        raise NotFoundError(KIND_NAMES[kind], record_id)
    _check_write(uow, who, current)
    if current.retired_at is not None:
        raise ConflictError(f"{KIND_NAMES[kind]} {record_id} is retired")
    for name in ("id", "retired_at", "provider_id", "site_id"):
        if name in changes and changes[name] != getattr(current, name, changes[name]):
            raise ValidationError(name, "cannot be changed")
    unknown = set(changes) - {f.name for f in dataclasses.fields(kind)}
    if unknown:
        raise ValidationError(sorted(unknown)[0], "unknown field")
    if isinstance(current, Provider) and who.role is Role.PROVIDER:
        _check_provider_facts(current, changes)
    proposed = None
    if isinstance(current, Tenant) and who.role is Role.TENANT:
        proposed, changes = _proposal(uow, who, current, changes)
    updated = _validate(uow, dataclasses.replace(current, **changes))
    _check_write(uow, who, updated)
    if proposed is not None:
        repo.put_proposal(uow.conn, proposed)
    if updated != current:
        repo.replace(uow.conn, updated)
    if proposed is not None or updated != current:
        change = {"changes": changes, "proposed": dict(proposed.facts) if proposed else None}
        audit.record(uow, who, f"{KIND_NAMES[kind]}.update", KIND_NAMES[kind], record_id, change)
        uow.commit()
    return updated


def retire(uow: UnitOfWork, who: Principal, kind: type[Record], record_id: str) -> Record:
    """Retire a record: it stays for history, leaves listings, and takes no new business."""
    current = repo.get(uow.conn, kind, record_id, lock=True)
    if current is None:
        raise NotFoundError(KIND_NAMES[kind], record_id)
    _check_write(uow, who, current)
    if current.retired_at is not None:
        return current  # retiring twice is a no-op
    retired = dataclasses.replace(current, retired_at=datetime.now(UTC))
    repo.replace(uow.conn, retired)
    audit.record(uow, who, f"{KIND_NAMES[kind]}.retire", KIND_NAMES[kind], record_id)
    uow.commit()
    return retired


# A tenant's proposed facts: kept aside until an officer or reviewer confirms or rejects them.

FACT_REVIEWERS = frozenset({Role.OFFICER, Role.REVIEWER})


# Programs refuse to pay a tenant's affiliates by these: a provider does not edit them.
PROVIDER_OWNERSHIP = ("related_parties", "parent_id", "beneficial_owners")


def _check_provider_facts(current: Provider, changes: dict[str, Any]) -> None:
    for name in PROVIDER_OWNERSHIP:
        old = getattr(current, name)
        new = changes.get(name, old)
        if (tuple(new) if isinstance(old, tuple) else new) != old:
            raise PermissionDenied(f"{name}: only an officer changes a provider's")


def _proposal(
    uow: UnitOfWork, who: Principal, current: Tenant, changes: dict[str, Any]
) -> tuple[TenantProposal | None, dict[str, Any]]:
    """The reviewed facts that would change, as a proposal (None if none would), and the
    other changes, which apply at once."""
    others = {k: v for k, v in changes.items() if k not in REVIEWED_TENANT_FACTS}
    facts = {k: v for k, v in changes.items() if k in REVIEWED_TENANT_FACTS}
    proposed = {k: v for k, v in facts.items() if getattr(current, k) != v}
    if not proposed:
        return None, others
    # Validated now, as the record it would become, so a reviewer never confirms bad data.
    _validate(uow, dataclasses.replace(current, **proposed))
    as_json: dict[str, Any] = {}
    for key, value in proposed.items():
        as_json[key] = (list(value) if isinstance(value, tuple)
                        else value.isoformat() if isinstance(value, date) else value)  # fmt: skip
    return TenantProposal(current.id, as_json, who.describe(), datetime.now(UTC)), others


def proposal(uow: UnitOfWork, who: Principal, tenant_id: str) -> TenantProposal | None:
    """The tenant's open proposal, if any (the tenant itself and read-all roles)."""
    get(uow, who, Tenant, tenant_id)  # exists, and the caller may read it
    return repo.get_proposal(uow.conn, tenant_id)


def decide_proposal(uow: UnitOfWork, who: Principal, tenant_id: str, *, confirm: bool) -> Tenant:
    """Confirm (apply) or reject the tenant's proposal; returns the tenant as it now stands."""
    if who.role not in FACT_REVIEWERS:
        raise PermissionDenied(f"{who.role} may not decide on a tenant's facts")
    current = repo.get(uow.conn, Tenant, tenant_id, lock=True)
    if current is None:
        raise NotFoundError("tenant", tenant_id)
    found = repo.get_proposal(uow.conn, tenant_id, lock=True)
    if found is None:
        raise NotFoundError("proposal", tenant_id)
    updated = current
    if confirm:
        updated = _validate(uow, found.applied_to(current))
        repo.replace(uow.conn, updated)
    repo.drop_proposal(uow.conn, tenant_id)
    audit.record(uow, who, "tenant.proposal." + ("confirm" if confirm else "reject"), "tenant",
                 tenant_id, {"facts": dict(found.facts)})  # fmt: skip
    uow.commit()
    return updated
