"""bench/load.py's clients: legitimate ones mixing the product's calls, and ones sending bad
tokens."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from load_records import (
    BAD_ENDPOINTS,
    BAD_KINDS,
    BAD_WEIGHTS,
    HEARTBEAT,
    LEASE,
    LEGIT,
    LIST_REQUESTS,
    MAX_BACKOFF_S,
    MAX_HELD_LEASES,
    OFFERS,
    QUOTES,
    READ_RUN,
    SUBMIT,
    URLSAFE,
    PhasePlan,
    Sample,
)
from suanli.client.http import API_PREFIX, Http
from suanli.errors import BackendError

# Clients


class Budget:
    """A phase's deadline and request cap, shared by its client threads."""

    def __init__(self, max_requests: int) -> None:
        self._lock = threading.Lock()
        self._left = max_requests
        self.began = 0.0
        self.deadline = 0.0

    def open(self, duration_s: float) -> None:
        self.began = time.monotonic()
        self.deadline = self.began + duration_s

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0 or time.monotonic() >= self.deadline:
                return False
            self._left -= 1
            return True


class Recorder:
    """One thread's HTTP client: every request becomes a Sample, failures included."""

    def __init__(self, http: Http, budget: Budget) -> None:
        self.http = http
        self.budget = budget
        self.samples: list[Sample] = []

    def call(
        self,
        who: str,
        endpoint: str,
        path: str,
        auth: str | None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response | None:
        method = endpoint.split(" ", 1)[0]
        headers = {"Authorization": auth} if auth is not None else {}
        start = time.perf_counter()
        try:
            # Through the client's transport with its retries off: every attempt is a sample,
            # and the bench's clients honour Retry-After themselves.
            api_path = path.removeprefix(API_PREFIX)
            resp = self.http.send(method, api_path, body=body, headers=headers)
        except BackendError as exc:
            self._add(who, endpoint, 0, type(exc.__cause__ or exc).__name__, False, start)
            return None
        self._add(who, endpoint, resp.status_code, "", "retry-after" in resp.headers, start)
        return resp

    def _add(
        self, who: str, endpoint: str, status: int, error: str, retry_after: bool, start: float
    ) -> None:
        end = time.perf_counter()
        done_s = time.monotonic() - self.budget.began
        self.samples.append(
            Sample(who, endpoint, status, error, retry_after, (end - start) * 1000, done_s)
        )


def _json(resp: httpx.Response | None) -> Any:
    if resp is None or not 200 <= resp.status_code < 300 or not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


class LegitClient:
    """A tenant, its site's agent and an officer, mixing the exchange's everyday calls."""

    def __init__(self, plan: PhasePlan, index: int, rec: Recorder) -> None:
        self.plan, self.index, self.rec = plan, index, rec
        self.rng = random.Random(plan.seed + index)
        self.tenant_id, tenant_token = plan.creds.tenants[index % len(plan.creds.tenants)]
        _site, agent_token = plan.creds.agents[index % len(plan.creds.agents)]
        self.tenant_auth = f"Bearer {tenant_token}"
        self.agent_auth = f"Bearer {agent_token}"
        self.officer_auth = f"Bearer {plan.creds.officer}"
        self.run_ids: list[str] = []
        self.leases: list[tuple[str, str]] = []  # (run id, lease id)
        self.sent = 0

    def run(self) -> None:
        actions: tuple[Callable[[], httpx.Response | None], ...] = (
            self.quote,
            self.submit,
            self.agent,
            self.offers,
            self.list_requests,
            self.read_run,
        )
        while self.rec.budget.take():
            self._back_off(self.rng.choices(actions, (20, 15, 20, 15, 15, 15))[0]())

    def _back_off(self, resp: httpx.Response | None) -> None:
        if resp is None or resp.status_code not in (429, 503):
            return
        try:
            wait_s = float(resp.headers.get("retry-after", "0.5"))
        except ValueError:
            wait_s = 0.5
        left_s = self.rec.budget.deadline - time.monotonic()
        time.sleep(max(0.0, min(wait_s, MAX_BACKOFF_S, left_s)))

    def _body(self, prefix: str) -> dict[str, Any]:
        self.sent += 1
        rid = f"load-{self.plan.tag}-{prefix}-{self.plan.name}-{self.index}-{self.sent}"
        workload = {
            "kind": self.rng.choice(("finetune", "lora")),
            "params_b": self.rng.choice((1, 3, 7)),
            "tokens_b": self.rng.choice((0.05, 0.1, 0.5)),
        }
        return {
            "id": rid,
            "tenant_id": self.tenant_id,
            "workload": workload,
            "accelerators": self.rng.choice((1, 2, 4, 8)),
            "spec": {"command": ["true"]},
        }

    def quote(self) -> httpx.Response | None:
        return self.rec.call(LEGIT, QUOTES, "/api/v1/quotes", self.tenant_auth, self._body("q"))

    def submit(self) -> httpx.Response | None:
        body = self._body("r")
        resp = self.rec.call(LEGIT, SUBMIT, "/api/v1/requests", self.tenant_auth, body)
        if resp is not None and 200 <= resp.status_code < 300:
            self.plan.acked.append(body["id"])
        run = (_json(resp) or {}).get("run")
        if isinstance(run, dict) and isinstance(run.get("id"), str):
            self.run_ids.append(run["id"])
        return resp

    def agent(self) -> httpx.Response | None:
        if self.leases and self.rng.random() < 0.5:
            return self._heartbeat(self.rng.choice(self.leases))
        body = {"agent_id": f"load-agent-{self.index}", "lease_s": 30.0, "wait_s": 0.0}
        resp = self.rec.call(LEGIT, LEASE, "/api/v1/agent/lease", self.agent_auth, body)
        run = _json(resp)
        if isinstance(run, dict) and "id" in run and "lease_id" in run:
            held = (str(run["id"]), str(run["lease_id"]))
            self.leases = [*self.leases, held][-MAX_HELD_LEASES:]
            if self.rec.budget.take():
                self._heartbeat(held)
        return resp

    def _heartbeat(self, held: tuple[str, str]) -> httpx.Response | None:
        run_id, lease_id = held
        path = f"/api/v1/agent/runs/{run_id}/heartbeat"
        body = {"lease_id": lease_id, "lease_s": 30.0}
        resp = self.rec.call(LEGIT, HEARTBEAT, path, self.agent_auth, body)
        if resp is not None and resp.status_code in (403, 404, 409):
            self.leases = [lease for lease in self.leases if lease != held]  # stale or taken
        return resp

    def offers(self) -> httpx.Response | None:
        return self.rec.call(LEGIT, OFFERS, "/api/v1/offers", self.tenant_auth)

    def list_requests(self) -> httpx.Response | None:
        auth = self.officer_auth if self.rng.random() < 0.2 else self.tenant_auth
        return self.rec.call(LEGIT, LIST_REQUESTS, "/api/v1/requests", auth)

    def read_run(self) -> httpx.Response | None:
        if not self.run_ids:
            return self.offers()
        run_id = self.rng.choice(self.run_ids)
        return self.rec.call(LEGIT, READ_RUN, f"/api/v1/runs/{run_id}", self.tenant_auth)


class BadClient:
    """Unknown tokens, wrong secrets for real token ids, malformed headers, as fast as it can."""

    def __init__(self, plan: PhasePlan, index: int, rec: Recorder) -> None:
        self.plan, self.index, self.rec = plan, index, rec
        self.rng = random.Random(plan.seed + index)
        self.real_ids = plan.creds.token_ids()

    def _hex16(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def _secret(self) -> str:
        return "".join(self.rng.choice(URLSAFE) for _ in range(32))

    def auth(self, kind: str) -> str | None:
        if kind == "bad-unknown":
            return f"Bearer sl_{self._hex16()}_{self._secret()}"
        if kind == "bad-secret":
            return f"Bearer sl_{self.rng.choice(self.real_ids)}_{self._secret()}"
        malformed: tuple[str | None, ...] = (
            None,
            "Basic dXNlcjpwYXNzd29yZA==",
            "Bearer",  # no token (a trailing space is illegal in HTTP: h11 refuses to send it)
            f"Bearer sl_{self._hex16()}",
            f"Bearer xx_{self._hex16()}_{self._secret()}",
            f"Bearer sl_not-hex!_{self._secret()}",
            "Bearer " + "A" * 2000,
            f"bearer sl_{self.rng.choice(self.real_ids)}_{self._secret()}",
        )
        return self.rng.choice(malformed)

    def run(self) -> None:
        body: dict[str, Any] = {
            "id": "bad",
            "tenant_id": self.plan.creds.tenants[0][0],
            "workload": {"kind": "finetune", "params_b": 7, "tokens_b": 0.5},
        }
        lease: dict[str, Any] = {"agent_id": "bad-agent", "wait_s": 0.0}
        payloads = {QUOTES: body, LEASE: lease}
        while self.rec.budget.take():
            kind = self.rng.choices(BAD_KINDS, BAD_WEIGHTS)[0]
            endpoint = self.rng.choice(BAD_ENDPOINTS)
            payload = payloads.get(endpoint)
            path = endpoint.split(" ", 1)[1]
            self.rec.call(kind, endpoint, path, self.auth(kind), payload)
