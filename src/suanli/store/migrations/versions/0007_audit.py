"""audit: the append-only, hash-chained audit log

Revision ID: 0007_audit
Revises: 0006_security
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from suanli.domain.audit import EMPTY, Actor, Draft, canonical, seal

revision = "0007_audit"
down_revision = "0006_security"
branch_labels = None
depends_on = None

# The log is append-only in the database itself, not only in the code: UPDATE, DELETE (and on
# PostgreSQL TRUNCATE) raise. Tampering then needs the table owner to drop the trigger first.
PG_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)
SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log"
    f" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb} refused'); END"
    for verb in ("UPDATE", "DELETE")
)


# Records made before the log: the first entry adopts them by id, so that verifying finds every
# transfer and decision accounted for (and the ids can no longer change unnoticed).
ADOPTED = (
    ("transfer", "ledger_transfers", None),
    ("application", "voucher_applications", "status in ('approved', 'rejected')"),
    ("claim", "purchase_claims", "status in ('approved', 'rejected')"),
)


def _adopt_existing() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())  # a fresh database: none of them yet
    adopted: dict[str, list[str]] = {}
    for kind, table, where in ADOPTED:
        if table not in present:
            continue
        sql = f"SELECT id FROM {table}" + (f" WHERE {where}" if where else "") + " ORDER BY id"
        adopted[kind] = [row[0] for row in bind.execute(sa.text(sql))]
    if not any(adopted.values()):
        return
    draft = Draft("audit.start", "log", revision, canonical({"adopted": adopted}))
    actor = Actor("system", "officer", None, "migration")
    (entry,) = seal([draft], EMPTY, datetime.now(UTC), actor, revision)
    columns = ("seq", "at", "actor_token_id", "actor_role", "actor_org_id", "actor_name",
               "action", "object_kind", "object_id", "request_id", "change", "change_digest",
               "prev_hash", "hash")  # fmt: skip
    log = sa.table("audit_log", *(sa.column(c) for c in columns))
    values = (entry.seq, entry.at, actor.token_id, actor.role, actor.org_id, actor.name,
              entry.action, entry.object_kind, entry.object_id, entry.request_id, entry.change,
              entry.change_digest, entry.prev_hash, entry.hash)  # fmt: skip
    bind.execute(log.insert().values(dict(zip(columns, values, strict=True))))


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_token_id", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("actor_org_id", sa.String(length=64), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_kind", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=250), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("change_digest", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_object", "audit_log", ["object_kind", "object_id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor_token_id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    _adopt_existing()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_log")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_append_only()")
