"""All tables, on one MetaData. Each area keeps its tables in its own module."""

from suanli.store.tables import (
    audit,  # noqa: F401
    compliance,  # noqa: F401
    exchange,  # noqa: F401
    filings,  # noqa: F401
    foundation,  # noqa: F401  (registers tables)
    ledger,  # noqa: F401
    runs,  # noqa: F401
    vouchers,  # noqa: F401
)
from suanli.store.tables.base import metadata

__all__ = ["metadata"]
