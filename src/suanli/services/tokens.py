"""API tokens: a high-entropy secret shown once, stored as a SHA-256 digest, bound to a role.

A token reads ``sl_<id>_<secret>``: 8 random bytes of id and 24 of secret (192 bits). A secret
that random needs no password hash: a slow hash (argon2) only made every guess cost the server
64 MiB and 200 ms, an unauthenticated denial of service. The digest is compared in constant
time, and an unknown id is compared against a dummy digest, so an unknown id and a wrong secret
cost the same work and answer alike.

Tokens expire (``DEFAULT_TTL_DAYS`` unless the creator says otherwise) and can be revoked. A
token made before digests were used holds an argon2 hash; it is checked that way once and its
digest stored in its place.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from suanli.domain.roles import ORG_BOUND_ROLES, Principal, Role
from suanli.errors import NotFoundError, PermissionDenied, ValidationError
from suanli.services import audit
from suanli.store.db import as_utc
from suanli.store.repositories import tokens as repo
from suanli.store.uow import UnitOfWork

TOKEN_PREFIX = "sl"
DIGEST_PREFIX = "sha256$"
DEFAULT_TTL_DAYS = 90
MAX_TTL_DAYS = 3650
MAX_TOKEN_CHARS = 200
_DUMMY = DIGEST_PREFIX + "0" * 64


def digest(secret: str) -> str:
    """The stored form of a secret. Domain-separated so the digest is of no use elsewhere."""
    value = hashlib.sha256(b"suanli-api-token-v1\x00" + secret.encode("utf-8", "replace"))
    return DIGEST_PREFIX + value.hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: everything but its secret."""

    id: str
    role: str
    org_id: str | None
    name: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def _lifetime(expires_days: int | None) -> timedelta:
    days = DEFAULT_TTL_DAYS if expires_days is None else expires_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TTL_DAYS:
        raise ValidationError(
            "expires_days", f"must be a whole number of days, 1 to {MAX_TTL_DAYS}"
        )
    return timedelta(days=days)


def create_token(
    uow: UnitOfWork,
    role: str,
    org_id: str | None,
    label: str = "",
    *,
    name: str = "",
    expires_days: int | None = None,
    now: datetime | None = None,
) -> str:
    """Create a token and return its plain text; only the digest is stored. ``name`` is the
    person or service it is for, shown where its decisions are (``decided_by``)."""
    try:
        role_enum = Role(role)
    except ValueError as exc:
        raise ValidationError("role", f"must be one of {', '.join(r.value for r in Role)}") from exc
    if role_enum in ORG_BOUND_ROLES and not org_id:
        raise ValidationError("org", f"a {role} token must be bound to an organisation")
    if role_enum not in ORG_BOUND_ROLES and org_id:
        raise ValidationError("org", f"a {role} token is not bound to an organisation")
    for field_name, value in (("name", name), ("label", label)):
        if len(value) > 200:
            raise ValidationError(field_name, "at most 200 characters")
    if org_id:
        _check_org_exists(uow, role_enum, org_id)
    now = now or datetime.now(UTC)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(24)
    repo.add(
        uow.conn, token_id=token_id, digest=digest(secret), role=role_enum.value, org_id=org_id,
        name=name, label=label, created_at=now, expires_at=now + _lifetime(expires_days),
    )  # fmt: skip
    audit.record(uow, None, "token.create", "token", token_id,
                 {"role": role_enum.value, "org_id": org_id, "name": name, "label": label,
                  "expires_at": now + _lifetime(expires_days)})  # fmt: skip
    return f"{TOKEN_PREFIX}_{token_id}_{secret}"


def _check_org_exists(uow: UnitOfWork, role: Role, org_id: str) -> None:
    from suanli.store.tables.foundation import providers, sites, tenants

    table = {Role.TENANT: tenants, Role.PROVIDER: providers, Role.AGENT: sites}[role]
    if not repo.org_exists(uow.conn, table, org_id):
        kind = {Role.TENANT: "tenant", Role.PROVIDER: "provider", Role.AGENT: "site"}[role]
        raise NotFoundError(kind, org_id)


