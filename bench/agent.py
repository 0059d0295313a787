"""Overhead from submitting a job to its process starting, through a site agent.

    .venv/bin/python bench/agent.py --repeats 10 [--no-slurm] [--no-ray]

The job prints ``time.time()`` as its first act. Each agent path has two rows: from submitting the
job (POST /api/v1/jobs) to its start, and from the agent's lease of the run to its start (the
agent's own path). "local agent" submits through the API (in process, a fresh SQLite database) to an
agent already long-polling, which starts the job with the local backend; the baseline is
``subprocess.Popen`` of the same command. "slurm agent" does the same through the Slurm backend
against a real single-node Slurm started here (as in the tests); its baseline is a bare ``sbatch
--wrap`` of the command. "ray agent" goes through the Ray backend to a single-node Ray head started
here; its baseline is a bare ``JobSubmissionClient.submit_job`` of the command (its output
redirected to a file, as the backend does).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402
from tests.agent_support import fund, make_agent  # noqa: E402
from tests.ray_cluster import RayCluster  # noqa: E402
from tests.ray_cluster import missing as ray_missing  # noqa: E402
from tests.slurm_cluster import SlurmCluster, missing_binaries  # noqa: E402

from suanli.agent.backends.base import Backend  # noqa: E402
from suanli.agent.backends.local import LocalBackend  # noqa: E402
from suanli.agent.backends.slurm import SlurmBackend  # noqa: E402
from suanli.api.app import create_app  # noqa: E402
from suanli.services.world import load_world  # noqa: E402
from suanli.store.db import make_engine  # noqa: E402
from suanli.store.migrate import upgrade  # noqa: E402

JOB = [sys.executable, "-c", "import time; print('started', time.time(), flush=True)"]


def _started(path: Path, timeout_s: float = 60) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines(keepends=True):
                if line.startswith("started ") and line.endswith("\n"):  # a whole line
                    return float(line.split()[1])
        time.sleep(0.005)
    raise TimeoutError(f"no start line in {path}")


def bare_popen(root: Path, n: int) -> list[float]:
    out = []
    for i in range(n):
        path = root / f"popen-{i}.out"
        with open(path, "w") as fh:
            t0 = time.time()
            subprocess.Popen(JOB, stdout=fh).wait()
        out.append(_started(path) - t0)
    return out


def bare_sbatch(cluster: SlurmCluster, n: int) -> list[float]:
    out = []
    for i in range(n):
        path = cluster.jobs / f"sbatch-{i}.out"
        t0 = time.time()
        subprocess.run(
            ["sbatch", "--parsable", "-c", "1", "-o", str(path), "--wrap", " ".join(JOB[:2])
             + f' "{JOB[2]}"'],  # fmt: skip
            env=cluster.env, check=True, capture_output=True,
        )  # fmt: skip
        out.append(_started(path) - t0)
    return out


def bare_submit_job(cluster: RayCluster, n: int) -> list[float]:
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(cluster.address)
    out = []
    for i in range(n):
        path = cluster.jobs / f"ray-{i}.out"
        t0 = time.time()
        client.submit_job(
            entrypoint=f"exec {shlex.join(JOB)} >> {path} 2>&1", entrypoint_num_cpus=1
        )
        out.append(_started(path) - t0)
    return out


def through_agent(
    root: Path, backend: Backend, site: str, offer: str, n: int
) -> tuple[list[float], list[float]]:
    """Seconds to each job's start from its submission, and from the agent's lease of it."""
    engine = make_engine(f"sqlite:///{root / f'{backend.name}.db'}")
    upgrade(engine)
    load_world(engine)
    fund(engine, wallet_fen=10_000_000)
    http = TestClient(create_app(engine))
    from suanli.services.tokens import create_token
    from suanli.store.uow import UnitOfWork

    with UnitOfWork(engine) as uow:
        officer = {"Authorization": "Bearer " + create_token(uow, "officer", None)}
        uow.commit()
    workdir = root / backend.name
    agent = make_agent(http, engine, site, backend, workdir)
    leased_at: dict[str, float] = {}
    lease = agent.api.lease

    def timed_lease(*args: Any, **kwargs: Any) -> dict[str, Any] | None:
        run = lease(*args, **kwargs)
        if run is not None:
            leased_at[run["id"]] = time.time()
        return run

    agent.api.lease = timed_lease  # type: ignore[method-assign]
    thread = threading.Thread(target=agent.run_forever, kwargs={"wait_s": 5, "max_runs": n})
    thread.start()
    out, from_lease = [], []
    for i in range(n):
        body = {"request_id": f"b-{i}", "tenant_id": "deepharbor-ai", "offer_id": offer,
                "spec": {"command": JOB, "accelerators": 1, "time_limit_s": 120}}  # fmt: skip
        t0 = time.time()
        assert http.post("/api/v1/jobs", json=body, headers=officer).status_code == 201
        started = _started(workdir / f"b-{i}-a1.out")
        out.append(started - t0)
        from_lease.append(started - leased_at[f"b-{i}-a1"])
        _settled(http, officer, f"b-{i}-a1")
        time.sleep(0.3)  # let the agent long-poll again
    thread.join(timeout=120)
    engine.dispose()
    return out, from_lease


def agent_rows(name: str, root: Path, backend: Backend, offer: str, n: int, base: list[float]
               ) -> None:  # fmt: skip
    site = offer.rsplit("-", 1)[0]
    from_submit, from_lease = through_agent(root, backend, site, offer, n)
    print(row(f"{name}: submit -> start", from_submit, base))
    print(row(f"{name}: lease -> start", from_lease, base))


def _settled(http: TestClient, headers: dict[str, str], run_id: str, timeout_s: float = 60) -> None:
    """Wait for the agent to finish the run (a Ray job ends seconds after its process)."""
    deadline = time.monotonic() + timeout_s
    while http.get(f"/api/v1/runs/{run_id}", headers=headers).json()["settled_at"] is None:
        assert time.monotonic() < deadline, f"{run_id} did not settle"
        time.sleep(0.05)


def row(name: str, xs: list[float], base: list[float]) -> str:
    med, p90 = statistics.median(xs), sorted(xs)[int(0.9 * (len(xs) - 1))]
    ratio = med / statistics.median(base)
    return f"| {name} | {len(xs)} | {med * 1000:.0f} | {p90 * 1000:.0f} | {ratio:.1f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-slurm", action="store_true")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    n = args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        popen = bare_popen(root, n)
        print("| path | n | median ms | p90 ms | vs baseline |")
        print("| --- | --- | --- | --- | --- |")
        print(row("bare Popen (baseline for local)", popen, popen))
        agent_rows("local agent", root, LocalBackend(), "bj-zgc-1-910b", n, popen)
        if not (args.no_ray or ray_missing()):
            bench_ray(root, n)
        if args.no_slurm or missing_binaries():
            return
        cluster = SlurmCluster().start()
        try:
            os.environ["SLURM_CONF"] = str(cluster.conf)
            sbatch = bare_sbatch(cluster, n)
            print(row("bare sbatch (baseline for Slurm)", sbatch, sbatch))
            backend = SlurmBackend(slurm_conf=str(cluster.conf))
            agent_rows("slurm agent", root, backend, "bj-zgc-2-h20", n, sbatch)
        finally:
            cluster.stop()


def bench_ray(root: Path, n: int) -> None:
    from suanli.agent.backends.ray import RayBackend

    ray = RayCluster().start()
    try:
        submit_job = bare_submit_job(ray, n)
        print(row("bare submit_job (baseline for Ray)", submit_job, submit_job))
        backend = RayBackend(ray.address)
        agent_rows("ray agent", root, backend, "bj-zgc-2-h20", n, submit_job)
    finally:
        ray.stop()


if __name__ == "__main__":
    main()
