"""The client and the CLI against a live ``suanli serve --workers 4`` on a real PostgreSQL:
concurrent writes through ``suanli.client`` keep the audit chain verifying and the ledger
balanced across worker processes, also when one worker is killed (SIGKILL) in the middle of
them; the tenant and provider commands run with ``--server``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from suanli.client import Client, rejection_of
from suanli.errors import BackendError, NotFoundError, Unauthenticated
from suanli.services.world import load_world
from suanli.store.db import make_engine
from suanli.store.migrate import upgrade
from suanli.store.tables.exchange import job_requests
from tests.agent_support import TENANT, fund, ledger_breaks

SUANLI = [sys.executable, "-m", "suanli.cli"]
WORKERS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(url: str, role: str, org: str | None) -> str:
    from suanli.services.tokens import create_token
    from suanli.store.uow import UnitOfWork

    engine = make_engine(url)
    with UnitOfWork(engine) as uow:
        token = create_token(uow, role, org)
        uow.commit()
    engine.dispose()
    return token


@dataclass
class Live:
    base: str
    db_url: str
    env: dict[str, str]
    officer: str
    tenant: str
    server_pid: int

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SUANLI, *args], env=self.env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip


@pytest.fixture
def live(pg_server: Any, tmp_path: Path) -> Iterator[Live]:
    if pg_server is None:
        url = os.environ.get("SUANLI_TEST_PG_URL")
        if not url:
            pytest.skip("PostgreSQL disabled by SUANLI_SKIP_PG")
        pytest.skip("needs a throwaway PostgreSQL (a database of its own)")
    url = pg_server.create_database(f"suanli_live_{uuid.uuid4().hex[:8]}")
    engine = make_engine(url)
    upgrade(engine)
    load_world(engine)
    fund(engine, wallet_fen=10_000_000_000)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "SUANLI_DATABASE_URL": url, "COLUMNS": "200"}
    log = (tmp_path / "server.log").open("w")
    cmd = [*SUANLI, "serve", "--port", str(port), "--workers", str(WORKERS)]
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        probe = Client(base, retries=0)
        deadline = time.monotonic() + 60
        while not probe.health():
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        probe.close()
        officer, tenant = _token(url, "officer", None), _token(url, "tenant", TENANT)
        yield Live(base, url, env, officer, tenant, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _request(rid: str) -> dict[str, Any]:
    return {"id": rid, "tenant_id": TENANT, "accelerators": 1, "spec": {"command": ["true"]},
            "workload": {"kind": "finetune", "params_b": 1, "tokens_b": 0.1}}  # fmt: skip


def test_concurrent_writes_through_four_workers_keep_the_chain_and_the_ledger(live: Live) -> None:
    def submit_twice(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
        with Client(live.base, live.tenant, seed=n) as api:
            first = api.exchange.submit(_request(f"w-{n}"))
            return first, api.exchange.submit(_request(f"w-{n}"))

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(submit_twice, range(48)))
    for first, again in answers:
        assert first["request_id"] == again["request_id"] and first["status"] == again["status"]
    assert any(a["status"] == "placed" for a, _ in answers)

    with Client(live.base, live.officer) as api:
        verified = api.audit.verify()
        assert verified["ok"] is True, verified
        entries = list(api.audit.entries(page_size=7))
        assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
        assert len(entries) > 48
        with pytest.raises(NotFoundError):
            api.exchange.request("no-such-request")
    with pytest.raises(Unauthenticated):
        Client(live.base, "not-a-token", retries=0).offers.list()
    engine = make_engine(live.db_url)
    assert ledger_breaks(engine) == []
    engine.dispose()
    check = live.cli("ledger", "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_tenant_and_provider_commands_run_against_the_server(live: Live, tmp_path: Path) -> None:
    tenant = ["--server", live.base, "--token", live.tenant]
    quote = live.cli("quote", "--tenant", TENANT, "--params-b", "1", "--tokens-b", "0.1",
                     "--json", *tenant)  # fmt: skip
    assert quote.returncode == 0, quote.stderr
    assert json.loads(quote.stdout)["feasible"]

    submit = live.cli("submit", "--id", "cli-1", "--tenant", TENANT, "--params-b", "1",
                      "--tokens-b", "0.1", "--command", "true", *tenant)  # fmt: skip
    assert submit.returncode in (0, 1), submit.stderr
    assert submit.stdout.startswith("cli-1:")
    assert live.cli("vouchers", "list", "--json", *tenant).returncode == 0
    month = time.strftime("%Y-%m")
    stmt = live.cli("statement", "--month", month, "--tenant", TENANT, "--json", *tenant)
    assert stmt.returncode == 0, stmt.stderr
    assert json.loads(stmt.stdout)["month"] == month

    officer = ["--server", live.base, "--token", live.officer]
    offers = json.loads(live.cli("offers", "list", "--json", *officer).stdout)
    from suanli.schemas.registry import OfferIn

    model = {k: v for k, v in offers[0].items() if k in OfferIn.model_fields}
    model["id"] = "cli-offer-1"
    path = tmp_path / "offer.json"
    path.write_text(json.dumps(model, default=str))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**model, "count": 0}))
    refused = live.cli("offers", "create", str(bad), *officer)
    assert refused.returncode == 2 and "count" in refused.stderr
    made = live.cli("offers", "create", str(path), *officer)
    assert made.returncode == 0, made.stderr
    assert live.cli("offers", "create", str(path), *officer).returncode == 0  # idempotent
    assert live.cli("offers", "retire", "cli-offer-1", *officer).returncode == 0
    listed = json.loads(live.cli("offers", "list", "--json", *officer).stdout)
    assert "cli-offer-1" not in {o["id"] for o in listed}

    no_token = live.cli("quote", "--tenant", TENANT, "--params-b", "1", "--server", live.base,
                        "--token", "")  # fmt: skip
    assert no_token.returncode == 1 and "token" in no_token.stderr
    assert rejection_of({"rejection": None}) is None


def _worker_pids(supervisor_pid: int) -> list[int]:
    """uvicorn's worker processes: the supervisor's spawned children (not its resource tracker)."""
    children = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_a_worker_killed_mid_writes_loses_no_acknowledged_write(live: Live) -> None:
    workers = _worker_pids(live.server_pid)
    assert len(workers) == WORKERS, workers
    acked: list[str] = []
    resets: list[str] = []
    stop = time.monotonic() + 6.0

    def write(n: int) -> None:
        with Client(live.base, live.tenant, retries=1, seed=n) as api:
            k = 0
            while time.monotonic() < stop:
                rid, k = f"kill-{n}-{k}", k + 1
                try:
                    api.exchange.submit(_request(rid))
                except BackendError as exc:
                    # A reset by the killed worker is no acknowledgement; any other failure
                    # (a 5xx) fails the test.
                    if not isinstance(exc.__cause__, httpx.TransportError):
                        raise
                    resets.append(rid)
                    continue
                acked.append(rid)

    with ThreadPoolExecutor(12) as pool:
        writers = [pool.submit(write, n) for n in range(12)]
        time.sleep(2.0)
        os.kill(workers[0], signal.SIGKILL)
        for writer in writers:
            writer.result()
    assert len(acked) > 24, (len(acked), len(resets))

    engine = make_engine(live.db_url)
    with engine.connect() as conn:
        stored = set(
            conn.scalars(select(job_requests.c.id).where(job_requests.c.id.like("kill-%")))
        )
    assert set(acked) <= stored, sorted(set(acked) - stored)[:5]
    assert ledger_breaks(engine) == []
    engine.dispose()
    deadline = time.monotonic() + 30  # the supervisor replaces the dead worker
    while len(_worker_pids(live.server_pid)) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.5)
    assert workers[0] not in _worker_pids(live.server_pid)
    for args in (("ledger", "check"), ("audit", "verify")):
        done = live.cli(*args)
        assert done.returncode == 0, done.stdout + done.stderr