def _split(token: str) -> tuple[str, str] | None:
    if len(token) > MAX_TOKEN_CHARS:
        return None
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def authenticate(uow: UnitOfWork, token: str, *, now: datetime | None = None) -> Principal:
    """Resolve a presented token to its principal, or raise PermissionDenied.

    One indexed read and one SHA-256 whatever is presented; every refusal says the same."""
    parts = _split(token)
    token_id, secret = parts if parts else ("", "")
    row = None
    if parts is not None:
        row = repo.get(uow.conn, token_id)
    stored = row.secret_hash if row is not None else _DUMMY
    presented = digest(secret)
    if stored.startswith(DIGEST_PREFIX):
        matches = hmac.compare_digest(stored.encode(), presented.encode())
    else:
        matches = _legacy_matches(uow, token_id, stored, secret, presented)
    now = now or datetime.now(UTC)
    expires = as_utc(row.expires_at) if row is not None else None
    if (
        row is None
        or not matches
        or row.revoked_at is not None
        or (expires is not None and expires <= now)
    ):
        raise PermissionDenied("unknown, expired or revoked token")
    return Principal(Role(row.role), row.org_id, token_id, row.name or "")


def _legacy_matches(
    uow: UnitOfWork, token_id: str, stored: str, secret: str, presented: str
) -> bool:
    """An argon2 hash from before digests: check it once, then store the digest instead."""
    try:
        PasswordHasher().verify(stored, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    # Authentication is the first thing a unit of work does, so this commit holds only the
    # new digest, whatever the request goes on to do (or fail to do).
    repo.set_digest(uow.conn, token_id, presented)
    audit.record(uow, None, "token.rehash", "token", token_id)
    uow.commit()
    return True


def _info(r: Any) -> TokenInfo:
    return TokenInfo(
        r.id, r.role, r.org_id, r.name or "", r.label, as_utc(r.created_at),
        as_utc(r.expires_at), as_utc(r.revoked_at),
    )  # fmt: skip


def list_tokens(uow: UnitOfWork, *, include_ended: bool = False) -> list[TokenInfo]:
    """Tokens, oldest first; by default only those that still admit their holder."""
    now = datetime.now(UTC)
    infos = [_info(r) for r in repo.all_rows(uow.conn)]
    return [t for t in infos if include_ended or t.state(now) == "active"]


def get_token(uow: UnitOfWork, token_id: str) -> TokenInfo:
    row = repo.get(uow.conn, token_id)
    if row is None:
        raise NotFoundError("token", token_id)
    return _info(row)


def revoke_token(uow: UnitOfWork, token_id: str, *, now: datetime | None = None) -> TokenInfo:
    """Revoke a token; revoking it again keeps the first time."""
    now = now or datetime.now(UTC)
    repo.revoke(uow.conn, token_id, now)
    audit.record(uow, None, "token.revoke", "token", token_id, {"revoked_at": now})
    return get_token(uow, token_id)


# Use cases for the API and the CLI: who may manage tokens, and the commit.

TOKEN_ADMINS = frozenset({Role.OFFICER})
TOKEN_READERS = frozenset({Role.OFFICER, Role.AUDITOR})


def issue(
    uow: UnitOfWork,
    who: Principal,
    role: str,
    org_id: str | None,
    *,
    name: str = "",
    label: str = "",
    expires_days: int | None = None,
) -> tuple[str, TokenInfo]:
    """An officer makes a token for someone; the plain text is returned once."""
    if who.role not in TOKEN_ADMINS:
        raise PermissionDenied(f"{who.role} may not create tokens")
    token = create_token(uow, role, org_id, label, name=name, expires_days=expires_days)
    uow.commit()
    return token, get_token(uow, token.split("_", 2)[1])


def revoke(uow: UnitOfWork, who: Principal, token_id: str) -> TokenInfo:
    if who.role not in TOKEN_ADMINS:
        raise PermissionDenied(f"{who.role} may not revoke tokens")
    info = revoke_token(uow, token_id)
    uow.commit()
    return info


def listed(uow: UnitOfWork, who: Principal, *, include_ended: bool = False) -> list[TokenInfo]:
    if who.role not in TOKEN_READERS:
        raise PermissionDenied(f"{who.role} may not list tokens")
    return list_tokens(uow, include_ended=include_ended)
