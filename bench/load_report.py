"""bench/load.py's report: per database and phase, as a table or as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from load_records import DbReport

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
