"""What a unit of work will add to the audit log when it commits.

Use cases say what they did (a ``Draft``) as they do it; the drafts wait here and are chained
into the log right before the commit, in the same transaction, so a change and its entry
commit or roll back together and the chain's lock is the last one a transaction takes. A
savepoint rolled back takes its drafts with it, as a rollback takes them all.

The buffer also watches which tables the transaction actually changed. A transaction that
changed nothing (a retried create, a replayed report) logs nothing; one that changed rows
without saying what it did still gets an entry, naming the tables, so no change goes unlogged.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event

from suanli.domain.audit import Draft


class AuditBuffer:
    def __init__(self) -> None:
        self.drafts: list[Draft] = []
        self.changed: set[str] = set()
        self._marks: list[tuple[int, frozenset[str]]] = []

    def watch(self, conn: Connection) -> None:
        event.listen(conn, "after_execute", self._after_execute)
        event.listen(conn, "savepoint", self._savepoint)
        event.listen(conn, "rollback_savepoint", self._rollback_savepoint)
        event.listen(conn, "release_savepoint", self._release_savepoint)
        event.listen(conn, "rollback", self._rollback)

    def add(self, draft: Draft) -> None:
        self.drafts.append(draft)

    def take(self) -> tuple[list[Draft], set[str]]:
        """The drafts and the changed tables so far; the buffer starts afresh."""
        drafts, changed = self.drafts, self.changed
        self.drafts, self.changed, self._marks = [], set(), []
        return drafts, changed

    def _after_execute(self, _conn: Any, clause: Any, *_args: Any) -> None:
        result = _args[-1]
        if getattr(clause, "is_dml", False) and getattr(result, "rowcount", -1) != 0:
            table = getattr(clause, "table", None)
            self.changed.add(str(getattr(table, "name", "?")))

    def _savepoint(self, _conn: Any, _name: Any) -> None:
        self._marks.append((len(self.drafts), frozenset(self.changed)))

    def _rollback_savepoint(self, _conn: Any, _name: Any, _context: Any) -> None:
        if self._marks:
            count, changed = self._marks.pop()
            del self.drafts[count:]
            self.changed = set(changed)

    def _release_savepoint(self, _conn: Any, _name: Any, _context: Any) -> None:
        if self._marks:
            self._marks.pop()

    def _rollback(self, _conn: Any) -> None:
        self.take()
