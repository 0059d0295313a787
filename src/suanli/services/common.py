"""What every use case shares: the time, who acts for whom, and the checks of a decision."""

from __future__ import annotations

from datetime import UTC, datetime

from suanli.domain.registry import Tenant
from suanli.domain.roles import READ_ALL_ROLES, Principal, Role
from suanli.domain.vouchers import Status
from suanli.errors import PermissionDenied, ValidationError
from suanli.ledger.rules import valid_amount
from suanli.store.repositories import registry as registry_repo
from suanli.store.uow import UnitOfWork


def aware_now(now: datetime | None = None) -> datetime:
    """Now in UTC, or the caller's time if it carries a zone (tests, replays)."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValidationError("now", "must be timezone-aware")
    return now


def positive_fen(field: str, value: object) -> int:
    """A positive whole amount of minor units: the ledger's own check (``valid_amount``)."""
    return valid_amount(field, value)


def acting_for(who: Principal, org_id: str, what: str) -> None:
    """Tenants act only for themselves; officers for anyone; no one else writes here."""
    if who.role == Role.OFFICER or (who.role == Role.TENANT and who.org_id == org_id):
        return
    raise PermissionDenied(f"{who.role} may not {what} for {org_id}")


def registered_tenant(uow: UnitOfWork, tenant_id: str, field: str) -> Tenant:
    tenant = registry_repo.get(uow.conn, Tenant, tenant_id)
    if tenant is None or tenant.retired_at is not None:
        raise ValidationError(field, f"unknown tenant {tenant_id!r}")
    return tenant


def check_decision(decision: str, amount_fen: int | None, reason: str) -> None:
    if decision not in ("approve", "reject"):
        raise ValidationError("decision", "must be 'approve' or 'reject'")
    if decision == "approve" and amount_fen is not None:
        positive_fen("amount_fen", amount_fen)
    if decision == "reject" and not reason.strip():
        raise ValidationError("reason", "a rejection needs a reason")


def same_decision(
    status: Status, approved_fen: int | None, stored_reason: str, decision: str,
    amount_fen: int | None, reason: str,
) -> bool:  # fmt: skip
    if decision == "approve":
        return status is Status.APPROVED and amount_fen in (None, approved_fen)
    return status is Status.REJECTED and stored_reason == reason.strip()


def tenant_scope(who: Principal, tenant_id: str | None) -> str | None:
    """Tenants see only their own records, whatever they ask for."""
    if who.role in READ_ALL_ROLES:
        return tenant_id
    if tenant_id not in (None, who.org_id):
        raise PermissionDenied(f"{who.role} may not read records of {tenant_id}")
    return who.org_id or "\x00"
