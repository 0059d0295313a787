"""Rows <-> records for the filed generative-AI services officers add."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from suanli.domain.filings import ModelFiling
from suanli.store.repositories.rows import row_by_id
from suanli.store.tables.filings import model_filings

_FIELDS = tuple(f.name for f in dataclasses.fields(ModelFiling))


def _record(row: Any) -> ModelFiling:
    return ModelFiling(**{name: row._mapping[name] for name in _FIELDS})


def get(conn: Connection, filing_number: str, *, lock: bool = False) -> ModelFiling | None:
    row = row_by_id(conn, model_filings, filing_number, key="filing_number", lock=lock)
    return None if row is None else _record(row)


def list_all(conn: Connection) -> list[ModelFiling]:
    stmt = select(model_filings).order_by(model_filings.c.filing_number)
    return [_record(row) for row in conn.execute(stmt)]


def add(conn: Connection, filing: ModelFiling, *, added_by: str, added_at: datetime) -> None:
    conn.execute(
        insert(model_filings).values(
            **dataclasses.asdict(filing), added_by=added_by, added_at=added_at
        )
    )
