"""Load: legitimate API clients beside clients sending bad tokens, on SQLite and PostgreSQL.

For each database: a fresh database (a SQLite file in a temporary folder, or a database on a
throwaway PostgreSQL started with tests/pg_server.py unless --pg-url is given), migrated, the
demo world loaded, tokens created directly in the database (officer, tenants, one agent per
site) and the tenants' wallets funded; then ``suanli serve`` as a subprocess on a free port of
127.0.0.1, its stdout and stderr captured to files. Three phases against that one server:

- warm-up: one legitimate client for a few seconds (the first quote loads the catalog and fits);
- baseline: --clients legitimate clients alone, for a third of --duration-s;
- mixed: the same clients, same mix and seeds, with --bad-clients beside them, for --duration-s.

Every request goes through ``suanli.client``'s transport (``Http.send``, its own retries off
so each attempt is a sample). Legitimate clients mix quotes, online submissions (unique ids; a
refusal answered 200 with ``accepted: false`` is fine), agent leases (wait_s 0) with
heartbeats for leased runs, and reads (offers, requests, their own runs). They honour
Retry-After on 429/503, for at most 2 s. Bad clients send well-formed unknown tokens, wrong
secrets for real token ids and malformed Authorization headers, as fast as they can, and
ignore Retry-After.

Reported per phase: requests, throughput, per endpoint (method and route template) count and
p50/p99 latency, status classes, 429 and 503 counts, 5xx and transport errors (resets,
timeouts) by kind; the legitimate clients' throughput and p99 in the mixed phase against the
baseline; the server's RSS (VmRSS, and VmHWM at the end); a summary of the server's stderr.

Workers: --workers N serves PostgreSQL with ``suanli serve --workers N`` (SQLite keeps one).
With --kill-worker-at-s S one worker process gets SIGKILL S seconds into the mixed phase
(bench/worker_kill.py); afterwards every submission the clients saw answered 2xx must be in the
database, and ``suanli ledger check`` and ``suanli audit verify`` must pass. The killed worker's
in-flight requests fail at the transport; in that phase they are reported, not failed on.

Exit status 1 if any request got a 5xx other than a 503 carrying Retry-After (load shedding, which
is allowed), a transport error, or a bad token was answered 2xx; 0 otherwise.

Bounds: only 127.0.0.1; --duration-s at most 120; each phase stops issuing at its deadline or
at --max-requests, and requests then in flight get at most --timeout-s, so a phase lasts at
most its duration + --timeout-s + 5 s.

Usage: .venv/bin/python bench/load.py [--db sqlite|postgresql|both] [--clients 64]
       [--bad-clients 32] [--duration-s 20] [--max-requests N] [--seed 1] [--pg-url URL] [--json]
       [--workers 4 [--kill-worker-at-s 10]]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import re
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_server

from suanli.client.http import API_PREFIX, Http  # noqa: E402
from suanli.domain.registry import Site, Tenant  # noqa: E402
from suanli.domain.roles import SYSTEM  # noqa: E402
from suanli.errors import BackendError  # noqa: E402
from suanli.services import registry, settlement, tokens  # noqa: E402
from suanli.services.world import load_world  # noqa: E402
from suanli.store.db import make_engine  # noqa: E402
from suanli.store.migrate import upgrade  # noqa: E402
from suanli.store.uow import UnitOfWork  # noqa: E402
from worker_kill import Kill, check_books, missing_requests  # noqa: E402

MAX_DURATION_S = 120.0
BASELINE_FRACTION = 1 / 3
WARMUP_S = 3.0
HEALTH_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
JOIN_MARGIN_S = 5.0
MAX_BACKOFF_S = 2.0
WALLET_FEN = 10_000_000_000  # 100 million CNY per tenant: submissions are not refused for money
MAX_HELD_LEASES = 8
URLSAFE = string.ascii_letters + string.digits + "-_"

QUOTES = "POST /api/v1/quotes"
SUBMIT = "POST /api/v1/requests"
LIST_REQUESTS = "GET /api/v1/requests"
OFFERS = "GET /api/v1/offers"
LEASE = "POST /api/v1/agent/lease"
HEARTBEAT = "POST /api/v1/agent/runs/{run_id}/heartbeat"
READ_RUN = "GET /api/v1/runs/{run_id}"
LEGIT = "legit"
BAD_KINDS = ("bad-unknown", "bad-secret", "bad-malformed")
BAD_WEIGHTS = (40, 40, 20)
BAD_ENDPOINTS = (OFFERS, LIST_REQUESTS, QUOTES, LEASE)


# Records


@dataclass(frozen=True, slots=True)
class Credentials:
    officer: str
    tenants: tuple[tuple[str, str], ...]  # (tenant id, token)
    agents: tuple[tuple[str, str], ...]  # (site id, token)

    def token_ids(self) -> tuple[str, ...]:
        every = (self.officer, *(t for _, t in self.tenants), *(t for _, t in self.agents))
        return tuple(token.split("_", 2)[1] for token in every)


@dataclass(frozen=True, slots=True)
class Sample:
    who: str  # legit | bad-unknown | bad-secret | bad-malformed
    endpoint: str  # method and route template
    status: int  # 0 for a transport error
    error: str  # the transport error's class name, else ""
    retry_after: bool  # the answer carried Retry-After
    latency_ms: float
    done_s: float  # when it finished, seconds after the phase began


@dataclass(frozen=True, slots=True)
class PhasePlan:
    name: str
    base_url: str
    creds: Credentials
    clients: int
    bad_clients: int
    duration_s: float
    max_requests: int
    seed: int
    timeout_s: float
    tag: str  # makes request ids unique across runs on a reused database
    acked: list[str] = dataclasses.field(default_factory=list)  # submissions answered 2xx


@dataclass(frozen=True, slots=True)
class EndpointStats:
    who: str
    endpoint: str
    requests: int
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]  # "200": n, ..., "error:ReadTimeout": n


@dataclass(frozen=True, slots=True)
class PhaseStats:
    phase: str
    clients: int
    bad_clients: int
    duration_s: float
    requests: int  # every answered or failed request, including those drained after the deadline
    requests_in_window: int  # finished before the deadline: the throughput's numerator
    throughput_rps: float
    legit_requests: int
    legit_throughput_rps: float
    legit_p50_ms: float
    legit_p99_ms: float
    status_classes: dict[str, int]  # 2xx, 3xx, 4xx, 5xx, error
    status_429: int
    status_503: int
    status_503_retry_after: int
    server_errors_5xx: int
    failing_5xx: int  # every 5xx but a 503 with Retry-After
    transport_errors: dict[str, int]
    first_transport_error_s: float | None  # when the first one finished, into the phase
    bad_token_2xx: int
    unfinished_clients: int  # threads still in a request when the phase's bound ran out
    client_failures: tuple[str, ...]  # exceptions inside the bench's own clients
    endpoints: tuple[EndpointStats, ...]


@dataclass(frozen=True, slots=True)
class ServerLog:
    stderr_path: str
    stdout_path: str
    tracebacks: int
    error_lines: int  # lines starting "ERROR:" (uvicorn's own)
    exceptions: tuple[tuple[str, int], ...]  # the most common final exception lines


@dataclass(frozen=True, slots=True)
class DbReport:
    database: str
    setup_s: float
    phases: tuple[PhaseStats, ...]
    legit_throughput_ratio: float | None  # mixed / baseline
    legit_p99_ratio: float | None  # mixed / baseline
    rss_kib: dict[str, int]  # VmRSS after start and after each phase; VmHWM at the end
    server_exit_code: int | None
    server_log: ServerLog
    workers: int = 1
    kill: dict[str, Any] | None = None  # the worker-kill mode's record (bench/worker_kill.py)

    @property
    def failed(self) -> bool:
        if self.kill is not None and (
            self.kill["lost_acknowledged"] or self.kill["ledger_check_exit"]
            or self.kill["audit_verify_exit"] or self.kill["killed_pid"] is None
        ):  # fmt: skip
            return True
        # With a worker killed, resets of its in-flight requests are expected (not acknowledged).
        return any(
            p.failing_5xx
            or p.bad_token_2xx
            or p.client_failures
            or (p.transport_errors and not (self.kill and p.phase == "mixed"))
            for p in self.phases
        )


# Database and server


def prepare_database(url: str, tag: str) -> Credentials:
    """Migrate, load the demo world, fund every tenant's wallet, create the tokens."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        load_world(engine)
        with UnitOfWork(engine) as uow:
            tenant_ids = sorted(t.id for t in registry.list_records(uow, SYSTEM, Tenant))
            site_ids = sorted(s.id for s in registry.list_records(uow, SYSTEM, Site))
        with UnitOfWork(engine) as uow:
            for tenant in tenant_ids:
                settlement.fund_wallet(uow, tenant, WALLET_FEN, "CNY", f"topup:load:{tag}:{tenant}")
            officer = tokens.create_token(uow, "officer", None, "load officer")
            tenant_tokens = tuple(
                (t, tokens.create_token(uow, "tenant", t, "load tenant")) for t in tenant_ids
            )
            agent_tokens = tuple(
                (s, tokens.create_token(uow, "agent", s, "load agent")) for s in site_ids
            )
            uow.commit()
    finally:
        engine.dispose()
    return Credentials(officer, tenant_tokens, agent_tokens)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _suanli_command() -> str:
    beside = Path(sys.executable).parent / "suanli"
    return str(beside if beside.exists() else ROOT / ".venv" / "bin" / "suanli")


