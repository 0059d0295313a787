"""The agent's HTTP client sends a report again after a network failure or a 503."""

from __future__ import annotations

import httpx
import pytest

from suanli.agent.loop import AgentApi
from suanli.errors import BackendError, ConflictError


def _api(responses: list[object]) -> tuple[AgentApi, list[float], list[str]]:
    seen: list[str] = []
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        answer = responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, httpx.Response)
        return answer

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://site")
    return AgentApi(client, "sl_x_y", sleep=slept.append), slept, seen


def test_transient_failures_are_retried_until_the_report_lands() -> None:
    api, slept, seen = _api(
        [httpx.ConnectError("down"), httpx.Response(503), httpx.Response(200, json={"ok": 1})]
    )
    assert api.run("r1", "usage", {"seq": 1}) == {"ok": 1}
    assert seen == ["/api/v1/agent/runs/r1/usage"] * 3
    assert slept == [0.25, 0.5]


def test_a_conflict_is_not_retried() -> None:
    api, slept, _ = _api([httpx.Response(409, json={"detail": "stale lease"})])
    with pytest.raises(ConflictError, match="stale lease"):
        api.run("r1", "heartbeat", {})
    assert slept == []


def test_a_lasting_outage_is_a_backend_error() -> None:
    api, slept, seen = _api([httpx.ConnectError("down")] * 6)
    with pytest.raises(BackendError, match="down"):
        api.run("r1", "complete", {})
    assert len(seen) == 6 and slept == list(AgentApi.RETRY_DELAYS_S)
