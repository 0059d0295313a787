"""Ray backend: each run is a Ray job, submitted, watched and stopped through Ray's job API
(``JobSubmissionClient`` against the cluster's dashboard address).

Accelerators map to Ray's ``GPU`` resource (``entrypoint_num_gpus``); Ray then sets
CUDA_VISIBLE_DEVICES for the job, which the entrypoint copies to the vendor's own variable. Elapsed
time comes from Ray's own job record (``start_time`` to ``end_time``), as Slurm's comes from its
accounting. Ray jobs have no time limit of their own: the backend stops a job that outlives it.

Submission ids derive from the run id (``suanli-<run>-<n>``, n counting the run's submissions to
this cluster), so the agent that leases a run again finds and stops the job a lost lease left
running, as the Slurm backend does with ``scancel --name``.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from typing import Any

from suanli.agent.backends.base import Capabilities, Phase, Poll, Submission, tail
from suanli.domain.jobs import VISIBILITY_VARS, ExitClass, classify_exit, vendor_key
from suanli.errors import BackendError

_LIVE = ("PENDING", "RUNNING")
# Ray's own failures, not the job's: the site failed, so the run falls back.
_STACK_ERROR_TYPES = frozenset({
    "JOB_SUPERVISOR_ACTOR_START_FAILURE", "JOB_SUPERVISOR_ACTOR_DIED",
    "JOB_SUPERVISOR_ACTOR_UNSCHEDULABLE", "JOB_SUPERVISOR_ACTOR_START_TIMEOUT",
    "RUNTIME_ENV_SETUP_FAILURE",
})  # fmt: skip


@dataclass
class _Job:
    submission: Submission | None  # None: a job this agent did not submit (found after a restart)
    cancelled: bool = False
    timed_out: bool = False


@dataclass
class RayBackend:
    address: str  # the dashboard's URL, e.g. http://127.0.0.1:8265
    stop_wait_s: float = 15.0  # how long a re-lease waits for the orphaned job to stop
    name: str = "ray"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(
            gres=True, accounting=True, cancel=True, time_limit=True
        )
    )
    _client: Any = None
    _jobs: dict[str, _Job] = field(default_factory=dict)

    def connect(self) -> RayBackend:
        """Reach the job API now (an agent checks its site before leasing work for it)."""
        self._api()
        return self

    def _api(self) -> Any:
        if self._client is None:
            try:
                from ray.job_submission import JobSubmissionClient

                self._client = JobSubmissionClient(self.address)
            except (ImportError, ConnectionError, RuntimeError, ValueError) as exc:
                raise BackendError(f"Ray job API at {self.address}: {exc}") from exc
        return self._client

    def _call(self, what: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._api(), what)(*args, **kwargs)
        except (ConnectionError, RuntimeError, ValueError, OSError) as exc:
            raise BackendError(f"ray {what}: {str(exc)[:300]}") from exc

    def _info(self, submission_id: str) -> Any | None:
        """The job's record, or None if the cluster has no such job."""
        try:
            return self._api().get_job_info(submission_id)
        except RuntimeError as exc:
            if "does not exist" in str(exc):
                return None
            raise BackendError(f"ray get_job_info: {str(exc)[:300]}") from exc
        except (ConnectionError, OSError, ValueError) as exc:
            raise BackendError(f"ray get_job_info: {exc}") from exc

    def entrypoint(self, job: Submission) -> str:
        """The shell command: environment, working directory, output file, then exec the job."""
        spec = job.spec
        env = {**spec.env, "SUANLI_RUN_ID": job.run_id,
               "SUANLI_CHECKPOINT_DIR": spec.checkpoint_dir}  # fmt: skip
        var = VISIBILITY_VARS.get(vendor_key(job.vendor), "CUDA_VISIBLE_DEVICES")
        parts = [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
        if var != "CUDA_VISIBLE_DEVICES":
            parts.append(f'export {var}="${{CUDA_VISIBLE_DEVICES:-}}"')
        if spec.workdir:
            parts.append(f"cd {shlex.quote(spec.workdir)}")
        parts.append(f"exec {shlex.join(spec.command)} >> {shlex.quote(job.output_path)} 2>&1")
        return "; ".join(parts)

    def submit(self, job: Submission) -> str:
        spec = job.spec
        # A run is leased again only after its earlier lease was lost; its Ray job outlives the
        # agent that submitted it. Stop it, or two copies would share one checkpoint and the old
        # one would run on unmetered.
        number = self._stop_earlier(job.run_id)
        handle = submission_id(job.run_id, number)
        self._call(
            "submit_job",
            entrypoint=self.entrypoint(job),
            submission_id=handle,
            entrypoint_num_cpus=spec.cpus,
            entrypoint_num_gpus=spec.accelerators,
            metadata={"suanli_run_id": job.run_id},
        )
        self._jobs[handle] = _Job(job)
        return handle

    def _stop_earlier(self, run_id: str) -> int:
        """Stop this run's earlier jobs still live; return the number for its next job."""
        number = 1
        while (info := self._info(submission_id(run_id, number))) is not None:
            if _status(info) in _LIVE:
                self._call("stop_job", submission_id(run_id, number))
                self._wait_stopped(submission_id(run_id, number))
            number += 1
        return number

    def _wait_stopped(self, handle: str) -> None:
        deadline = time.monotonic() + self.stop_wait_s
        while time.monotonic() < deadline:
            info = self._info(handle)
            if info is None or _status(info) not in _LIVE:
                return
            time.sleep(0.1)
        raise BackendError(f"ray job {handle} did not stop within {self.stop_wait_s} s")

    def poll(self, handle: str) -> Poll:
        info = self._info(handle)
        if info is None:
            raise BackendError(f"unknown ray job {handle}")
        job = self._jobs.setdefault(handle, _Job(None))
        spec = job.submission.spec if job.submission else None
        gpus = spec.accelerators if spec else 0
        cpus = spec.cpus if spec else 0
        status = _status(info)
        if status == "PENDING":
            return Poll(Phase.PENDING, accelerators=gpus)
        start_s = (info.start_time or 0) / 1000
        if status == "RUNNING":
            wall_s = max(time.time() - start_s, 0.0)
            if spec and wall_s > spec.time_limit_s and not job.timed_out:
                job.timed_out = True
                self._call("stop_job", handle)
            return Poll(Phase.RUNNING, wall_s, gpus, cpus)
        end_s = (info.end_time or 0) / 1000 or time.time()
        code = info.driver_exit_code
        output = tail(job.submission.output_path) if job.submission else ""
        if info.error_type in _STACK_ERROR_TYPES:
            exit_class = ExitClass.STACK_ERROR
        elif job.timed_out:
            exit_class = classify_exit(-1, output, cancelled=False)
        else:
            if status == "SUCCEEDED":
                code = 0
            exit_class = classify_exit(code, output, cancelled=status == "STOPPED")
        return Poll(
            Phase.DONE,
            max(end_s - start_s, 0.0),
            gpus,
            cpus,
            exit_code=code,
            exit_class=exit_class,
            detail="time limit reached" if job.timed_out else status,
        )

    def cancel(self, handle: str) -> None:
        self._jobs.setdefault(handle, _Job(None)).cancelled = True
        self._call("stop_job", handle)


def submission_id(run_id: str, number: int) -> str:
    """The Ray submission id of a run's ``number``-th job on this cluster."""
    return f"suanli-{run_id}-{number}"


def _status(info: Any) -> str:
    """A job record's status as Ray spells it (PENDING, RUNNING, STOPPED, SUCCEEDED, FAILED)."""
    return str(getattr(info.status, "value", info.status))