def read_memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB, from /proc/<pid>/status (empty if it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


class Server:
    """``suanli serve`` on a free local port, its output in files; stopped by ``stop``."""

    def __init__(self, url: str, log_prefix: Path, workers: int = 1) -> None:
        self.url = url
        self.workers = workers
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = log_prefix.with_name(log_prefix.name + ".stdout.log")
        self.stderr_path = log_prefix.with_name(log_prefix.name + ".stderr.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None

    def start(self) -> Server:
        env = {**os.environ, "SUANLI_DATABASE_URL": self.url}
        cmd = [_suanli_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--workers", str(self.workers)] if self.workers > 1 else []
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.stderr_path}"
                )
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not healthy after {HEALTH_TIMEOUT_S:.0f} s")

    def memory_kib(self) -> dict[str, int]:
        return read_memory_kib(self.proc.pid) if self.proc is not None else {}

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.exit_code = None if self.proc is None else self.proc.returncode
            return
        self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            self.exit_code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.exit_code = self.proc.wait()


EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout|Exit|Warning)\w*)(:.*)?$")


def summarise_server_log(stderr_path: Path, stdout_path: Path, top: int = 8) -> ServerLog:
    """Count tracebacks and the most common final exception lines of the server's stderr."""
    text = stderr_path.read_text(errors="replace") if stderr_path.exists() else ""
    found: Counter[str] = Counter()
    for line in text.splitlines():
        match = EXCEPTION_LINE.match(line.strip())
        if match and not line.startswith(" "):
            found[re.sub(r"[0-9a-f]{16}", "<id>", line.strip())[:200]] += 1
    return ServerLog(
        stderr_path=str(stderr_path),
        stdout_path=str(stdout_path),
        tracebacks=text.count("Traceback (most recent call last)"),
        error_lines=sum(1 for line in text.splitlines() if line.startswith("ERROR:")),
        exceptions=tuple(found.most_common(top)),
    )


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


