"""ASGI middleware that bounds what one request may take: its body and a place in line.

Every bound here is per process: with ``suanli serve --workers N`` each worker has its own line
and its own pool, so the server as a whole takes N x ``max_in_flight`` requests at once.

- ``BodyLimit``: a body over ``max_bytes`` is answered 413 before any handler reads it, whether
  it announces its length or streams it.
- ``InFlightLimit``: at most ``max_in_flight`` API requests run at once, each holding at most
  one database connection (see ``deps``), so the pool, sized to match, is never exhausted; the
  rest wait in line, first come first served, and one that waits longer than
  ``queue_timeout_s`` is answered 503 with ``Retry-After`` instead of waiting on the pool and
  failing with a 500.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suanli.api.throttle import AuthThrottle, Throttled


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


# Paths whose bodies are batches: a full ledger batch (8,190 transfers of ~300 bytes at most
# each with long ids and memos bounded per field) needs more than the default megabyte.
LARGER_BODIES = {"/api/v1/ledger/transfers/batch": 8 << 20}


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = max(self.max_bytes, LARGER_BODIES.get(scope.get("path", ""), 0))
        detail = f"request body over {max_bytes} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > max_bytes):
                await _answer(send, 413, detail, {"connection": "close"})
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise _TooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except _TooLarge:
            if not started:
                await _answer(send, 413, detail, {"connection": "close"})


class InFlightLimit:
    """Slots shared by every event loop the app runs on (uvicorn has one; a test client may
    start one per request). Waiters are served first come, first served: each holds a ticket
    and takes a slot only from the head of the line, polling with a back-off to 5 ms."""

    def __init__(
        self, app: ASGIApp, max_in_flight: int, queue_timeout_s: float, prefix: str = "/api/"
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.queue_timeout_s = queue_timeout_s
        self.max_in_flight = max_in_flight
        self._in_flight = 0
        self._line: deque[object] = deque()
        self._lock = threading.Lock()

    def _take(self, ticket: object) -> bool:
        with self._lock:
            if self._in_flight >= self.max_in_flight or self._line[0] is not ticket:
                return False
            self._line.popleft()
            self._in_flight += 1
            return True

    def _leave(self, ticket: object) -> None:
        with self._lock:
            self._line.remove(ticket)

    def _give_back(self) -> None:
        with self._lock:
            self._in_flight -= 1

    async def _wait_for_slot(self) -> bool:
        ticket = object()
        with self._lock:
            self._line.append(ticket)
        deadline = time.monotonic() + self.queue_timeout_s
        pause_s = 0.0005
        while not self._take(ticket):
            if time.monotonic() >= deadline:
                self._leave(ticket)
                return False
            await asyncio.sleep(pause_s)
            pause_s = min(pause_s * 2, 0.005)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        if not await self._wait_for_slot():
            await _answer(send, 503, "the server is busy; retry shortly", {"retry-after": "1"})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._give_back()


class AuthGate:
    """Answers 429 to an address whose failed authentications used up its bucket, before the
    request waits in line, unless its credential authenticated recently (``throttle``)."""

    def __init__(self, app: ASGIApp, throttle: AuthThrottle, prefix: str = "/api/") -> None:
        self.app = app
        self.throttle = throttle
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(self.prefix):
            authorization = ""
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    authorization = value.decode("latin-1")
            client = scope.get("client")
            wait_s = self.throttle.gate(client[0] if client else "unknown", authorization)
            if wait_s > 0:
                refusal = Throttled(wait_s)
                retry = str(refusal.retry_after_header())
                await _answer(send, 429, str(refusal), {"retry-after": retry})
                return
        await self.app(scope, receive, send)
