"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from suanli.store.migrate import alembic_config, current_heads
from suanli.store.tables import metadata
from suanli.store.tables.ledger import KEPT_OTHERWISE_ON_POSTGRESQL


def test_schema_matches_tables(engine: Engine) -> None:
    def declared(obj: object, name: str | None, type_: str, *_: object) -> bool:
        # PostgreSQL keeps these otherwise (tested in test_ledger_keys).
        return not (engine.dialect.name == "postgresql" and name in KEPT_OTHERWISE_ON_POSTGRESQL)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": declared})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_database_is_at_every_head(engine: Engine) -> None:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    assert current_heads(engine) == heads