# Phases


def _worker(
    plan: PhasePlan,
    index: int,
    bad: bool,
    budget: Budget,
    go: threading.Event,
    samples: list[list[Sample]],
    failures: list[str],
) -> None:
    try:
        with httpx.Client(base_url=plan.base_url, timeout=plan.timeout_s) as raw:
            rec = Recorder(Http(plan.base_url, retries=0, client=raw), budget)
            samples.append(rec.samples)
            go.wait()
            (BadClient if bad else LegitClient)(plan, index, rec).run()
    except Exception as exc:  # a bug in the bench's own client: reported, not hidden
        failures.append(f"client {index}: {type(exc).__name__}: {exc}")


def run_phase(plan: PhasePlan) -> PhaseStats:
    """Run the plan's clients until its deadline or request cap; summarise what they saw."""
    budget = Budget(plan.max_requests)
    go = threading.Event()
    samples: list[list[Sample]] = []
    failures: list[str] = []
    roles = [False] * plan.clients + [True] * plan.bad_clients
    threads = [
        threading.Thread(
            target=_worker,
            args=(plan, index, bad, budget, go, samples, failures),
            name=f"load-{plan.name}-{index}",
            daemon=True,  # a thread stuck past the bound must not keep the bench alive
        )
        for index, bad in enumerate(roles)
    ]
    for thread in threads:
        thread.start()
    while len(samples) + len(failures) < len(threads):
        time.sleep(0.01)
    budget.open(plan.duration_s)
    go.set()
    hard_deadline = budget.deadline + plan.timeout_s + JOIN_MARGIN_S
    for thread in threads:
        thread.join(timeout=max(0.0, hard_deadline - time.monotonic()))
    unfinished = sum(thread.is_alive() for thread in threads)
    flat = [sample for own in samples for sample in list(own)]
    return summarise_phase(plan, flat, unfinished, tuple(failures))


