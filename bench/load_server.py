"""bench/load.py's database and server: a fresh database with the demo world and tokens, and
``suanli serve`` as a subprocess."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from load_records import (
    HEALTH_TIMEOUT_S,
    ROOT,
    STOP_TIMEOUT_S,
    WALLET_FEN,
    Credentials,
    ServerLog,
)
from suanli.domain.registry import Site, Tenant
from suanli.domain.roles import SYSTEM
from suanli.services import registry, settlement, tokens
from suanli.services.world import load_world
from suanli.store.db import make_engine
from suanli.store.migrate import upgrade
from suanli.store.uow import UnitOfWork

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
