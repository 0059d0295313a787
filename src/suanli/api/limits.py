"""ASGI middleware that bounds what one request may take: its body and a place in line.

- ``BodyLimit``: a body over ``max_bytes`` is answered 413 before any handler reads it, whether
  it announces its length or streams it.
- ``InFlightLimit``: at most ``max_in_flight`` API requests run at once, each holding at most
  one database connection (see ``deps``), so the pool, sized to match, is never exhausted; a
  request that waits longer than ``queue_timeout_s`` for its turn is answered 503 with
  ``Retry-After`` instead of waiting on the pool and failing with a 500.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"request body over {self.max_bytes} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _answer(send, 413, detail, {"connection": "close"})
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
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
    def __init__(
        self, app: ASGIApp, max_in_flight: int, queue_timeout_s: float, prefix: str = "/api/"
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.queue_timeout_s = queue_timeout_s
        self.max_in_flight = max_in_flight
        # One semaphore per event loop: asyncio's bind to the loop that first waits on them,
        # and a test client may run the app on a new loop each time.
        self._slots: dict[int, asyncio.Semaphore] = {}

    def _semaphore(self) -> asyncio.Semaphore:
        key = id(asyncio.get_running_loop())
        found = self._slots.get(key)
        if found is None:
            if len(self._slots) > 64:
                self._slots.clear()
            found = self._slots[key] = asyncio.Semaphore(self.max_in_flight)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        slots = self._semaphore()
        try:
            await asyncio.wait_for(slots.acquire(), self.queue_timeout_s)
        except TimeoutError:
            await _answer(send, 503, "the server is busy; retry shortly", {"retry-after": "1"})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()
