"""bench/load.py's records and settings: what a phase plans, samples and reports."""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]  # the checkout
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
