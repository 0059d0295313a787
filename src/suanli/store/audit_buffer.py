"""What a unit of work will add to the audit log when it commits.

Use cases say what they did (a ``Draft``) as they do it; the drafts wait here and are chained
into the log right before the commit, in the same transaction, so a change and its entry
commit or roll back together and the chain's lock is the last one a transaction takes. A
savepoint rolled back takes its drafts with it, as a rollback takes them all.

The buffer also watches which tables the transaction actually changed. A transaction that
changed nothing (a retried create, a replayed report) logs nothing; one that changed rows
without saying what it did still gets an entry, naming the tables, so no change goes unlogged.

The engine's events are listened to once per engine (listening per connection costs more than
a transfer's statements); each event finds the buffer of the unit of work that holds the
connection, if any, in the connection's ``info``.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Connection, Engine, event

from suanli.domain.audit import Draft

_INFO_KEY = "suanli_audit_buffer"
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


class AuditBuffer:
    def __init__(self) -> None:
        self.drafts: list[Draft] = []
        self.changed: set[str] = set()
        self._marks: list[tuple[int, frozenset[str]]] = []

    @staticmethod
    def watch_engine(engine: Engine) -> None:
        """Listen to ``engine``'s events; before its connection is made, which reads them."""
        if engine not in _watched:
            for name, listener in _LISTENERS.items():
                event.listen(engine, name, listener)
            _watched.add(engine)

    def watch(self, conn: Connection) -> None:
        """Follow ``conn``'s statements and savepoints until ``unwatch``."""
        conn.info[_INFO_KEY] = self

    @staticmethod
    def unwatch(conn: Connection) -> None:
        conn.info.pop(_INFO_KEY, None)

    def add(self, draft: Draft) -> None:
        self.drafts.append(draft)

    def take(self) -> tuple[list[Draft], set[str]]:
        """The drafts and the changed tables so far; the buffer starts afresh."""
        drafts, changed = self.drafts, self.changed
        self.drafts, self.changed, self._marks = [], set(), []
        return drafts, changed

    def executed(self, clause: Any, result: Any) -> None:
        if getattr(clause, "is_dml", False) and getattr(result, "rowcount", -1) != 0:
            table = getattr(clause, "table", None)
            self.changed.add(str(getattr(table, "name", "?")))

    def savepoint(self) -> None:
        self._marks.append((len(self.drafts), frozenset(self.changed)))

    def rollback_savepoint(self) -> None:
        if self._marks:
            count, changed = self._marks.pop()
            del self.drafts[count:]
            self.changed = set(changed)

    def release_savepoint(self) -> None:
        if self._marks:
            self._marks.pop()


def _buffer(conn: Connection) -> AuditBuffer | None:
    found: AuditBuffer | None = conn.info.get(_INFO_KEY)
    return found


def wrote(conn: Connection, table: str) -> None:
    """Count ``table`` changed by a statement sent to the driver directly (``exec_driver_sql``
    fires no ``after_execute``): the ledger batch's writes."""
    if (buffer := _buffer(conn)) is not None:
        buffer.changed.add(table)


def _after_execute(conn: Connection, clause: Any, *args: Any) -> None:
    if (buffer := _buffer(conn)) is not None:
        buffer.executed(clause, args[-1])


def _savepoint(conn: Connection, _name: Any) -> None:
    if (buffer := _buffer(conn)) is not None:
        buffer.savepoint()


def _rollback_savepoint(conn: Connection, _name: Any, _context: Any) -> None:
    if (buffer := _buffer(conn)) is not None:
        buffer.rollback_savepoint()


def _release_savepoint(conn: Connection, _name: Any, _context: Any) -> None:
    if (buffer := _buffer(conn)) is not None:
        buffer.release_savepoint()


def _rollback(conn: Connection) -> None:
    if (buffer := _buffer(conn)) is not None:
        buffer.take()


_LISTENERS: dict[str, Any] = {
    "after_execute": _after_execute,
    "savepoint": _savepoint,
    "rollback_savepoint": _rollback_savepoint,
    "release_savepoint": _release_savepoint,
    "rollback": _rollback,
}