def _percentile_ms(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_ms)))
    return round(sorted_ms[rank - 1], 2)


def _status_key(sample: Sample) -> str:
    return f"error:{sample.error}" if sample.error else str(sample.status)


def _endpoint_stats(samples: list[Sample]) -> tuple[EndpointStats, ...]:
    groups: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.who, sample.endpoint), []).append(sample)
    out = []
    for (who, endpoint), group in sorted(groups.items()):
        latencies_ms = sorted(s.latency_ms for s in group)
        statuses = Counter(_status_key(s) for s in group)
        out.append(
            EndpointStats(
                who=who,
                endpoint=endpoint,
                requests=len(group),
                p50_ms=_percentile_ms(latencies_ms, 0.50),
                p99_ms=_percentile_ms(latencies_ms, 0.99),
                statuses=dict(sorted(statuses.items())),
            )
        )
    return tuple(out)


def summarise_phase(
    plan: PhasePlan, samples: list[Sample], unfinished: int, failures: tuple[str, ...]
) -> PhaseStats:
    in_window = [s for s in samples if s.done_s <= plan.duration_s]
    legit = [s for s in samples if s.who == LEGIT]
    legit_ms = sorted(s.latency_ms for s in legit)
    classes = Counter("error" if s.error else f"{s.status // 100}xx" for s in samples)
    errors = Counter(s.error for s in samples if s.error)
    five = [s for s in samples if s.status >= 500]
    shed = sum(1 for s in five if s.status == 503 and s.retry_after)
    return PhaseStats(
        phase=plan.name,
        clients=plan.clients,
        bad_clients=plan.bad_clients,
        duration_s=plan.duration_s,
        requests=len(samples),
        requests_in_window=len(in_window),
        throughput_rps=round(len(in_window) / plan.duration_s, 1),
        legit_requests=len(legit),
        legit_throughput_rps=round(
            sum(1 for s in in_window if s.who == LEGIT) / plan.duration_s, 1
        ),
        legit_p50_ms=_percentile_ms(legit_ms, 0.50),
        legit_p99_ms=_percentile_ms(legit_ms, 0.99),
        status_classes=dict(sorted(classes.items())),
        status_429=sum(1 for s in samples if s.status == 429),
        status_503=sum(1 for s in samples if s.status == 503),
        status_503_retry_after=shed,
        server_errors_5xx=len(five),
        failing_5xx=len(five) - shed,
        transport_errors=dict(sorted(errors.items())),
        first_transport_error_s=min((round(s.done_s, 2) for s in samples if s.error), default=None),
        bad_token_2xx=sum(1 for s in samples if s.who != LEGIT and 200 <= s.status < 300),
        unfinished_clients=unfinished,
        client_failures=failures,
        endpoints=_endpoint_stats(samples),
    )


def _ratio(new: float, old: float) -> float | None:
    return round(new / old, 3) if old > 0 else None


