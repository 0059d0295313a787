"""API tokens: shown once, stored as argon2 hashes, each bound to a role (and an organisation)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import insert, select, update

from suanli.domain.roles import ORG_BOUND_ROLES, Principal, Role
from suanli.errors import NotFoundError, PermissionDenied, ValidationError
from suanli.store.tables.foundation import api_tokens
from suanli.store.uow import UnitOfWork

_hasher = PasswordHasher()
TOKEN_PREFIX = "sl"


def create_token(uow: UnitOfWork, role: str, org_id: str | None, label: str = "") -> str:
    """Create a token and return its plain text; only the hash is stored."""
    try:
        role_enum = Role(role)
    except ValueError as exc:
        raise ValidationError("role", f"must be one of {', '.join(r.value for r in Role)}") from exc
    if role_enum in ORG_BOUND_ROLES and not org_id:
        raise ValidationError("org", f"a {role} token must be bound to an organisation")
    if role_enum not in ORG_BOUND_ROLES and org_id:
        raise ValidationError("org", f"a {role} token is not bound to an organisation")
    if org_id:
        _check_org_exists(uow, role_enum, org_id)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(24)
    uow.conn.execute(
        insert(api_tokens).values(
            id=token_id,
            secret_hash=_hasher.hash(secret),
            role=role_enum.value,
            org_id=org_id,
            label=label,
            created_at=datetime.now(UTC),
        )
    )
    return f"{TOKEN_PREFIX}_{token_id}_{secret}"


def _check_org_exists(uow: UnitOfWork, role: Role, org_id: str) -> None:
    from suanli.store.tables.foundation import providers, sites, tenants

    table = {Role.TENANT: tenants, Role.PROVIDER: providers, Role.AGENT: sites}[role]
    if uow.conn.execute(select(table.c.id).where(table.c.id == org_id)).first() is None:
        kind = {Role.TENANT: "tenant", Role.PROVIDER: "provider", Role.AGENT: "site"}[role]
        raise NotFoundError(kind, org_id)


def authenticate(uow: UnitOfWork, token: str) -> Principal:
    """Resolve a presented token to its principal, or raise PermissionDenied."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise PermissionDenied("malformed token")
    _, token_id, secret = parts
    row = uow.conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    if row is None or row.revoked_at is not None:
        raise PermissionDenied("unknown or revoked token")
    if not _verify(row.secret_hash, secret):
        raise PermissionDenied("unknown or revoked token")
    return Principal(Role(row.role), row.org_id, token_id)


@lru_cache(maxsize=1024)
def _verify(secret_hash: str, secret: str) -> bool:
    # Argon2 is deliberately slow; remember successful checks of the same (hash, secret) pair.
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerifyMismatchError, InvalidHashError):
        return False


def revoke_token(uow: UnitOfWork, token_id: str) -> None:
    result = uow.conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=datetime.now(UTC))
    )
    if result.rowcount == 0:
        raise NotFoundError("token", token_id)
