"""Slurm backend: sbatch to submit, scontrol to track, scancel to cancel, and Slurm's own
accounting (the jobcomp record read by ``sacct -c``) for elapsed time and allocated CPUs.

Accelerators map to GRES (``--gres=gpu:N``); Slurm then sets CUDA_VISIBLE_DEVICES, which the job
script copies to the vendor's own variable. Without slurmdbd Slurm's records carry no GPU count,
so that comes from ``TresPerNode`` while slurmctld remembers the job, else from the request.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field

from suanli.agent.backends.base import Capabilities, Phase, Poll, Submission, tail
from suanli.domain.jobs import VISIBILITY_VARS, ExitClass, classify_exit, vendor_key
from suanli.errors import BackendError

_DONE = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
         "PREEMPTED", "BOOT_FAIL", "DEADLINE"}  # fmt: skip
_STACK_STATES = {"NODE_FAIL", "BOOT_FAIL"}  # the site failed, not the job
_GPU_RE = re.compile(r"gpu(?::[^:,=]+)?[:=](\d+)")


def parse_elapsed_s(text: str) -> int:
    """Slurm's ``[D-]HH:MM:SS`` (or ``MM:SS``) as seconds."""
    days, _, rest = text.rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, minutes, seconds = parts
    return (int(days or 0) * 24 + hours) * 3600 + minutes * 60 + seconds


def parse_scontrol(text: str) -> dict[str, str]:
    """``scontrol -o show job`` prints one line of Key=Value pairs."""
    fields: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep:
            fields[key] = value
    return fields


@dataclass
class SlurmBackend:
    slurm_conf: str | None = None  # SLURM_CONF for the client commands; None: the site default
    partition: str | None = None
    timeout_s: float = 10.0
    name: str = "slurm"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(
            gres=True, accounting=True, cancel=True, time_limit=True
        )
    )
    _jobs: dict[str, Submission] = field(default_factory=dict)
    _cancelled: set[str] = field(default_factory=set)

    def _env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {**os.environ, **(extra or {})}
        if self.slurm_conf:
            env["SLURM_CONF"] = self.slurm_conf
        return env

    def _run(self, args: list[str], env: dict[str, str] | None = None) -> str:
        try:
            done = subprocess.run(
                args, env=env or self._env(), capture_output=True, text=True, timeout=self.timeout_s
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BackendError(f"{args[0]} failed: {exc}") from exc
        if done.returncode != 0:
            raise BackendError(f"{args[0]} exited {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def script(self, job: Submission) -> str:
        """The batch command: copy Slurm's GPU binding to the vendor's variable, then exec."""
        var = VISIBILITY_VARS.get(vendor_key(job.vendor), "CUDA_VISIBLE_DEVICES")
        prefix = "" if var == "CUDA_VISIBLE_DEVICES" else f'export {var}="$CUDA_VISIBLE_DEVICES"; '
        return prefix + "exec " + shlex.join(job.spec.command)

    def submit(self, job: Submission) -> str:
        spec = job.spec
        # A run is leased again only after its earlier lease was lost (the agent died or was cut
        # off). Its Slurm job outlives that agent: cancel it, or two copies of the run would share
        # one checkpoint and the old one would run on unmetered.
        self._run(["scancel", f"--name={job_name(job.run_id)}"])
        minutes = max(1, -(-spec.time_limit_s // 60))
        args = ["sbatch", "--parsable", "-J", job_name(job.run_id), "-c", str(spec.cpus)]
        args += ["-t", str(minutes), "-o", job.output_path, "--export=ALL"]
        if spec.workdir:
            args += ["--chdir", spec.workdir]
        if spec.accelerators:
            args += [f"--gres=gpu:{spec.accelerators}"]
        if self.partition:
            args += ["-p", self.partition]
        env = {
            **spec.env,
            "SUANLI_RUN_ID": job.run_id,
            "SUANLI_CHECKPOINT_DIR": spec.checkpoint_dir,
        }
        out = self._run([*args, "--wrap", self.script(job)], self._env(env))
        handle = out.strip().split(";")[0]
        if not handle.isdigit():
            raise BackendError(f"sbatch printed no job id: {out!r}")
        self._jobs[handle] = job
        return handle

    def poll(self, handle: str) -> Poll:
        try:
            info = parse_scontrol(self._run(["scontrol", "-o", "show", "job", handle]))
        except BackendError:
            info = {}  # slurmctld forgot the job (after MinJobAge): accounting still knows it
        state = info.get("JobState", "")
        job = self._jobs.get(handle)
        asked = job.spec.accelerators if job else 0
        gpus = _gpus(info.get("TresPerNode", "")) or asked
        if state in ("PENDING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED"):
            return Poll(Phase.PENDING, accelerators=gpus)
        if state and state not in _DONE:
            wall = parse_elapsed_s(info.get("RunTime", "0:0"))
            return Poll(Phase.RUNNING, wall, gpus, int(info.get("NumCPUs", "0") or 0))
        record = self.accounting(handle)
        if record is None:
            # Finished, but the jobcomp record is not written yet: report it as still running.
            wall = parse_elapsed_s(info.get("RunTime", "0:0"))
            return Poll(Phase.RUNNING, wall, gpus, int(info.get("NumCPUs", "0") or 0))
        state = record["State"].split()[0]
        code = int(info.get("ExitCode", "0:0").split(":")[0]) if info else None
        output = tail(job.output_path) if job else ""
        if state in _STACK_STATES:
            exit_class = ExitClass.STACK_ERROR
        else:
            cancelled = state == "CANCELLED" or handle in self._cancelled
            exit_class = classify_exit(
                code if state != "TIMEOUT" else -1, output, cancelled=cancelled
            )
        return Poll(
            Phase.DONE,
            float(parse_elapsed_s(record["Elapsed"])),
            gpus,
            int(record["NCPUS"] or 0),
            exit_code=code,
            exit_class=exit_class,
            detail=state,
        )

    def accounting(self, handle: str) -> dict[str, str] | None:
        """This job's line in Slurm's completion records, or None before it is written."""
        cols = ["JobID", "State", "Start", "End", "Elapsed", "NCPUS"]
        out = self._run(["sacct", "-c", "-j", handle, "-P", "-n", "-o", ",".join(cols)])
        for line in out.splitlines():
            values = line.split("|")
            if values and values[0] == handle:
                return dict(zip(cols, values, strict=False))
        return None

    def cancel(self, handle: str) -> None:
        self._cancelled.add(handle)
        self._run(["scancel", handle])


def job_name(run_id: str) -> str:
    """The Slurm job name of a run: one run, one live Slurm job."""
    return f"suanli-{run_id}"


def _gpus(tres_per_node: str) -> int:
    match = _GPU_RE.search(tres_per_node)
    return int(match.group(1)) if match else 0