def measure(name: str, url: str, args: argparse.Namespace, log_dir: Path) -> DbReport:
    """Prepare the database, serve it, run warm-up, baseline and mixed phases against it."""
    tag = uuid.uuid4().hex[:8]
    began = time.perf_counter()
    creds = prepare_database(url, tag)
    setup_s = round(time.perf_counter() - began, 2)
    workers = args.workers if name == "postgresql" else 1  # SQLite serves with one worker
    server = Server(url, log_dir / f"{name}-server", workers)
    rss_kib: dict[str, int] = {}
    phases: list[PhaseStats] = []
    acked: list[str] = []
    kill: Kill | None = None
    plans = [
        ("warmup", 1, 0, WARMUP_S),
        ("baseline", args.clients, 0, args.duration_s * BASELINE_FRACTION),
        ("mixed", args.clients, args.bad_clients, args.duration_s),
    ]
    try:
        server.start()
        rss_kib["start"] = server.memory_kib().get("VmRSS", 0)
        for phase, clients, bad, duration_s in plans:
            plan = PhasePlan(
                phase, server.base_url, creds, clients, bad, duration_s,
                args.max_requests, args.seed, args.timeout_s, tag, acked,
            )  # fmt: skip
            if phase == "mixed" and args.kill_worker_at_s is not None and workers > 1:
                assert server.proc is not None
                kill = Kill(args.kill_worker_at_s, server.proc.pid)
                kill.arm()
            phases.append(run_phase(plan))
            if kill is not None and phase == "mixed":
                kill.finish()
            rss_kib[f"after_{phase}"] = server.memory_kib().get("VmRSS", 0)
        rss_kib["peak"] = server.memory_kib().get("VmHWM", 0)
    finally:
        server.stop()
    base, mixed = phases[1], phases[2]
    return DbReport(
        database=name,
        setup_s=setup_s,
        phases=tuple(phases),
        legit_throughput_ratio=_ratio(mixed.legit_throughput_rps, base.legit_throughput_rps),
        legit_p99_ratio=_ratio(mixed.legit_p99_ms, base.legit_p99_ms),
        rss_kib=rss_kib,
        server_exit_code=server.exit_code,
        server_log=summarise_server_log(server.stderr_path, server.stdout_path),
        workers=workers,
        kill=None if kill is None else _after_kill(kill, url, acked),
    )


def _after_kill(kill: Kill, url: str, acked: list[str]) -> dict[str, Any]:
    """What the kill cost: acknowledged submissions missing, and the books' checks."""
    missing = missing_requests(url, acked)
    return {
        "at_s": kill.at_s,
        "killed_pid": kill.killed_pid,
        "killed_at_s": kill.killed_at_s,
        "workers_before": kill.workers_before,
        "workers_after": kill.workers_after,
        "acknowledged_writes": len(acked),
        "lost_acknowledged": len(missing),
        "lost_examples": missing[:5],
        **check_books(_suanli_command(), url, ROOT),
    }


def measure_all(args: argparse.Namespace, log_dir: Path) -> list[DbReport]:
    reports: list[DbReport] = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
            reports.append(measure("sqlite", f"sqlite:///{tmp}/load.db", args, log_dir))
    if args.db in ("postgresql", "both"):
        server = None
        url = args.pg_url
        try:
            if url is None:
                from tests.pg_server import PostgresServer

                server = PostgresServer().start()
                url = server.create_database("bench_load")
            reports.append(measure("postgresql", url, args, log_dir))
        finally:
            if server is not None:
                server.stop()
    return reports


# Output


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def print_reports(reports: list[DbReport], log_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)  # wide enough for every column when not on a terminal
    table = Table(title="Load: phases (legit = legitimate clients only)")
    heads = ["db", "phase", "clients", "bad", "requests", "req/s", "legit req/s", "legit p50 ms"]
    heads += ["legit p99 ms", "2xx", "4xx", "5xx", "503+RA", "429", "transport", "RSS MiB"]
    for head in heads:
        table.add_column(head, justify="left" if head in ("db", "phase") else "right")
    for rep in reports:
        for p in rep.phases:
            cls = p.status_classes
            table.add_row(
                rep.database, p.phase, str(p.clients), str(p.bad_clients), str(p.requests),
                f"{p.throughput_rps:.1f}", f"{p.legit_throughput_rps:.1f}",
                f"{p.legit_p50_ms:.1f}", f"{p.legit_p99_ms:.1f}", str(cls.get("2xx", 0)),
                str(cls.get("4xx", 0)), str(p.server_errors_5xx), str(p.status_503_retry_after),
                str(p.status_429), str(sum(p.transport_errors.values())),
                _mib(rep.rss_kib.get(f"after_{p.phase}", 0)),
            )  # fmt: skip
    console.print(table)
    for rep in reports:
        _print_db(console, rep)
    console.print(f"server logs: {log_dir}", highlight=False)


