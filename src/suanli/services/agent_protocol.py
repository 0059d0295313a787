"""The agent protocol as use cases: a site's agent leases its site's runs and reports on them.

Each checks that the run is the calling agent's site's and commits its own unit of work; the
building blocks in ``runs`` leave the commit to their caller.
"""

from __future__ import annotations

import time

from suanli.domain.roles import Principal, Role
from suanli.domain.runs import Lease, Run, UsageRecord
from suanli.errors import PermissionDenied
from suanli.services import audit, runs, work_signal
from suanli.store.uow import UnitOfWork

POLL_S = 0.2  # re-check the queue this often for work queued by another process


def _site_of(who: Principal) -> str:
    if who.role is not Role.AGENT or not who.org_id:
        raise PermissionDenied(f"{who.role} is not a site's agent")
    return who.org_id


def _own(uow: UnitOfWork, who: Principal, run_id: str) -> None:
    if runs.get_run(uow, run_id).site_id != _site_of(who):
        raise PermissionDenied(f"run {run_id} belongs to another site")


def lease(
    uow: UnitOfWork, who: Principal, agent_id: str, lease_s: float, wait_s: float
) -> Lease | None:
    """The site's next run, waiting up to ``wait_s`` for one; None if none came. One unit of
    work serves every poll, and between polls it holds no transaction. Work queued in this
    process wakes the wait at once (``work_signal``); other work is seen on the next tick."""
    site_id = _site_of(who)
    deadline = time.monotonic() + wait_s
    while True:
        seen = work_signal.mark(site_id)  # before the poll: work queued during it still wakes
        run = runs.lease_next(uow, site_id, agent_id, lease_s)
        if run is not None:
            audit.record(uow, who, "run.lease", "run", run.run.id,
                         {"agent_id": agent_id, "lease_id": run.run.lease_id})  # fmt: skip
        uow.commit()
        if run is not None or time.monotonic() >= deadline:
            return run
        work_signal.wait(site_id, seen, min(POLL_S, deadline - time.monotonic()))


def heartbeat(
    uow: UnitOfWork, who: Principal, run_id: str, lease_id: str, lease_s: float
) -> runs.Beat:
    _own(uow, who, run_id)
    out = runs.heartbeat(uow, run_id, lease_id, lease_s)
    audit.record(uow, who, "run.heartbeat", "run", run_id,
                 {"lease_id": lease_id, "lease_expires_at": out.lease_expires_at})  # fmt: skip
    uow.commit()
    return out


def report_status(
    uow: UnitOfWork, who: Principal, run_id: str, lease_id: str, status: str, detail: str
) -> Run:
    _own(uow, who, run_id)
    out = runs.report_status(uow, run_id, lease_id, status, detail)
    audit.record(uow, who, "run.status", "run", run_id,
                 {"lease_id": lease_id, "status": status, "detail": detail})  # fmt: skip
    uow.commit()
    return out


def report_usage(
    uow: UnitOfWork, who: Principal, run_id: str, lease_id: str, seq: int, **seconds: float
) -> UsageRecord:
    _own(uow, who, run_id)
    out = runs.report_usage(uow, run_id, lease_id, seq, **seconds)
    audit.record(
        uow, who, "run.usage", "run", run_id, {"lease_id": lease_id, "seq": seq, **seconds}
    )
    uow.commit()
    return out


def complete(
    uow: UnitOfWork, who: Principal, run_id: str, lease_id: str, exit_class: str, **details: str
) -> Run:
    _own(uow, who, run_id)
    out = runs.complete(uow, run_id, lease_id, exit_class, **details)
    audit.record(uow, who, "run.complete", "run", run_id, {
        "lease_id": lease_id, "exit_class": exit_class, **details,
        "billed_fen": out.billed_fen, "next_run_id": out.next_run_id,
    })  # fmt: skip
    uow.commit()
    return out
