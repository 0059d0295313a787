"""The Ray backend against the real single-node Ray head the test session starts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from suanli.agent.backends.base import Phase, Poll, Submission
from suanli.agent.backends.ray import RayBackend, submission_id
from suanli.domain.jobs import STACK_ERROR_EXIT_CODE, ExitClass, JobSpec

pytestmark = pytest.mark.ray


def _until(what: str, ready: Any, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := ready()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def _done(backend: RayBackend, handle: str) -> Poll:
    return _until(  # type: ignore[no-any-return]
        "the job to end", lambda: (p := backend.poll(handle)).phase is Phase.DONE and p
    )


def _job(tmp_path: Path, run_id: str, command: tuple[str, ...], **kw: Any) -> Submission:
    spec = JobSpec(command=command, checkpoint_dir=str(tmp_path), **kw)
    return Submission(run_id, spec, "Huawei", str(tmp_path / f"{run_id}.out"))


def test_a_job_runs_with_its_gpus_and_ray_accounts_for_its_time(
    ray_cluster: Any, tmp_path: Path
) -> None:
    script = 'echo "vis=$ASCEND_RT_VISIBLE_DEVICES run=$SUANLI_RUN_ID"; sleep 1'
    job = _job(tmp_path, "ray-ok-a1", ("sh", "-c", script), accelerators=2)
    backend = RayBackend(ray_cluster.address)
    handle = backend.submit(job)
    assert handle == submission_id("ray-ok-a1", 1)
    poll = _done(backend, handle)
    assert poll.exit_class is ExitClass.SUCCESS and poll.exit_code == 0
    assert poll.accelerators == 2 and poll.wall_s >= 1.0  # Ray's start and end times
    out = Path(job.output_path).read_text()
    assert "run=ray-ok-a1" in out
    assert len(out.split("vis=")[1].split()[0].split(",")) == 2  # Ray's two GPUs, Ascend's name


def test_exit_codes_classify_user_and_stack_errors(ray_cluster: Any, tmp_path: Path) -> None:
    backend = RayBackend(ray_cluster.address)
    user = backend.submit(_job(tmp_path, "ray-user-a1", ("sh", "-c", "exit 3"), accelerators=0))
    stack = backend.submit(
        _job(tmp_path, "ray-stack-a1", ("sh", "-c", f"exit {STACK_ERROR_EXIT_CODE}"))
    )
    assert _done(backend, user).exit_class is ExitClass.USER_ERROR
    poll = _done(backend, stack)
    assert poll.exit_class is ExitClass.STACK_ERROR and poll.exit_code == STACK_ERROR_EXIT_CODE


def test_cancel_stops_the_job(ray_cluster: Any, tmp_path: Path) -> None:
    backend = RayBackend(ray_cluster.address)
    handle = backend.submit(_job(tmp_path, "ray-cancel-a1", ("sleep", "120")))
    _until("the job to run", lambda: backend.poll(handle).phase is Phase.RUNNING)
    backend.cancel(handle)
    poll = _done(backend, handle)
    assert poll.exit_class is ExitClass.CANCELLED and poll.wall_s < 60


def test_the_backend_stops_a_job_past_its_time_limit(ray_cluster: Any, tmp_path: Path) -> None:
    backend = RayBackend(ray_cluster.address)
    handle = backend.submit(_job(tmp_path, "ray-limit-a1", ("sleep", "120"), time_limit_s=1))
    poll = _done(backend, handle)
    assert poll.exit_class is ExitClass.USER_ERROR and poll.detail == "time limit reached"


def test_a_run_leased_again_stops_the_ray_job_of_its_lost_lease(
    ray_cluster: Any, tmp_path: Path
) -> None:
    # The first agent died (SIGKILL) with its job running; Ray keeps running it. The agent that
    # leases the run next must not leave two copies running, one of them never metered.
    job = _job(tmp_path, "ray-orphan-a1", ("sleep", "120"), time_limit_s=300)
    dead_agent = RayBackend(ray_cluster.address)
    old = dead_agent.submit(job)
    _until("the first job to run", lambda: dead_agent.poll(old).phase is Phase.RUNNING)

    new_agent = RayBackend(ray_cluster.address)
    new = new_agent.submit(job)
    try:
        assert (old, new) == (submission_id("ray-orphan-a1", 1), submission_id("ray-orphan-a1", 2))
        assert new_agent.poll(old).phase is Phase.DONE  # stopped before the new one was sent
        _until("the new job to run", lambda: new_agent.poll(new).phase is Phase.RUNNING)
    finally:
        new_agent.cancel(new)


def test_an_unreachable_cluster_is_a_backend_error(tmp_path: Path) -> None:
    from suanli.errors import BackendError

    backend = RayBackend("http://127.0.0.1:9")
    with pytest.raises(BackendError):
        backend.connect()
    with pytest.raises(BackendError):
        backend.submit(_job(tmp_path, "ray-nowhere-a1", ("true",)))