def _print_db(console: Any, rep: DbReport) -> None:
    from rich.table import Table

    base, mixed = rep.phases[1], rep.phases[2]
    console.print(
        f"[bold]{rep.database}[/bold]: legit throughput mixed/baseline "
        f"{rep.legit_throughput_ratio}, legit p99 mixed/baseline {rep.legit_p99_ratio}; "
        f"RSS {_mib(rep.rss_kib.get('start', 0))} -> {_mib(rep.rss_kib.get('after_mixed', 0))}"
        f" MiB (peak {_mib(rep.rss_kib.get('peak', 0))}); setup {rep.setup_s} s; "
        f"server exit {rep.server_exit_code}",
        highlight=False,
    )
    table = Table(title=f"{rep.database}: per endpoint (baseline | mixed)")
    for head in ("who", "endpoint", "n base", "p50", "p99", "n mixed", "p50 ", "p99 ", "statuses"):
        table.add_column(
            head, justify="left" if head in ("who", "endpoint", "statuses") else "right"
        )
    before = {(e.who, e.endpoint): e for e in base.endpoints}
    for e in mixed.endpoints:
        b = before.get((e.who, e.endpoint))
        table.add_row(
            e.who, e.endpoint, str(b.requests if b else 0), f"{b.p50_ms:.1f}" if b else "",
            f"{b.p99_ms:.1f}" if b else "", str(e.requests), f"{e.p50_ms:.1f}",
            f"{e.p99_ms:.1f}", " ".join(f"{k}:{v}" for k, v in e.statuses.items()),
        )  # fmt: skip
    console.print(table)
    for p in rep.phases:
        if p.transport_errors or p.unfinished_clients or p.client_failures:
            console.print(
                f"  {p.phase}: transport errors {p.transport_errors}, unfinished clients "
                f"{p.unfinished_clients}, client failures {list(p.client_failures)[:3]}",
                highlight=False,
            )
    log = rep.server_log
    console.print(
        f"  server stderr: {log.tracebacks} tracebacks, {log.error_lines} ERROR lines",
        highlight=False,
    )
    if rep.kill is not None:
        k = rep.kill
        console.print(
            f"  workers {rep.workers}: killed pid {k['killed_pid']} at {k['killed_at_s']} s of "
            f"the mixed phase; workers after {k['workers_after']}; acknowledged submissions "
            f"{k['acknowledged_writes']}, lost {k['lost_acknowledged']}; ledger check exit "
            f"{k['ledger_check_exit']}, audit verify exit {k['audit_verify_exit']}",
            highlight=False,
        )
    for line, count in log.exceptions:
        console.print(f"    {count:6d}  {line}", highlight=False)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=64, help="legitimate client threads")
    parser.add_argument("--bad-clients", type=int, default=32, help="bad-token client threads")
    parser.add_argument("--duration-s", type=float, default=20.0, help="mixed phase (max 120)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap per phase")
    parser.add_argument("--timeout-s", type=float, default=60.0, help="per-request timeout")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", help="PostgreSQL URL (default: a throwaway server)")
    parser.add_argument("--log-dir", type=Path, help="keep server logs here (default: a temp dir)")
    parser.add_argument(
        "--workers", type=int, default=1, help="suanli serve --workers (PostgreSQL)"
    )
    parser.add_argument(
        "--kill-worker-at-s", type=float,
        help="SIGKILL one worker this many seconds into the mixed phase (needs --workers > 1)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    if args.kill_worker_at_s is not None and (args.workers < 2 or args.db != "postgresql"):
        parser.error("--kill-worker-at-s needs --db postgresql and --workers 2 or more")
    if not 0 < args.duration_s <= MAX_DURATION_S:
        parser.error(f"--duration-s must be in (0, {MAX_DURATION_S:.0f}]")
    if args.clients < 1 or args.bad_clients < 0 or args.max_requests < 1:
        parser.error("--clients must be ≥ 1, --bad-clients ≥ 0, --max-requests ≥ 1")
    if not 0 < args.timeout_s <= MAX_DURATION_S:
        parser.error(f"--timeout-s must be in (0, {MAX_DURATION_S:.0f}]")
    return args


def main() -> int:
    args = parse_args()
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="suanli-load-logs-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    reports = measure_all(args, log_dir)
    failed = any(rep.failed for rep in reports)
    if args.json:
        out = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "measured_at": measured_at,
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "log_dir": str(log_dir),
            "ok": not failed,
            "databases": [dataclasses.asdict(rep) for rep in reports],
        }
        print(json.dumps(out, indent=2))
    else:
        print_reports(reports, log_dir)
        print("FAILED: 5xx, transport errors or a bad token let in" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
