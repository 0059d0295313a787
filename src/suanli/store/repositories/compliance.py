"""Officers' decisions on compliance flags: appended, never changed; the latest one for an
(offer, rule) is in force."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from suanli.domain.compliance import Decision
from suanli.store.db import as_utc
from suanli.store.tables.compliance import compliance_decisions as table


def latest(conn: Connection) -> dict[tuple[str, str], Decision]:
    """(offer id, rule id) -> the decision in force."""
    out: dict[tuple[str, str], Decision] = {}
    for row in conn.execute(select(table).order_by(table.c.seq)):
        out[(row.offer_id, row.rule_id)] = Decision(
            row.offer_id, row.rule_id, row.decision, row.reason, row.decided_by,
            as_utc(row.decided_at),
        )  # fmt: skip
    return out


def add(conn: Connection, decision: Decision) -> None:
    conn.execute(
        insert(table).values(
            offer_id=decision.offer_id,
            rule_id=decision.rule_id,
            decision=decision.decision,
            reason=decision.reason,
            decided_by=decision.decided_by,
            decided_at=decision.decided_at,
        )  # fmt: skip
    )
