"""Agents as separate processes against a served API: a real Slurm and a real Ray run a job end to
end, and an agent killed with SIGKILL mid-run loses its lease to a new agent, with the work billed
once; on Ray a stack error falls back to another offer, which resumes from the checkpoint."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from suanli.domain.jobs import cost_fen
from suanli.services import runs
from suanli.services.world import load_world
from suanli.store.db import make_engine
from suanli.store.migrate import upgrade
from suanli.store.tables.ledger import ledger_transfers as transfers
from suanli.store.uow import UnitOfWork
from tests.agent_support import TENANT, agent_token, fund, ledger_breaks, train_command

SUANLI = [sys.executable, "-m", "suanli.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Platform:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"sqlite:///{root / 'suanli.db'}"
        self.env = {**os.environ, "SUANLI_DATABASE_URL": self.url, "COLUMNS": "200"}
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        load_world(self.engine)
        fund(self.engine)  # the wallet pays: no live program accredits these sites for it
        self.base = f"http://127.0.0.1:{_free_port()}"
        self.officer = {"Authorization": "Bearer " + self._token("officer", None)}

    def _token(self, role: str, org: str | None) -> str:
        from suanli.services.tokens import create_token

        with UnitOfWork(self.engine) as uow:
            token = create_token(uow, role, org)
            uow.commit()
        return token

    def submit(self, request_id: str, offer_id: str, spec: dict[str, Any], **extra: Any) -> None:
        body = {"request_id": request_id, "tenant_id": TENANT, "offer_id": offer_id,
                "spec": spec, **extra}  # fmt: skip
        resp = httpx.post(f"{self.base}/api/v1/jobs", json=body, headers=self.officer)
        assert resp.status_code == 201, resp.text

    def agent(self, site: str, *extra: str) -> subprocess.Popen[str]:
        cmd = [*SUANLI, "agent", "run", "--site", site, "--api", self.base, "--once"]
        cmd += ["--token", agent_token(self.engine, site), "--workdir", str(self.root / "agent")]
        return subprocess.Popen(
            [*cmd, *extra],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, run_id: str) -> dict[str, Any]:
        with UnitOfWork(self.engine, read_only=True) as uow:
            return runs.RunView(
                runs.get_run(uow, run_id), tuple(runs.usage_of(uow, run_id))
            ).to_dict()

    def ledger_check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SUANLI, "ledger", "check"], env=self.env, capture_output=True, text=True, timeout=60
        )


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform(tmp_path)
    server = subprocess.Popen(
        [*SUANLI, "serve", "--port", p.base.rsplit(":", 1)[1]],
        env=p.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{p.base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield p
    finally:
        server.terminate()
        server.wait(timeout=10)
        p.engine.dispose()


def _billed_once(p: Platform, run: dict[str, Any]) -> None:
    used = sum((Fraction(str(u["accelerator_seconds"])) for u in run["usage"]), Fraction(0))
    assert used > 0 and run["billed_fen"] == cost_fen(run["price_fen_per_accel_hour"], used)
    with UnitOfWork(p.engine, read_only=True) as uow:
        ids = [r.id for r in uow.conn.execute(select(transfers.c.id))]
    for part in run["holds"]:  # each hold resolved by exactly one post or void
        assert len([i for i in ids if i.startswith(f"run:{run['id']}:") and i.endswith(part)]) == 2
    check = p.ledger_check()
    if "No such command 'ledger'" in check.stderr:  # the CLI is not there: check in-process
        assert ledger_breaks(p.engine) == []
    else:
        assert check.returncode == 0, check.stdout + check.stderr


def _ran_two_metered_and_billed(p: Platform, agent: subprocess.Popen[str], run_id: str) -> None:
    """The agent finished the 40-step job on 2 accelerators; its usage was metered as 2 ×
    the wall time the scheduler recorded, and billed once."""
    out, _ = agent.communicate(timeout=120)
    assert agent.returncode == 0, out
    run = p.run(run_id)
    assert run["status"] == "succeeded", out
    assert "done steps=40" in (p.root / "agent" / f"{run_id}.out").read_text()
    assert sum(u["wall_seconds"] for u in run["usage"]) >= 1
    assert sum(u["accelerator_seconds"] for u in run["usage"]) == 2 * sum(
        u["wall_seconds"] for u in run["usage"]
    )
    _billed_once(p, run)


@pytest.mark.slurm
def test_real_slurm_runs_a_job_and_the_ledger_settles(platform: Platform, slurm_cluster: Any):
    spec = {"command": train_command(40, step_s=0.02), "accelerators": 2, "time_limit_s": 300}
    platform.submit("slurm-1", "bj-zgc-2-h20", spec)
    agent = platform.agent(
        "bj-zgc-2", "--backend", "slurm", "--slurm-conf", str(slurm_cluster.conf)
    )
    # Slurm's accounting says how long it ran; two GRES GPUs were metered.
    _ran_two_metered_and_billed(platform, agent, "slurm-1-a1")


def test_agent_killed_mid_run_loses_its_lease_and_a_new_agent_finishes(platform: Platform):
    spec = {"command": train_command(100, step_s=0.05), "accelerators": 1, "time_limit_s": 300}
    platform.submit("fault-1", "bj-zgc-1-910b", spec)
    first = platform.agent("bj-zgc-1", "--lease-s", "3")
    ckpt = platform.root / "agent"
    deadline = time.monotonic() + 60
    while not (len(platform.run("fault-1-a1")["usage"]) >= 1 and list(ckpt.rglob("step-*.npz"))):
        assert time.monotonic() < deadline and first.poll() is None, "first agent made no progress"
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = platform.agent("bj-zgc-1", "--lease-s", "3")
    out, _ = second.communicate(timeout=120)
    run = platform.run("fault-1-a1")
    assert run["status"] == "succeeded" and run["leases"] == 2, out
    log = (ckpt / "fault-1-a1.out").read_text()
    assert "resumed from step-" in log and "done steps=100" in log
    seqs = [u["seq"] for u in run["usage"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len({u["lease_id"] for u in run["usage"]}) == 2  # both agents' work is metered
    _billed_once(platform, run)


def _ray_agent(p: Platform, site: str, cluster: Any, *extra: str) -> subprocess.Popen[str]:
    return p.agent(site, "--backend", "ray", "--ray-address", cluster.address, *extra)


@pytest.mark.ray
def test_real_ray_runs_a_job_and_the_ledger_settles(platform: Platform, ray_cluster: Any):
    spec = {"command": train_command(40, step_s=0.02), "accelerators": 2, "time_limit_s": 300}
    platform.submit("ray-1", "bj-zgc-2-h20", spec)
    agent = _ray_agent(platform, "bj-zgc-2", ray_cluster)
    # Ray's job record says how long it ran; two Ray GPUs were metered.
    _ran_two_metered_and_billed(platform, agent, "ray-1-a1")


@pytest.mark.ray
def test_ray_agent_killed_mid_run_loses_its_lease_and_the_next_stops_the_orphan(
    platform: Platform, ray_cluster: Any
):
    from ray.job_submission import JobSubmissionClient

    from suanli.agent.backends.ray import submission_id

    spec = {"command": train_command(500, step_s=0.06), "accelerators": 1, "time_limit_s": 300}
    platform.submit("rayfault-1", "bj-zgc-1-910b", spec)
    # A lease outlives a Ray submission (seconds on a busy machine), during which no beat is sent.
    first = _ray_agent(platform, "bj-zgc-1", ray_cluster, "--lease-s", "15")
    ckpt = platform.root / "agent"
    deadline = time.monotonic() + 90
    while not (len(platform.run("rayfault-1-a1")["usage"]) >= 1 and list(ckpt.rglob("step-*.npz"))):
        assert time.monotonic() < deadline and first.poll() is None, "first agent made no progress"
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)  # its Ray job runs on without it
    first.wait()
    second = _ray_agent(platform, "bj-zgc-1", ray_cluster, "--lease-s", "15")
    out, _ = second.communicate(timeout=180)
    run = platform.run("rayfault-1-a1")
    assert run["status"] == "succeeded" and run["leases"] == 2, out
    orphan = JobSubmissionClient(ray_cluster.address).get_job_info(submission_id(run["id"], 1))
    assert orphan.status.value == "STOPPED"  # stopped by the second agent, not left running
    log = (ckpt / "rayfault-1-a1.out").read_text()
    assert "resumed from step-" in log and "done steps=500" in log
    seqs = [u["seq"] for u in run["usage"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len({u["lease_id"] for u in run["usage"]}) == 2  # both agents' work is metered
    _billed_once(platform, run)


@pytest.mark.ray
def test_a_stack_error_on_ray_falls_back_and_resumes_from_the_checkpoint(
    platform: Platform, ray_cluster: Any
):
    # Ray gives the job CUDA_VISIBLE_DEVICES; the entrypoint copies it to Ascend's variable, so
    # the job sees a Huawei device and (as a broken stack would) dies with the stack-error class.
    cmd = train_command(40, fail_at_step=25, fail_on="huawei")
    spec = {"command": cmd, "accelerators": 1, "time_limit_s": 300}
    platform.submit("rayfb-1", "bj-zgc-1-910b", spec, fallback=["foreign"])
    first = _ray_agent(platform, "bj-zgc-1", ray_cluster)
    out, _ = first.communicate(timeout=120)
    attempt = platform.run("rayfb-1-a1")
    assert attempt["status"] == "failed" and attempt["exit_class"] == "stack_error", out
    second = platform.run("rayfb-1-a2")
    assert second["accelerator_id"].startswith("nvidia")
    done = _ray_agent(platform, second["site_id"], ray_cluster)
    out, _ = done.communicate(timeout=120)
    second = platform.run("rayfb-1-a2")
    assert second["status"] == "succeeded", out
    assert (
        "resumed from step-00000020.npz" in (platform.root / "agent" / "rayfb-1-a2.out").read_text()
    )
    for run in (platform.run("rayfb-1-a1"), second):  # each attempt metered and billed once
        _billed_once(platform, run)
