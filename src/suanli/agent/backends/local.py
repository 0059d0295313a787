"""The embedded backend: each job is a child process of the agent.

The child gets the job's environment, working directory and accelerator visibility variables; the
agent enforces the time limit. Children die with the agent (PR_SET_PDEATHSIG), as jobs on a
scheduler die with their allocation: a new agent re-runs the work from its last checkpoint.

The death signal is set by util-linux's ``setpriv --pdeathsig`` exec'ing the job, not by Python
code in the forked child: a ``preexec_fn`` makes every start fork the whole agent (tens of ms in
a process the agent's size), where without one Python starts children with vfork. (An agent that
dies in the instant between the start and setpriv's prctl leaves that one job running.)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field

from suanli.agent.backends.base import Capabilities, Phase, Poll, Submission, tail
from suanli.domain.jobs import classify_exit, visibility_env
from suanli.errors import BackendError

_PR_SET_PDEATHSIG = 1
_SETPRIV = shutil.which("setpriv")  # util-linux; without it, the slower preexec_fn


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):  # not Linux: the child outlives the agent
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _program_missing(program: str, workdir: str, path: str | None) -> bool:
    """Whether the job's program cannot be found (setpriv would only say so by its exit code)."""
    if os.sep in program:
        return not os.access(os.path.join(workdir, program), os.X_OK)
    return shutil.which(program, path=path) is None


@dataclass
class _Job:
    proc: subprocess.Popen[bytes]
    submission: Submission
    started: float
    ended: float | None = None
    cancelled: bool = False
    timed_out: bool = False


@dataclass
class LocalBackend:
    """Runs jobs as local processes, on device ids 0..devices-1 handed out first come."""

    devices: int = 8
    name: str = "local"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(
            gres=False, accounting=False, cancel=True, time_limit=True
        )
    )
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _free: list[int] = field(default_factory=list)
    _devices_of: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._free = list(range(self.devices))

    def submit(self, job: Submission) -> str:
        spec = job.spec
        if spec.accelerators > len(self._free):
            raise BackendError(f"{spec.accelerators} accelerators asked, {len(self._free)} free")
        ids, self._free = self._free[: spec.accelerators], self._free[spec.accelerators :]
        env = {**os.environ, **spec.env, **visibility_env(job.vendor, ids)}
        env["SUANLI_RUN_ID"] = job.run_id
        env["SUANLI_CHECKPOINT_DIR"] = spec.checkpoint_dir
        workdir = spec.workdir or os.path.dirname(job.output_path)
        command = list(spec.command)
        try:
            if _SETPRIV is not None and _program_missing(command[0], workdir, env.get("PATH")):
                raise FileNotFoundError(f"no such program: {command[0]}")
            with open(job.output_path, "ab") as out:
                proc = subprocess.Popen(
                    [_SETPRIV, "--pdeathsig", "KILL", "--", *command] if _SETPRIV else command,
                    cwd=workdir,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=None if _SETPRIV else _die_with_parent,  # noqa: PLW1509
                )
        except OSError as exc:
            self._free = sorted(self._free + ids)
            raise BackendError(f"cannot start {spec.command[0]!r}: {exc}") from exc
        handle = str(proc.pid)
        self._jobs[handle] = _Job(proc, job, time.monotonic())
        self._devices_of[handle] = ids
        return handle

    def _job(self, handle: str) -> _Job:
        try:
            return self._jobs[handle]
        except KeyError as exc:
            raise BackendError(f"unknown local job {handle}") from exc

    def poll(self, handle: str) -> Poll:
        job = self._job(handle)
        spec = job.submission.spec
        returncode = job.proc.poll()
        now = time.monotonic()
        if returncode is None and now - job.started > spec.time_limit_s:
            job.timed_out = True
            self._stop(job)
            returncode = job.proc.returncode
        if returncode is None:
            return Poll(Phase.RUNNING, now - job.started, spec.accelerators, spec.cpus)
        if job.ended is None:
            job.ended = now
            self._free = sorted(self._free + self._devices_of.pop(handle, []))
        exit_class = classify_exit(
            returncode, tail(job.submission.output_path), cancelled=job.cancelled
        )
        return Poll(
            Phase.DONE,
            job.ended - job.started,
            spec.accelerators,
            spec.cpus,
            exit_code=returncode,
            exit_class=exit_class,
            detail="time limit reached" if job.timed_out else "",
        )

    def cancel(self, handle: str) -> None:
        job = self._job(handle)
        if job.proc.poll() is None:
            job.cancelled = True
            self._stop(job)

    @staticmethod
    def _stop(job: _Job) -> None:
        job.proc.terminate()
        try:
            job.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            job.proc.kill()
            job.proc.wait()
