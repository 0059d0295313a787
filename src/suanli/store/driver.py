"""PostgreSQL's driver connection under a unit of work, for the ledger batch's few statements.

On those statements SQLAlchemy's processing (compiling, wrapping each result row, turning
parameters) cost more Python time than PostgreSQL spent running them, so they go to psycopg
directly, in binary, inside the same transaction the unit of work commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


def driver_of(conn: Connection) -> psycopg.Connection[Any]:
    """``conn``'s psycopg connection, with the unit of work's transaction begun on it, so that
    ``conn.commit()`` commits (and ``conn.rollback()`` undoes) what is run on the driver."""
    if not conn.in_transaction():
        conn.begin()  # what the driver runs first would otherwise be no transaction's to commit
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("the connection was closed")
    return cast(psycopg.Connection[Any], driver)


@contextmanager
def sqlalchemy_errors(statement: str) -> Iterator[None]:
    """The driver's errors as SQLAlchemy's (``IntegrityError``, ``OperationalError``...), as
    the statements run through SQLAlchemy raise them: the API's retry of a deadlock and its
    503 for an unreachable database look for those."""
    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


@contextmanager
def cursor(
    conn: Connection, statement: str, *, binary: bool = False
) -> Iterator[psycopg.Cursor[Any]]:
    """A driver cursor in the unit of work's transaction (``driver_of``) for ``statement``, its
    errors raised as SQLAlchemy's naming it (``sqlalchemy_errors``); rows in binary if asked."""
    with sqlalchemy_errors(statement), driver_of(conn).cursor(binary=binary) as cur:
        yield cur


@contextmanager
def sent(
    conn: Connection, statements: Sequence[tuple[str, Mapping[str, Any] | None]]
) -> Iterator[None]:
    """Send ``statements`` to PostgreSQL at once and run the ``with`` block while it runs them.

    A client that waits for each answer and then works leaves one of two cores idle either way;
    here Python's share of the work (drafting what comes next) is done while the server does
    its share. Leaving the block waits for the statements: the first that fails is raised then,
    as SQLAlchemy's error (``sqlalchemy_errors``), and the ones after it are not run. A block
    that raises leaves after the statements have run, its own error raised."""
    driver = driver_of(conn)
    with (
        sqlalchemy_errors(statements[-1][0]),
        driver.pipeline() as pipeline,
        driver.cursor() as cur,
    ):
        for statement, params in statements:
            cur.execute(statement, params)
        yield
        pipeline.sync()


def text_array(values: Sequence[str]) -> str | list[str]:
    """``values`` as one PostgreSQL array literal (``{"a","b"}``), for ``%(name)s::text[]``:
    the driver dumps a list element by element in Python, a tenth of a batch's time, where the
    literal is one join. Values holding a quote or a backslash (which would need escaping) are
    left a list for the driver. Quoted, so that an element spelled NULL stays a string."""
    every = "".join(values)
    if '"' in every or "\\" in every:
        return list(values)
    return '{"' + '","'.join(values) + '"}' if values else "{}"


def int_array(values: Iterable[int]) -> str:
    """Integers as one PostgreSQL array literal, for ``%(name)s::bigint[]`` (see ``text_array``)."""
    return "{" + ",".join(map(str, values)) + "}"
