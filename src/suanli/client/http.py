"""The client's one way to the server: a request, its retries, and its answer or error.

Retries. A write is sent again, unchanged, on a connection error, a 503 (busy, a backend
failed) or a 429 (throttled), waiting the answer's ``Retry-After`` when it gives one, else an
exponential backoff with jitter, at most ``retries`` times and ``max_wait_s`` per wait. Resending
is safe because every write the API offers is idempotent by an id the body carries (a request's
``id``, a transfer's ``transfer_id``, a run's ``seq``) and every attempt carries the same
``X-Request-Id``, so the server logs one request id for it however often it arrives. A read is
retried the same way.

Errors. An answer's status becomes the exception of ``suanli.errors``: 401 Unauthenticated,
403 PermissionDenied, 404 NotFoundError, 409 ConflictError, 422 ValidationError naming the
field, 413 ValidationError on ``body``, 429/503 after the last retry and any other 5xx
BackendError. A business rejection (a 409 or 422 whose body carries ``rejection``) is not an
error: it is the operation's answer, returned like a success, with the rejection in it
(``rejection_of``).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from suanli.errors import (
    BackendError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    SuanliError,
    Unauthenticated,
    ValidationError,
)
from suanli.rejection import Code, Rejection

# What a JSON answer holds: the server's records as JSON (see the OpenAPI at /docs).
JsonObject = dict[str, Any]
Rows = list[JsonObject]
Json = Any
Params = Mapping[str, str | int | float | bool | None]

RETRY_STATUSES = frozenset({429, 503})
DEFAULT_TIMEOUT_S = 30.0
API_PREFIX = "/api/v1"


def rejection_of(answer: Mapping[str, Any]) -> Rejection | None:
    """The business rejection an answer carries, or None when nothing was refused."""
    raw = answer.get("rejection") if isinstance(answer, Mapping) else None
    if not isinstance(raw, Mapping):
        return None
    return Rejection(Code(str(raw["code"])), str(raw.get("message", "")), str(raw.get("field", "")))


def _detail(resp: httpx.Response) -> Any:
    try:
        return resp.json().get("detail", resp.text)
    except (ValueError, AttributeError):
        return resp.text


def _validation_error(detail: Any) -> ValidationError:
    if isinstance(detail, list) and detail and isinstance(detail[0], Mapping):
        first = detail[0]
        field = str(first.get("field") or ".".join(str(p) for p in first.get("loc", ())[1:]))
        return ValidationError(field or "body", str(first.get("msg", "invalid")))
    return ValidationError("body", str(detail))


def error_for(resp: httpx.Response) -> SuanliError:
    """The exception of ``suanli.errors`` an error answer stands for."""
    status, detail = resp.status_code, _detail(resp)
    if status == 401:
        return Unauthenticated(str(detail))
    if status == 403:
        return PermissionDenied(str(detail))
    if status == 404:
        return NotFoundError("resource", f"{resp.request.method} {resp.request.url.path}")
    if status == 409:
        return ConflictError(str(detail))
    if status in (413, 422):
        return _validation_error(detail)
    if status >= 500 or status == 429:
        return BackendError(f"{status} from {resp.request.url.path}: {detail}")
    return SuanliError(f"{status} from {resp.request.url.path}: {detail}")


class Http:
    """An httpx client with the API's prefix, a bearer token, retries and error mapping.

    ``transport`` lets tests run the client in-process (a TestClient, or ``httpx.WSGI``/ASGI
    transports); ``sleep`` is what a retry waits with.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        retries: int = 5,
        backoff_s: float = 0.1,
        max_wait_s: float = 5.0,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self.client.headers.update(headers)
        self.retries, self.backoff_s, self.max_wait_s = max(0, retries), backoff_s, max_wait_s
        self.sleep = sleep
        self._random = random.Random(seed)
        self.attempts = 0  # requests sent, retries included (for benchmarks and tests)

    def close(self) -> None:
        self.client.close()

    def _wait_s(self, attempt: int, resp: httpx.Response | None) -> float:
        after = resp.headers.get("Retry-After") if resp is not None else None
        if after is not None:
            try:
                return min(self.max_wait_s, max(0.0, float(after)))
            except ValueError:
                pass
        base: float = self.backoff_s * (2**attempt)
        return min(self.max_wait_s, base * (0.5 + self._random.random()))

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Json = None,
        params: Params | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send once, and again on a retryable failure, with the same body and request id."""
        headers = {**(headers or {}), "X-Request-Id": request_id or uuid.uuid4().hex}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(self.retries + 1):
            self.attempts += 1
            try:
                resp = self.client.request(
                    method, API_PREFIX + path, json=body, params=query, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise BackendError(f"{method} {path}: {exc!r}") from exc
                self.sleep(self._wait_s(attempt, None))
                continue
            if resp.status_code in RETRY_STATUSES and attempt < self.retries:
                self.sleep(self._wait_s(attempt, resp))
                continue
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Json = None,
        params: Params | None = None,
        request_id: str | None = None,
    ) -> Json:
        """The answer's JSON; a business rejection is an answer, any other failure raises."""
        resp = self.send(method, path, body=body, params=params, request_id=request_id)
        if resp.is_success:
            return resp.json() if resp.content else None
        if resp.status_code in (409, 422):
            try:
                answer = resp.json()
            except ValueError:
                answer = None
            if isinstance(answer, dict) and isinstance(answer.get("rejection"), dict):
                return answer
        raise error_for(resp)

    def text(self, method: str, path: str, *, params: Params | None = None) -> str:
        resp = self.send(method, path, params=params)
        if not resp.is_success:
            raise error_for(resp)
        return resp.text
