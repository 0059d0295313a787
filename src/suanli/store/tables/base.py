from __future__ import annotations

from sqlalchemy import JSON, BigInteger, MetaData, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

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

# Identifiers (a ledger account's or transfer's id) compared byte by byte on PostgreSQL
# (COLLATE "C"), whatever the database's language: a database created with C.UTF-8 or en_US
# compared them through the C library's collation, a fifth to a third of a ledger batch's
# INSERT (migration 0013_ledger_id_collation). UTF-8's byte order is code point order, as
# Python sorts ids. SQLite compares bytes already.
LEDGER_ID_CHARS = 128


def ledger_id() -> TypeEngine[str]:
    return String(LEDGER_ID_CHARS).with_variant(
        postgresql.VARCHAR(LEDGER_ID_CHARS, collation="C"), "postgresql"
    )
