"""Failures of the environment, as one small hierarchy.

Business rejections (ineligible, over budget, insufficient funds) are *return values* carrying
reasons; they are not exceptions. Exceptions here mean the caller asked for something malformed
or the world failed underneath us.

    SuanliError
    ├── ValidationError      bad input; names the field; nothing was written
    │   └── CatalogError     a malformed catalog entry (row and field)
    ├── NotFoundError        a referenced record does not exist
    ├── PermissionDenied     the caller's role or organisation may not do this
    │   └── Unauthenticated  no usable credentials at all (HTTP 401 rather than 403)
    ├── ConflictError        an idempotency key reused with different content, or a stale lease
    ├── RuleEvaluationError  a program's rule cannot be evaluated on the facts given
    └── BackendError         a site scheduler, database or subprocess failed
        └── SchemaNotMigrated  the database has no schema, or an older one than the code's

The business rejections are ``suanli.rejection.Rejection``.
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


class CatalogError(ValidationError):
    """A malformed catalog entry; ``field`` names the row and the field."""


class Unauthenticated(PermissionDenied):
    """No usable credentials: answered with 401 rather than 403."""


class RuleEvaluationError(SuanliError):
    """A rule could not be evaluated on the facts given (missing fact, wrong type). The
    subsidy decision turns it into a failed check; it reaches a caller only from a dry run."""


class SchemaNotMigrated(BackendError):
    """The database was never migrated, or not to this code's newest revision."""

    def __init__(self, url: str) -> None:
        super().__init__(f"the database {url} has no schema or an old one: run `suanli db upgrade`")
        self.url = url
