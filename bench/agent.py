"""Overhead from submitting a job to its process starting, through a site agent.

    .venv/bin/python bench/agent.py --repeats 10 [--no-slurm]

The job prints ``time.time()`` as its first act. "local agent" submits through the API (in
process, a fresh SQLite database) to an agent already long-polling, which starts the job with the
local backend; the baseline is ``subprocess.Popen`` of the same command. "slurm agent" does the
same through the Slurm backend against a real single-node Slurm started here (as in the tests);
its baseline is a bare ``sbatch --wrap`` of the command.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402
from tests.agent_support import fund, make_agent  # noqa: E402
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
            for line in path.read_text().splitlines():
                if line.startswith("started "):
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


def through_agent(root: Path, backend: Backend, site: str, offer: str, n: int) -> list[float]:
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
    thread = threading.Thread(target=agent.run_forever, kwargs={"wait_s": 5, "max_runs": n})
    thread.start()
    out = []
    for i in range(n):
        body = {"request_id": f"b-{i}", "tenant_id": "deepharbor-ai", "offer_id": offer,
                "spec": {"command": JOB, "accelerators": 1, "time_limit_s": 120}}  # fmt: skip
        t0 = time.time()
        assert http.post("/api/v1/jobs", json=body, headers=officer).status_code == 201
        out.append(_started(workdir / f"b-{i}-a1.out") - t0)
        time.sleep(0.3)  # let the agent finish and long-poll again
    thread.join(timeout=120)
    engine.dispose()
    return out


def row(name: str, xs: list[float], base: list[float]) -> str:
    med, p90 = statistics.median(xs), sorted(xs)[int(0.9 * (len(xs) - 1))]
    ratio = med / statistics.median(base)
    return f"| {name} | {len(xs)} | {med * 1000:.0f} | {p90 * 1000:.0f} | {ratio:.1f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-slurm", action="store_true")
    args = parser.parse_args()
    n = args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        popen = bare_popen(root, n)
        print("| path | n | median ms | p90 ms | vs baseline |")
        print("| --- | --- | --- | --- | --- |")
        print(row("bare Popen (baseline for local)", popen, popen))
        print(
            row(
                "local agent",
                through_agent(root, LocalBackend(), "bj-zgc-1", "bj-zgc-1-910b", n),
                popen,
            )
        )
        if args.no_slurm or missing_binaries():
            return
        cluster = SlurmCluster().start()
        try:
            os.environ["SLURM_CONF"] = str(cluster.conf)
            sbatch = bare_sbatch(cluster, n)
            print(row("bare sbatch (baseline for Slurm)", sbatch, sbatch))
            backend = SlurmBackend(slurm_conf=str(cluster.conf))
            print(
                row(
                    "slurm agent",
                    through_agent(root, backend, "bj-zgc-2", "bj-zgc-2-h20", n),
                    sbatch,
                )
            )
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
