"""Reads of ``runs`` and ``run_usage`` that are not one run's: the settled runs of a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from suanli.store.tables.runs import run_usage, runs


def settled_between(
    conn: Connection, start: datetime, end: datetime, *, tenant_id: str | None = None,
    provider_id: str | None = None,
) -> list[Any]:  # fmt: skip
    """Runs settled and finished in [start, end), oldest first, each with its metered
    accelerator-seconds (``accelerator_seconds``)."""
    used = (
        select(run_usage.c.run_id, func.sum(run_usage.c.accelerator_seconds).label("acc_s"))
        .group_by(run_usage.c.run_id)
        .subquery()
    )
    stmt = (
        select(runs, func.coalesce(used.c.acc_s, 0).label("accelerator_seconds"))
        .outerjoin(used, used.c.run_id == runs.c.id)
        .where(runs.c.settled_at.is_not(None))
        .where(runs.c.finished_at >= start, runs.c.finished_at < end)
        .order_by(runs.c.finished_at, runs.c.id)
    )
    if tenant_id is not None:
        stmt = stmt.where(runs.c.tenant_id == tenant_id)
    if provider_id is not None:
        stmt = stmt.where(runs.c.provider_id == provider_id)
    return list(conn.execute(stmt))
