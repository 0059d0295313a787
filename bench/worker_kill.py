"""bench/load.py's worker-kill mode: SIGKILL one of ``suanli serve --workers N``'s worker
processes during the mixed phase, then check that nothing acknowledged was lost.

"Acknowledged" is a submission (``POST /api/v1/requests``) answered 2xx: its request id must be
in ``job_requests`` afterwards, whichever worker answered it. After the server stops, ``suanli
ledger check`` and ``suanli audit verify`` must pass on the same database. Requests in flight on
the killed worker, and keep-alive connections it held, fail at the transport (reset): they were
never acknowledged, so they are counted, not failed on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select

from suanli.store.db import make_engine
from suanli.store.tables.exchange import job_requests

ID_CHUNK = 500


def worker_pids(supervisor_pid: int) -> list[int]:
    """The worker processes uvicorn's supervisor runs (spawned children; not its resource
    tracker), from /proc."""
    try:
        children = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children").read_text()
    except OSError:
        return []
    pids = []
    for pid in map(int, children.split()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            pids.append(pid)
    return sorted(pids)


@dataclass
class Kill:
    """A SIGKILL of one worker ``at_s`` seconds into the phase it is armed for."""

    at_s: float
    supervisor_pid: int
    killed_pid: int | None = None
    killed_at_s: float | None = None
    workers_before: list[int] = field(default_factory=list)
    workers_after: list[int] = field(default_factory=list)
    _timer: threading.Timer | None = None
    _armed_at: float = 0.0

    def arm(self) -> None:
        self._armed_at = time.monotonic()
        self._timer = threading.Timer(self.at_s, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.workers_before = worker_pids(self.supervisor_pid)
        if not self.workers_before:
            return
        self.killed_pid = self.workers_before[0]
        os.kill(self.killed_pid, signal.SIGKILL)
        self.killed_at_s = round(time.monotonic() - self._armed_at, 2)

    def finish(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.workers_after = worker_pids(self.supervisor_pid)


def missing_requests(url: str, request_ids: list[str]) -> list[str]:
    """The acknowledged request ids that are not in the database."""
    engine = make_engine(url)
    stmt = select(job_requests.c.id).where(job_requests.c.id.in_(bindparam("ids", expanding=True)))
    found: set[str] = set()
    try:
        with engine.connect() as conn:
            for i in range(0, len(request_ids), ID_CHUNK):
                found.update(conn.scalars(stmt, {"ids": request_ids[i : i + ID_CHUNK]}))
    finally:
        engine.dispose()
    return [rid for rid in request_ids if rid not in found]


def check_books(suanli: str, url: str, cwd: Path) -> dict[str, Any]:
    """``suanli ledger check`` and ``suanli audit verify``: exit codes and last output lines."""
    env = {**os.environ, "SUANLI_DATABASE_URL": url}
    out: dict[str, Any] = {}
    for name, args in (
        ("ledger_check", ["ledger", "check"]),
        ("audit_verify", ["audit", "verify"]),
    ):
        done = subprocess.run([suanli, *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        out[f"{name}_exit"] = done.returncode
        out[f"{name}_tail"] = (done.stdout + done.stderr).strip().splitlines()[-3:]
    return out
