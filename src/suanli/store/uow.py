"""Unit of work: one database transaction that the caller commits explicitly.

    with UnitOfWork(engine) as uow:
        offers.insert(uow.conn, ...)
        uow.commit()

Leaving the block without ``commit()`` rolls everything back, so a rejected request writes nothing.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine


class UnitOfWork:
    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self._conn: Connection | None = None

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
        self._conn = self.engine.connect()
        if self.read_only:
            self._conn.execution_options(suanli_read_only=True)
        return self

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        """Roll back what was not committed and give the connection back (with it, every lock
        the transaction held). Leaving the block afterwards does nothing more."""
        if self._conn is None:
            return
        try:
            self._conn.rollback()  # undoes anything not committed; a no-op after commit()
        finally:
            self._conn.close()
            self._conn = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
