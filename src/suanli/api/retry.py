"""Routes that run their request again when the database gives up on its transaction.

PostgreSQL ends a transaction caught in a deadlock, or one that could not be serialised, and
asks the client to run it again (SQLSTATE 40P01, 40001). The whole request is one unit of work
that was rolled back, and every write is idempotent, so running the handler again (with fresh
dependencies: a new unit of work, the token checked again) is safe once the failed transaction
is rolled back, which also releases its locks. A few attempts with a
jittered back-off; after them the error is answered 503 with Retry-After (``errors``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialisation failure
ATTEMPTS = 4
_jitter = random.Random()  # back-off spread only; no outcome depends on it


def is_transient(exc: BaseException) -> bool:
    """A deadlock or serialisation failure, or a connection the server had dropped (engines do
    not pre-ping, so a stale pooled connection shows here; the pool has been invalidated)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig: Any = getattr(exc, "orig", None)
    return exc.connection_invalidated or getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES


class RetryingRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def retrying(request: Request) -> Response:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    return await handler(request)
                except DBAPIError as exc:
                    if attempt == ATTEMPTS or not is_transient(exc):
                        raise
                    # The failed transaction keeps its locks until it is rolled back: end it
                    # (and free its connection) before the next attempt takes a new one.
                    uow = getattr(request.state, "uow", None)
                    if uow is not None:
                        await run_in_threadpool(uow.close)
                    await asyncio.sleep(0.01 * 2**attempt * (0.5 + _jitter.random()))
            raise AssertionError("unreachable")

        return retrying
