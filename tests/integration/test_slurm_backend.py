"""The Slurm backend against the real single-node Slurm the test command starts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from suanli.agent.backends.base import Phase, Submission
from suanli.agent.backends.slurm import SlurmBackend, parse_scontrol
from suanli.domain.jobs import JobSpec


def _state(backend: SlurmBackend, handle: str) -> str:
    return parse_scontrol(backend._run(["scontrol", "-o", "show", "job", handle]))["JobState"]


def _wait_for(what: str, ready: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.slurm
def test_a_run_leased_again_cancels_the_slurm_job_of_its_lost_lease(
    slurm_cluster: Any, tmp_path: Path
) -> None:
    # The first agent died (SIGKILL) with its job running; Slurm keeps running it. The agent that
    # leases the run next must not leave two copies running, one of them never metered.
    spec = JobSpec(command=("sleep", "120"), accelerators=1, time_limit_s=300)
    job = Submission("orphan-1-a1", spec, "NVIDIA", str(tmp_path / "orphan-1-a1.out"))
    dead_agent = SlurmBackend(slurm_conf=str(slurm_cluster.conf))
    old = dead_agent.submit(job)
    _wait_for("the first job to run", lambda: _state(dead_agent, old) == "RUNNING")

    new_agent = SlurmBackend(slurm_conf=str(slurm_cluster.conf))
    new = new_agent.submit(job)
    try:
        assert new != old
        _wait_for("the orphan to be cancelled", lambda: _state(new_agent, old) == "CANCELLED")
        _wait_for("the new job to run", lambda: new_agent.poll(new).phase is Phase.RUNNING)
    finally:
        new_agent.cancel(new)
