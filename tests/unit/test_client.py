"""The Python client: one method per API operation, retries with the same request id, errors
as the exception hierarchy, rejections as answers, and the audit log walked page by page."""

from __future__ import annotations

import json

import httpx
import pytest

from suanli.client import Client, rejection_of
from suanli.client.ops import OPERATIONS, covered
from suanli.errors import (
    BackendError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    Unauthenticated,
    ValidationError,
)
from suanli.rejection import Code

METHODS = ("get", "post", "put", "patch", "delete")


def test_every_operation_of_the_openapi_has_a_client_method() -> None:
    from suanli.api.app import create_app
    from suanli.store.db import make_engine

    engine = make_engine("sqlite://")
    doc = create_app(engine).openapi()
    engine.dispose()
    ops = {
        (m.upper(), path.removeprefix("/api/v1"))
        for path, item in doc["paths"].items()
        for m in item
        if m in METHODS
    }
    assert ops - covered() == set(), "operations without a client method"
    assert covered() - ops == set(), "client methods without an operation"
    client = Client("http://x")
    areas = [getattr(client, a) for a in vars(client) if a != "http"] + [client]
    for qualname in OPERATIONS.values():
        cls, name = qualname.split(".")
        assert any(type(a).__name__ == cls or cls in [b.__name__ for b in type(a).__mro__]
                   for a in areas if hasattr(a, name)), qualname  # fmt: skip


def _client(handler: httpx.MockTransport, retries: int = 3) -> tuple[Client, list[float]]:
    waits: list[float] = []
    http = httpx.Client(base_url="http://test", transport=handler)
    client = Client("http://test", "tok", retries=retries, client=http, seed=1)
    client.http.sleep = waits.append
    return client, waits


def test_a_write_is_retried_with_the_same_request_id_and_body_on_503_429_and_resets() -> None:
    seen: list[tuple[str, bytes]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["x-request-id"], request.content))
        assert request.headers["authorization"] == "Bearer tok"
        if len(seen) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(seen) == 2:
            return httpx.Response(503, json={"detail": "busy"}, headers={"Retry-After": "1"})
        if len(seen) == 3:
            return httpx.Response(429, json={"detail": "slow down"})
        return httpx.Response(201, json={"request_id": "r-1", "status": "placed"})

    client, waits = _client(httpx.MockTransport(handle))
    out = client.exchange.submit({"id": "r-1", "tenant_id": "t"})
    assert out["status"] == "placed"
    assert len({rid for rid, _ in seen}) == 1 and seen[0][0] == "r-1"
    assert len({body for _, body in seen}) == 1
    assert waits[1] == 1.0 and len(waits) == 3  # Retry-After honoured; bounded backoff else
    assert all(0 < w <= client.http.max_wait_s for w in waits)


def test_retries_are_bounded_and_end_in_a_backend_error() -> None:
    client, waits = _client(httpx.MockTransport(lambda r: httpx.Response(503, json={})), 2)
    with pytest.raises(BackendError):
        client.vouchers.spend("v", provider_id="p", amount_fen=1, currency="CNY", transfer_id="x")
    assert len(waits) == 2 and client.http.attempts == 3


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"detail": "no token"}, Unauthenticated),
        (403, {"detail": "not yours"}, PermissionDenied),
        (404, {"detail": "no such"}, NotFoundError),
        (409, {"detail": "id reused"}, ConflictError),
        (500, {"detail": "boom"}, BackendError),
        (502, {"detail": "gateway"}, BackendError),
    ],
)
def test_statuses_become_the_exception_hierarchy(
    status: int, body: dict[str, str], error: type[Exception]
) -> None:
    client, _ = _client(httpx.MockTransport(lambda r: httpx.Response(status, json=body)))
    with pytest.raises(error):
        client.offers.get("o-1")


def test_a_422_names_the_field_and_a_rejection_is_an_answer() -> None:
    detail = [{"type": "missing", "loc": ["body", "workload", "params_b"], "msg": "required",
               "field": "workload.params_b"}]  # fmt: skip
    client, _ = _client(httpx.MockTransport(lambda r: httpx.Response(422, json={"detail": detail})))
    with pytest.raises(ValidationError) as caught:
        client.exchange.quote({})
    assert caught.value.field == "workload.params_b"

    refused = {"ok": False, "rejection": {"code": "insufficient_funds", "kind": "conflict",
                                          "field": "", "message": "short"}}  # fmt: skip
    client, _ = _client(httpx.MockTransport(lambda r: httpx.Response(409, json=refused)))
    out = client.vouchers.spend("v", provider_id="p", amount_fen=1, currency="CNY", transfer_id="t")
    found = rejection_of(out)
    assert found is not None and found.code is Code("insufficient_funds")


def test_the_audit_log_is_walked_page_by_page() -> None:
    entries = [{"seq": n} for n in range(1, 8)]

    def handle(request: httpx.Request) -> httpx.Response:
        after, limit = int(request.url.params["after_seq"]), int(request.url.params["limit"])
        page = [e for e in entries if e["seq"] > after][:limit]
        nxt = page[-1]["seq"] if len(page) == limit else None
        return httpx.Response(200, content=json.dumps({"entries": page, "next_after_seq": nxt}))

    client, _ = _client(httpx.MockTransport(handle))
    assert [e["seq"] for e in client.audit.entries(page_size=3)] == list(range(1, 8))
