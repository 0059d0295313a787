"""Create, list, update and retire providers, sites, offers and tenants.

Creates are idempotent by id: the same record again returns the stored one; a different record
under an existing id is a conflict. Who may touch what is checked here, once, for every entrypoint.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from suanli.domain.registry import Offer, Provider, Site, Tenant
from suanli.domain.roles import Principal, Role
from suanli.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from suanli.services.catalog import load_catalog
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


def _check_read(uow: UnitOfWork, who: Principal, record: Any) -> None:
    # Offers, sites and providers are public market data; tenants' facts are private.
    if isinstance(record, Tenant) and not who.can_read_org(record.id):
        raise PermissionDenied(f"{who.role} may not read tenant {record.id}")


def _validate(uow: UnitOfWork, record: Record) -> Record:
    if isinstance(record, Tenant):
        record.validate(today=date.today())
    else:
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
        if repo.get(uow.conn, Site, record.site_id) is None:
            raise ValidationError("site_id", f"unknown site {record.site_id!r}")
    return record


def create(uow: UnitOfWork, who: Principal, record: Record) -> Record:
    record = _validate(uow, record)
    _check_write(uow, who, record)
    existing = repo.get(uow.conn, type(record), record.id)
    if existing is not None:
        if dataclasses.replace(existing, retired_at=None) == record:
            return existing  # a retry of the same create
        raise ConflictError(f"{KIND_NAMES[type(record)]} {record.id} exists with other content")
    repo.add(uow.conn, record)
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
    if kind is Tenant and who.role not in (Role.OFFICER, Role.REVIEWER, Role.AUDITOR):
        where = {**where, "id": who.org_id or "\x00"}
    return repo.list_all(uow.conn, kind, include_retired=include_retired, **where)


def update(
    uow: UnitOfWork, who: Principal, kind: type[Record], record_id: str, changes: dict[str, Any]
) -> Record:
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
    updated = _validate(uow, dataclasses.replace(current, **changes))
    _check_write(uow, who, updated)
    if updated != current:
        repo.replace(uow.conn, updated)
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
    uow.commit()
    return retired
