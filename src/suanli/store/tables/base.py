from __future__ import annotations

from sqlalchemy import JSON, BigInteger, MetaData
from sqlalchemy.dialects import postgresql, sqlite

# Stable constraint names so migrations are reproducible on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Money columns: 64-bit integers of minor units. SQLite's INTEGER is already 64-bit and
# only auto-increments as plain INTEGER, hence the variant.
Fen = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
Json = JSON().with_variant(postgresql.JSONB(), "postgresql")
