"""A real single-node Ray for the tests: a head node with its dashboard (the job API) in a temp
folder, started with ``ray start --head`` and stopped with ``ray stop``.

Its GPUs are logical resources (``--num-gpus``): Ray hands them out and sets
CUDA_VISIBLE_DEVICES on a machine without GPUs, as the fake GRES devices do for Slurm.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def ray_binary() -> str | None:
    """The ``ray`` command beside this Python (the project's virtualenv), else on PATH."""
    beside = Path(sys.executable).with_name("ray")
    return str(beside) if beside.exists() else shutil.which("ray")


def missing() -> str | None:
    """Why Ray cannot be started here, or None."""
    try:
        import ray.job_submission  # noqa: F401
    except ImportError:
        return "ray is not installed: pip install -e '.[dev]' (ray[default])"
    if ray_binary() is None:
        return "the ray command is not on PATH"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RayCluster:
    def __init__(self, cpus: int = 4, gpus: int = 4) -> None:
        # Ray's socket paths must stay short (107 bytes): a short folder under /tmp.
        self.root = Path(tempfile.mkdtemp(prefix="suanli-ray-", dir="/tmp"))
        self.cpus = cpus
        self.gpus = gpus
        self.port = _free_port()
        self.address = f"http://127.0.0.1:{self.port}"
        self.jobs = self.root / "jobs"
        self._pgid: int | None = None

    @property
    def env(self) -> dict[str, str]:
        # RAY_ADDRESS and friends from the caller's shell must not point `ray` elsewhere.
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        return {**env, "RAY_USAGE_STATS_ENABLED": "0"}

    def start(self) -> RayCluster:
        self.jobs.mkdir()
        # A session of its own: every process of this head node (GCS, raylet, dashboard, job
        # drivers) is in this one process group, which stop() ends, and no other Ray on the
        # machine (`ray stop` would stop every one of this user's).
        done = subprocess.run(
            [ray_binary() or "ray", "start", "--head", "--port=0", "--dashboard-host=127.0.0.1",
             f"--dashboard-port={self.port}", f"--num-cpus={self.cpus}",
             f"--num-gpus={self.gpus}", "--disable-usage-stats", "--include-dashboard=true",
             f"--temp-dir={self.root / 'ray'}", "--ray-client-server-port", str(_free_port())],
            env=self.env, capture_output=True, text=True, timeout=180, start_new_session=True,
        )  # fmt: skip
        self._pgid = self._group_of(done)
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start failed: {done.stdout}\n{done.stderr}")
        self._wait_for_job_api()
        return self

    def _group_of(self, done: subprocess.CompletedProcess[str]) -> int | None:
        # `ray start` exits once its daemons run; they keep its process group, whose id is the
        # pid it had. Find it from a daemon that names our temp folder.
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and str(self.root) in (proc / "cmdline").read_text():
                    return os.getpgid(int(proc.name))
            except OSError:
                continue
        return None

    def _wait_for_job_api(self, timeout_s: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.address}/api/version", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"Ray's job API not up after {timeout_s} s; logs in {self.root}")

    def stop_jobs(self) -> None:
        """Stop every live job: Ray starts each job's command in a session of its own."""
        from ray.job_submission import JobSubmissionClient

        client = JobSubmissionClient(self.address)
        live = [j for j in client.list_jobs() if str(j.status.value) in ("PENDING", "RUNNING")]
        for job in live:
            client.stop_job(job.submission_id)
        deadline = time.monotonic() + 15
        while live and time.monotonic() < deadline:
            live = [j for j in live if str(client.get_job_info(j.submission_id).status.value)
                    in ("PENDING", "RUNNING")]  # fmt: skip
            time.sleep(0.1)

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # a head that never came up has no job API
            self.stop_jobs()
        if self._pgid is not None:
            for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self._pgid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait_s
                while time.monotonic() < deadline and _group_alive(self._pgid):
                    time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
