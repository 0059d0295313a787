"""Unit of work: one database transaction that the caller commits explicitly.

    with UnitOfWork(engine) as uow:
        offers.insert(uow.conn, ...)
        uow.commit()

Leaving the block without ``commit()`` rolls everything back, so a rejected request writes nothing.

Every commit that changed something first appends its audit entries (``audit``, drafted by the
use cases) to the log, in the same transaction: sequence, time, ``actor``, ``request_id``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Connection, Engine

from suanli.domain.audit import Actor, Draft, canonical
from suanli.store.audit_buffer import AuditBuffer
from suanli.store.repositories import audit as audit_repo

SYSTEM_ACTOR = Actor("system", "officer", None, "")  # the console and the demo act as the system


class UnitOfWork:
    def __init__(
        self, engine: Engine, *, read_only: bool = False, request_id: str | None = None
    ) -> None:
        self.engine = engine
        self.read_only = read_only
        # The request this work serves (an adapter sets it, e.g. from X-Request-Id), and who
        # acts: entries without an actor of their own (ledger transfers) are logged as this one.
        self.request_id = request_id or uuid.uuid4().hex
        self.actor: Actor | None = None
        self.audit = AuditBuffer()
        self._conn: Connection | None = None
        self._after_commit: list[Callable[[], None]] = []

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("UnitOfWork used outside its 'with' block")
        return self._conn

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __enter__(self) -> UnitOfWork:
        # The transaction begins with the first statement, so an unused unit of work holds no lock.
        if not self.read_only:
            AuditBuffer.watch_engine(self.engine)
        self._conn = self.engine.connect()
        if self.read_only:
            self._conn.execution_options(suanli_read_only=True)
        else:
            self.audit.watch(self._conn)
        return self

    def commit(self) -> None:
        self._append_audit()
        self.conn.commit()
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            hook()

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` once the work commits (e.g. to wake whoever waits for what it wrote);
        work rolled back calls nothing."""
        self._after_commit.append(hook)

    def _append_audit(self) -> None:
        drafts, changed = self.audit.take()
        if not changed:
            return  # nothing changed (a replay, a read): nothing to log
        if not drafts:
            tables = sorted(changed)
            drafts = [Draft("write", "tables", ",".join(tables), canonical({"tables": tables}))]
        # An entry that names no actor (a transfer) is the work's: its authenticated caller,
        # else whoever the operation's own entry names.
        named = [d.actor for d in drafts if d.actor is not None]
        actor = self.actor or (named[-1] if named else SYSTEM_ACTOR)
        audit_repo.append(self.conn, drafts, actor, self.request_id, datetime.now(UTC))

    def rollback(self) -> None:
        self._after_commit.clear()
        self.conn.rollback()

    def close(self) -> None:
        """Roll back what was not committed and give the connection back (with it, every lock
        the transaction held). Leaving the block afterwards does nothing more."""
        self.audit.take()  # drafts of work not committed are not logged
        self._after_commit.clear()
        if self._conn is None:
            return
        try:
            self._conn.rollback()  # undoes anything not committed; a no-op after commit()
        finally:
            self.audit.unwatch(self._conn)
            self._conn.close()
            self._conn = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
