"""ledger keys: one check a statement for a transfer's accounts and hold; open holds indexed alone

Revision ID: 0011_ledger_keys
Revises: 0002_ledger
Create Date: 2026-12-07 10:00:00

On PostgreSQL a foreign key is checked by a trigger that runs one query per row: a batch of
1,000 transfers ran 3,000 of them, half of the batch's INSERT (7.6 of 15.6 ms in EXPLAIN
ANALYZE). The same rules are kept by one check per statement over the rows it inserted:

- every inserted transfer names a debit and a credit account that exist, and its hold (if any);
- a transfer's id, accounts and hold never change (UPDATE of those refused);
- an account is never deleted, and its id never changes (what a foreign key's lock on the
  account guarded against: an account vanishing under a transfer being written);
- a DELETE may not leave a transfer whose hold is gone (the batch deletes only rows its own
  transaction inserted, which no other transaction can see, let alone reference).

SQLite checks foreign keys cheaply and keeps them. On both, open holds are indexed by timeout
alone and only while open: the index of every transfer's status was written for each posted one.
On PostgreSQL the uniqueness of a post's or void's hold is a partial unique index over the
transfers that resolve one (the others' empty ``pending_id`` was indexed for nothing, about a
tenth of a batch's INSERT).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_ledger_keys"
down_revision = "0002_ledger"  # the ledger's branch
branch_labels = None
depends_on = None

FOREIGN_KEYS = (  # name, column, referred table
    ("fk_ledger_transfers_debit_account_id_ledger_accounts", "debit_account_id",
     "ledger_accounts"),
    ("fk_ledger_transfers_credit_account_id_ledger_accounts", "credit_account_id",
     "ledger_accounts"),
    ("fk_ledger_transfers_pending_id_ledger_transfers", "pending_id", "ledger_transfers"),
)  # fmt: skip

PG_FUNCTIONS = (
    """
CREATE FUNCTION ledger_transfers_keys_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  missing text;
BEGIN
  SELECT n.id INTO missing FROM new_rows AS n
   WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts AS a WHERE a.id = n.debit_account_id)
      OR NOT EXISTS (SELECT 1 FROM ledger_accounts AS a WHERE a.id = n.credit_account_id)
      OR (n.pending_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ledger_transfers AS t WHERE t.id = n.pending_id))
   LIMIT 1;
  IF FOUND THEN
    RAISE foreign_key_violation USING TABLE = 'ledger_transfers',
      MESSAGE = format('transfer %s names an account or hold that does not exist', missing);
  END IF;
  RETURN NULL;
END $$
""",
    """
CREATE FUNCTION ledger_transfers_holds_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ledger_transfers AS t JOIN old_rows AS o ON t.pending_id = o.id) THEN
    RAISE foreign_key_violation USING TABLE = 'ledger_transfers',
      MESSAGE = 'a deleted transfer is the hold of a stored post or void';
  END IF;
  RETURN NULL;
END $$
""",
    """
CREATE FUNCTION ledger_keys_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE restrict_violation USING TABLE = TG_TABLE_NAME,
    MESSAGE = format('%s: ids and the accounts of transfers never change, accounts are kept',
                     TG_TABLE_NAME);
END $$
""",
)
PG_TRIGGERS = (
    "CREATE TRIGGER ledger_transfers_keys_exist AFTER INSERT ON ledger_transfers"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION ledger_transfers_keys_exist()",
    "CREATE TRIGGER ledger_transfers_holds_kept AFTER DELETE ON ledger_transfers"
    " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION ledger_transfers_holds_kept()",
    "CREATE TRIGGER ledger_transfers_keys_fixed BEFORE UPDATE ON ledger_transfers FOR EACH ROW"
    " WHEN (OLD.id IS DISTINCT FROM NEW.id"
    " OR OLD.debit_account_id IS DISTINCT FROM NEW.debit_account_id"
    " OR OLD.credit_account_id IS DISTINCT FROM NEW.credit_account_id"
    " OR OLD.pending_id IS DISTINCT FROM NEW.pending_id)"
    " EXECUTE FUNCTION ledger_keys_fixed()",
    "CREATE TRIGGER ledger_accounts_kept BEFORE DELETE ON ledger_accounts FOR EACH ROW"
    " EXECUTE FUNCTION ledger_keys_fixed()",
    "CREATE TRIGGER ledger_accounts_id_fixed BEFORE UPDATE ON ledger_accounts FOR EACH ROW"
    " WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION ledger_keys_fixed()",
)
PG_DROPS = (
    "DROP TRIGGER ledger_accounts_id_fixed ON ledger_accounts",
    "DROP TRIGGER ledger_accounts_kept ON ledger_accounts",
    "DROP TRIGGER ledger_transfers_keys_fixed ON ledger_transfers",
    "DROP TRIGGER ledger_transfers_holds_kept ON ledger_transfers",
    "DROP TRIGGER ledger_transfers_keys_exist ON ledger_transfers",
    "DROP FUNCTION ledger_keys_fixed()",
    "DROP FUNCTION ledger_transfers_holds_kept()",
    "DROP FUNCTION ledger_transfers_keys_exist()",
)
OPEN = sa.text("status = 'pending'")
PENDING_UNIQUE = "uq_ledger_transfers_pending_id"
RESOLVES = sa.text("pending_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_ledger_transfers_open_holds", table_name="ledger_transfers")
    op.create_index("ix_ledger_transfers_open_holds", "ledger_transfers", ["timeout_at"],
                    postgresql_where=OPEN, sqlite_where=OPEN)  # fmt: skip
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _column, _referred in FOREIGN_KEYS:
        op.drop_constraint(name, "ledger_transfers", type_="foreignkey")
    for statement in (*PG_FUNCTIONS, *PG_TRIGGERS):
        op.execute(statement)
    # One post or void a hold, as before; transfers that resolve no hold are not indexed.
    op.drop_constraint(PENDING_UNIQUE, "ledger_transfers", type_="unique")
    op.create_index(PENDING_UNIQUE, "ledger_transfers", ["pending_id"], unique=True,
                    postgresql_where=RESOLVES)  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(PENDING_UNIQUE, table_name="ledger_transfers")
        op.create_unique_constraint(PENDING_UNIQUE, "ledger_transfers", ["pending_id"])
        for statement in PG_DROPS:
            op.execute(statement)
        for name, column, referred in FOREIGN_KEYS:
            op.create_foreign_key(name, "ledger_transfers", referred, [column], ["id"])
    op.drop_index("ix_ledger_transfers_open_holds", table_name="ledger_transfers")
    op.create_index("ix_ledger_transfers_open_holds", "ledger_transfers", ["status", "timeout_at"])
