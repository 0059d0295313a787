"""Shared CLI plumbing: engine, JSON output, and turning errors into clean exits."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from suanli.errors import SchemaNotMigrated, SuanliError, ValidationError
from suanli.rejection import Kind, Rejection

if TYPE_CHECKING:  # the database layer loads with the first command that opens one
    from suanli.store.uow import UnitOfWork

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[UnitOfWork]:
    from suanli.store.db import make_engine
    from suanli.store.uow import UnitOfWork

    engine = make_engine(url)
    try:
        with UnitOfWork(engine) as uow:
            yield uow
    finally:
        engine.dispose()


def exit_if_rejected(rejection: Rejection | None) -> None:
    """The one place a business rejection becomes an exit status, after its answer is printed:
    1 for a conflict with the current state, 2 for a request that can never succeed as stated
    (the status bad input exits with)."""
    if rejection is not None:
        raise typer.Exit(1 if rejection.kind is Kind.CONFLICT else 2)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print a Suanli error as one clear line and exit 2 (bad input) or 1 (anything else)."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            err_console.print(f"[red]error:[/red] {exc.field}: {exc.message}", highlight=False)
            raise typer.Exit(2) from exc
        except SuanliError as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from exc
        except Exception as exc:
            if not _is_driver_error(exc):
                raise
            behind = _not_migrated()
            if behind is None:
                raise
            err_console.print(f"[red]error:[/red] {behind}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from exc

    return wrapper


def _is_driver_error(exc: Exception) -> bool:
    """Whether ``exc`` is SQLAlchemy's wrapper of a database driver's error. A command that never
    loaded SQLAlchemy never reached a database, so its absence answers without importing it."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.DBAPIError)


def _not_migrated() -> SchemaNotMigrated | None:
    """Why a database statement failed when the cause is a schema never brought up to date
    (a missing table reads as a driver error otherwise); None when the schema is current or the
    database cannot be asked."""
    from sqlalchemy.exc import DBAPIError

    from suanli.store.db import make_engine
    from suanli.store.migrate import is_current  # Alembic, only on this path

    engine = make_engine()
    try:
        if is_current(engine):
            return None
        return SchemaNotMigrated(engine.url.render_as_string(hide_password=True))
    except DBAPIError:
        return None
    finally:
        engine.dispose()
