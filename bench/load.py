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
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from load_clients import (
    BadClient,
    Budget,
    LegitClient,
    Recorder,
)
from load_records import (
    BASELINE_FRACTION,
    JOIN_MARGIN_S,
    LEGIT,
    MAX_DURATION_S,
    ROOT,
    WARMUP_S,
    DbReport,
    EndpointStats,
    PhasePlan,
    PhaseStats,
    Sample,
)
from load_report import print_reports
from load_server import (
    Server,
    _suanli_command,
    prepare_database,
    summarise_server_log,
)
from suanli.client.http import Http
from worker_kill import Kill, check_books, missing_requests

sys.path.insert(0, str(ROOT))  # for tests.pg_server

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
