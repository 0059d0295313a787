"""Failures of the environment, as one small hierarchy.

Business rejections (ineligible, over budget, insufficient funds) are *return values* carrying
reasons; they are not exceptions. Exceptions here mean the caller asked for something malformed
or the world failed underneath us.

    SuanliError
    ├── ValidationError      bad input; names the field; nothing was written
    ├── NotFoundError        a referenced record does not exist
    ├── PermissionDenied     the caller's role or organisation may not do this
    ├── ConflictError        an idempotency key reused with different content, or a stale lease
    └── BackendError         a site scheduler, database or subprocess failed
"""

from __future__ import annotations


class SuanliError(Exception):
    """Base of every error Suanli raises on purpose."""


class ValidationError(SuanliError):
    """Input is malformed. ``field`` names the offending field (dotted path or ``row N: field``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFoundError(SuanliError):
    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} not found: {key}")
        self.kind = kind
        self.key = key


class PermissionDenied(SuanliError):
    pass


class ConflictError(SuanliError):
    pass


class BackendError(SuanliError):
    pass
