"""The request bounds on their own: body size, requests in flight, the failed-auth throttle."""

from __future__ import annotations

import threading
import time

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from suanli.api.limits import BodyLimit, InFlightLimit
from suanli.api.throttle import AuthThrottle


def _app(**limits: float) -> FastAPI:
    app = FastAPI()

    @app.post("/api/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/api/slow")
    def slow() -> dict[str, bool]:
        time.sleep(limits.get("slow_s", 0.5))
        return {"ok": True}

    app.add_middleware(InFlightLimit, max_in_flight=int(limits.get("in_flight", 1)),
                       queue_timeout_s=limits.get("queue_s", 0.1))  # fmt: skip
    app.add_middleware(BodyLimit, max_bytes=int(limits.get("max_bytes", 1000)))
    return app


def test_a_body_over_the_limit_is_a_413_announced_or_streamed():
    client = TestClient(_app())
    assert client.post("/api/echo", content=b"x" * 1000).json() == {"bytes": 1000}
    r = client.post("/api/echo", content=b"x" * 1001)
    assert r.status_code == 413 and "1000 bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: the middleware counts what arrives
        for _ in range(20):
            yield b"x" * 100

    assert client.post("/api/echo", content=chunks()).status_code == 413


def test_requests_beyond_the_in_flight_limit_wait_then_get_a_503_with_retry_after():
    client = TestClient(_app(in_flight=1, queue_s=0.1, slow_s=0.6))
    first: dict[str, int] = {}
    holder = threading.Thread(target=lambda: first.update(s=client.get("/api/slow").status_code))
    holder.start()
    time.sleep(0.2)
    r = client.get("/api/slow")
    holder.join()
    assert first["s"] == 200
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert client.get("/api/slow").status_code == 200  # the slot came back


def test_the_throttle_counts_failures_per_address_and_refills():
    throttle = AuthThrottle(burst=3, per_s=1.0)
    assert [throttle.failed("a", now_s=0) for _ in range(3)] == [0, 0, 0]
    assert throttle.failed("a", now_s=0) > 0  # the fourth in a burst waits
    assert throttle.failed("b", now_s=0) == 0  # another address is untouched
    assert throttle.failed("a", now_s=5) == 0  # refilled after a quiet spell


def test_the_throttle_forgets_the_oldest_addresses_beyond_its_bound():
    throttle = AuthThrottle(burst=1, per_s=0.001, max_addresses=2)
    for address in ("a", "b", "c"):
        throttle.failed(address, now_s=0)
    assert throttle.failed("a", now_s=0) == 0  # "a" was forgotten: a fresh bucket


def test_the_gate_closes_on_a_failing_address_but_not_on_a_credential_that_worked():
    throttle = AuthThrottle(burst=2, per_s=1.0)
    throttle.authenticated("Bearer good", now_s=0)
    assert throttle.gate("a", "Bearer bad", now_s=0) == 0  # no failures yet: open
    throttle.failed("a", now_s=0)
    throttle.failed("a", now_s=0)
    assert throttle.gate("a", "Bearer bad", now_s=0) > 0  # closed to the guesser
    assert throttle.gate("a", "Bearer good", now_s=0) == 0  # open to a token that worked
    assert throttle.gate("b", "Bearer bad", now_s=0) == 0  # and to other addresses
    assert throttle.gate("a", "Bearer new", now_s=1.5) == 0  # refilled: a new token may try


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_route_runs_again_after_a_deadlock_and_ends_the_failed_transaction_first():
    from fastapi import APIRouter
    from sqlalchemy.exc import OperationalError

    from suanli.api.retry import RetryingRoute

    calls: list[int] = []
    closed: list[bool] = []

    class FakeUoW:
        def close(self) -> None:
            closed.append(True)

    router = APIRouter(route_class=RetryingRoute)

    @router.post("/api/once")
    def once(request: Request) -> dict[str, int]:
        request.state.uow = FakeUoW()
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("update ...", {}, _Deadlock())
        return {"attempts": len(calls)}

    app = FastAPI()
    app.include_router(router)
    assert TestClient(app).post("/api/once").json() == {"attempts": 3}
    assert closed == [True, True]  # each failed attempt's transaction ended before the next
