"""The site agent: lease a run over HTTP, run it on the site's backend, report, complete.

While a run lives the agent beats its lease and reports usage every ``report_s``; usage records
carry sequence numbers continuing from the server's ``next_seq``, so retries are harmless and a
new agent taking over a run never overwrites the old one's records. If the lease is lost (409),
the agent stops the job: someone else owns the run now.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from suanli.agent.backends.base import Backend, Phase, Poll, Submission
from suanli.domain.jobs import ExitClass, JobSpec
from suanli.errors import BackendError, ConflictError

API = "/api/v1"


class AgentApi:
    """The agent protocol over HTTP. Any httpx.Client works (a TestClient in-process)."""

    # Every report is idempotent (usage by sequence number, completion and heartbeat by lease),
    # so a request that failed in transit is simply sent again; the delays stay well inside a
    # lease, so a short network blip does not cost the run its lease.
    RETRY_DELAYS_S = (0.25, 0.5, 1.0, 2.0, 4.0)
    RETRY_STATUSES = frozenset({502, 503, 504})

    def __init__(self, client: httpx.Client, token: str, *, sleep: Any = time.sleep) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self._sleep = sleep

    def _send(self, path: str, body: dict[str, Any]) -> httpx.Response:
        for delay in (*self.RETRY_DELAYS_S, None):
            try:
                # The client's own timeout must exceed the long-poll wait (the CLI sets 60 s).
                resp = self.client.post(API + path, json=body, headers=self.headers)
            except httpx.TransportError as exc:
                if delay is None:
                    raise BackendError(f"POST {path}: {exc}") from exc
            else:
                if resp.status_code not in self.RETRY_STATUSES or delay is None:
                    return resp
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        resp = self._send(path, body)
        if resp.status_code == 409:
            raise ConflictError(resp.json().get("detail", "conflict"))
        if resp.status_code >= 400:
            raise BackendError(f"POST {path}: {resp.status_code} {resp.text[:300]}")
        return None if resp.status_code == 204 else resp.json()

    def lease(self, agent_id: str, lease_s: float, wait_s: float) -> dict[str, Any] | None:
        body = {"agent_id": agent_id, "lease_s": lease_s, "wait_s": wait_s}
        result: dict[str, Any] | None = self._post("/agent/lease", body)
        return result

    def run(self, run_id: str, what: str, body: dict[str, Any]) -> Any:
        return self._post(f"/agent/runs/{run_id}/{what}", body)


@dataclass
class Agent:
    api: AgentApi
    backend: Backend
    site_id: str
    workdir: Path
    agent_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    lease_s: float = 30.0
    poll_s: float = 0.25
    report_s: float = 2.0
    log: Any = None  # a callable taking one line, or None

    def _say(self, line: str) -> None:
        if self.log is not None:
            self.log(line)

    def run_once(self, wait_s: float = 0.0) -> dict[str, Any] | None:
        """Lease one run and see it through; return its completion, or None if none came."""
        run = self.api.lease(self.agent_id, self.lease_s, wait_s)
        if run is None:
            return None
        return self.execute(run)

    def run_forever(self, wait_s: float = 10.0, max_runs: int | None = None) -> int:
        done = 0
        while max_runs is None or done < max_runs:
            if self.run_once(wait_s) is not None:
                done += 1
        return done

    def execute(self, run: dict[str, Any]) -> dict[str, Any] | None:
        run_id, lease_id = run["id"], run["lease_id"]
        spec = JobSpec.from_dict(run["spec"])
        checkpoint = run["checkpoint_uri"] or str(self.workdir / run["request_id"] / "ckpt")
        Path(checkpoint).mkdir(parents=True, exist_ok=True)
        spec = replace(spec, checkpoint_dir=checkpoint)
        out = self.workdir / f"{run_id}.out"
        out.parent.mkdir(parents=True, exist_ok=True)
        meter = _Meter(self.api, run_id, lease_id, run["next_seq"], max(spec.accelerators, 1))
        try:
            handle = self.backend.submit(Submission(run_id, spec, run["vendor"], str(out)))
        except BackendError as exc:  # the site cannot run it: a stack error, so fall back
            return self._complete(run_id, lease_id, ExitClass.STACK_ERROR, str(exc), checkpoint)
        self._say(f"{run_id}: started on {self.backend.name} as {handle}")
        try:
            self.api.run(run_id, "status", {"lease_id": lease_id, "status": "running"})
            poll = self._watch(run_id, lease_id, handle, meter)
        except ConflictError:
            self._say(f"{run_id}: lease lost; stopping the job")
            self.backend.cancel(handle)
            return None
        meter.report(poll)
        klass = poll.exit_class or ExitClass.STACK_ERROR
        return self._complete(run_id, lease_id, klass, poll.detail, checkpoint)

    def _watch(self, run_id: str, lease_id: str, handle: str, meter: _Meter) -> Poll:
        last_beat = time.monotonic()
        cancelled = False
        while True:
            poll = self.backend.poll(handle)
            if poll.phase is Phase.DONE:
                return poll
            if time.monotonic() - last_beat >= min(self.report_s, self.lease_s / 3):
                meter.report(poll)
                beat = self.api.run(
                    run_id, "heartbeat", {"lease_id": lease_id, "lease_s": self.lease_s}
                )
                last_beat = time.monotonic()
                if beat["cancel_requested"] and not cancelled:
                    self._say(f"{run_id}: cancelled by the tenant")
                    self.backend.cancel(handle)
                    cancelled = True
            time.sleep(self.poll_s)

    def _complete(
        self, run_id: str, lease_id: str, klass: ExitClass, detail: str, checkpoint: str
    ) -> dict[str, Any]:
        body = {
            "lease_id": lease_id,
            "exit_class": klass.value,
            "detail": detail,
            "checkpoint_uri": checkpoint,
        }
        result: dict[str, Any] = self.api.run(run_id, "complete", body)
        self._say(f"{run_id}: {klass.value}, billed {result.get('billed_fen')} fen")
        return result


@dataclass
class _Meter:
    """Turns a job's growing wall time into usage intervals with sequence numbers."""

    api: AgentApi
    run_id: str
    lease_id: str
    seq: int
    accelerators: int
    reported_wall_s: float = 0.0

    def report(self, poll: Poll) -> None:
        delta = round(max(poll.wall_s - self.reported_wall_s, 0.0), 3)
        if delta <= 0:
            return
        accelerators = max(poll.accelerators, self.accelerators)
        body = {
            "lease_id": self.lease_id,
            "seq": self.seq,
            "accelerator_seconds": round(delta * accelerators, 3),
            "wall_seconds": delta,
            "cpu_seconds": round(delta * max(poll.cpus, 1), 3),
        }
        self.api.run(self.run_id, "usage", body)
        self.seq += 1
        self.reported_wall_s += delta
