"""The agent protocol under /agent (agent tokens, bound to a site) and tenants' runs."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AfterValidator, Field

from suanli.api.deps import ALL_ROLES, UoW, authorize
from suanli.api.schemas import Body
from suanli.domain.jobs import JobSpec
from suanli.domain.roles import Principal, Role
from suanli.errors import PermissionDenied
from suanli.services import runs
from suanli.store.uow import UnitOfWork

router = APIRouter(tags=["runs"])

Agent = Annotated[Principal, Depends(authorize(Role.AGENT))]
Submitter = Annotated[Principal, Depends(authorize(Role.OFFICER, Role.TENANT))]
Reader = Annotated[Principal, Depends(authorize(*ALL_ROLES))]
Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,59}$")]
MAX_WAIT_S = 30.0


class LeaseIn(Body):
    agent_id: str = Field(min_length=1, max_length=200)
    lease_s: float = Field(30.0, ge=1, le=3600)
    wait_s: float = Field(0.0, ge=0, le=MAX_WAIT_S, description="long-poll up to this long")


class HeartbeatIn(Body):
    lease_id: str
    lease_s: float = Field(30.0, ge=1, le=3600)


class StatusIn(Body):
    lease_id: str
    status: Literal["running"]
    detail: str = ""


class UsageIn(Body):
    lease_id: str
    seq: int = Field(ge=1, le=2**31 - 1)  # run_usage.seq is a 32-bit INTEGER
    accelerator_seconds: float = Field(ge=0)
    wall_seconds: float = Field(ge=0)
    cpu_seconds: float = Field(0.0, ge=0)


class CompleteIn(Body):
    lease_id: str
    exit_class: Literal["success", "user_error", "stack_error", "cancelled"]
    detail: str = ""
    checkpoint_uri: str = ""


class SpecIn(Body):
    command: list[str] = Field(min_length=1)
    env: dict[str, str] = {}
    accelerators: int = Field(1, ge=0, le=1024)
    cpus: int = Field(1, ge=1, le=1024)
    time_limit_s: int = Field(3600, ge=1, le=30 * 86400)
    checkpoint_dir: str = ""
    workdir: str = ""


def _rate(value: str) -> str:
    # Rates travel as strings ("3/10", "0.3") and become Fractions in the run's pricing:
    # anything else ("abc", "1/0") used to raise there, as a 500.
    try:
        rate = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a rate: {value!r}; use a fraction such as 3/10") from None
    if not 0 <= rate <= 1:
        raise ValueError(f"must be between 0 and 1, got {value}")
    return value


Rate = Annotated[str, AfterValidator(_rate)]


class VoucherIn(Body):
    account_id: str
    program_id: str = ""
    rate: Rate = "0"
    rates: dict[str, Rate] = {}


class JobIn(Body):
    request_id: Id
    tenant_id: Id
    offer_id: Id
    spec: SpecIn
    fallback: list[Literal["same-model", "foreign", "domestic", "any"]] = []
    voucher: VoucherIn | None = None


def _own(uow: UnitOfWork, who: Principal, run_id: str) -> None:
    if runs.get_run(uow, run_id)["site_id"] != who.org_id:
        raise PermissionDenied(f"run {run_id} belongs to another site")


@router.post("/agent/lease", summary="Lease the site's next run (long-poll)")
def lease(body: LeaseIn, request: Request, who: Agent) -> Any:
    deadline = time.monotonic() + body.wait_s
    while True:
        with UnitOfWork(request.app.state.engine) as uow:
            run = runs.lease_next(uow, str(who.org_id), body.agent_id, body.lease_s)
            uow.commit()
        if run is not None:
            return run
        if time.monotonic() >= deadline:
            return Response(status_code=204)
        time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))


@router.post("/agent/runs/{run_id}/heartbeat", summary="Extend a lease; learn of cancellation")
def heartbeat(run_id: str, body: HeartbeatIn, uow: UoW, who: Agent) -> dict[str, Any]:
    _own(uow, who, run_id)
    out = runs.heartbeat(uow, run_id, body.lease_id, body.lease_s)
    uow.commit()
    return out


@router.post("/agent/runs/{run_id}/status", summary="Report that a run started")
def status(run_id: str, body: StatusIn, uow: UoW, who: Agent) -> dict[str, Any]:
    _own(uow, who, run_id)
    out = runs.report_status(uow, run_id, body.lease_id, body.status, body.detail)
    uow.commit()
    return out


@router.post("/agent/runs/{run_id}/usage", summary="Report usage (idempotent by run and seq)")
def usage(run_id: str, body: UsageIn, uow: UoW, who: Agent) -> dict[str, Any]:
    _own(uow, who, run_id)
    out = runs.report_usage(
        uow,
        run_id,
        body.lease_id,
        body.seq,
        accelerator_seconds=body.accelerator_seconds,
        wall_seconds=body.wall_seconds,
        cpu_seconds=body.cpu_seconds,
    )
    uow.commit()
    return out


@router.post("/agent/runs/{run_id}/complete", summary="End a run with its exit class")
def complete(run_id: str, body: CompleteIn, uow: UoW, who: Agent) -> dict[str, Any]:
    _own(uow, who, run_id)
    out = runs.complete(
        uow,
        run_id,
        body.lease_id,
        body.exit_class,
        detail=body.detail,
        checkpoint_uri=body.checkpoint_uri,
    )
    uow.commit()
    return out


@router.post("/jobs", status_code=201, summary="Run a job on an offer (idempotent by request)")
def submit_job(body: JobIn, uow: UoW, who: Submitter, response: Response) -> dict[str, Any]:
    done = runs.submit(
        uow,
        who,
        request_id=body.request_id,
        tenant_id=body.tenant_id,
        offer_id=body.offer_id,
        spec=JobSpec.from_dict(body.spec.model_dump()),
        fallback=list(body.fallback),
        voucher=body.voucher.model_dump() if body.voucher else None,
    )
    if done.run is None:
        response.status_code = 200
        return {"accepted": False, "reason": done.reason}
    return {"accepted": True, "run": done.run}


@router.get("/runs/{run_id}", summary="A run with its usage records")
def read_run(run_id: str, uow: UoW, who: Reader) -> dict[str, Any]:
    return runs.visible_run(uow, who, run_id)


@router.post("/runs/{run_id}/cancel", summary="Cancel a run; what was used is settled")
def cancel(run_id: str, uow: UoW, who: Submitter) -> dict[str, Any]:
    return runs.request_cancel(uow, who, run_id)
