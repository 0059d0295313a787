"""Rows of ``api_tokens``: stored digests, holders, expiry and revocation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from suanli.store.tables.foundation import api_tokens


def add(
    conn: Connection, *, token_id: str, digest: str, role: str, org_id: str | None, name: str,
    label: str, created_at: datetime, expires_at: datetime,
) -> None:  # fmt: skip
    conn.execute(
        insert(api_tokens).values(
            id=token_id,
            secret_hash=digest,
            role=role,
            org_id=org_id,
            name=name,
            label=label,
            created_at=created_at,
            expires_at=expires_at,
        )  # fmt: skip
    )


def get(conn: Connection, token_id: str) -> Any:
    """The token's row, or None."""
    return conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()


def all_rows(conn: Connection) -> list[Any]:
    stmt = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
    return list(conn.execute(stmt))


def set_digest(conn: Connection, token_id: str, digest: str) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(secret_hash=digest))


def revoke(conn: Connection, token_id: str, at: datetime) -> None:
    """Mark revoked; a token revoked before keeps its first time."""
    conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )


def org_exists(conn: Connection, table: Any, org_id: str) -> bool:
    return conn.execute(select(table.c.id).where(table.c.id == org_id)).first() is not None
