"""The agent protocol under /agent (agent tokens, bound to a site) and tenants' runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from suanli.api.deps import ALL_ROLES, UoW, authorize
from suanli.api.errors import answer_rejection
from suanli.api.retry import RetryingRoute
from suanli.domain.exchange import JobRequest
from suanli.domain.jobs import JobSpec
from suanli.domain.roles import Principal, Role
from suanli.schemas.base import MAX_ARGS, MAX_ENV, Arg, Body, EnvName, Path
from suanli.schemas.base import Text as Detail
from suanli.services import agent_protocol, exchange, runs

router = APIRouter(tags=["runs"], route_class=RetryingRoute)

Agent = Annotated[Principal, Depends(authorize(Role.AGENT))]
Submitter = Annotated[Principal, Depends(authorize(Role.OFFICER, Role.TENANT))]
Reader = Annotated[Principal, Depends(authorize(*ALL_ROLES))]
Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,59}$")]
LeaseId = Annotated[str, Field(min_length=1, max_length=64)]
MAX_WAIT_S = 30.0


class LeaseIn(Body):
    agent_id: str = Field(min_length=1, max_length=200)
    lease_s: float = Field(30.0, ge=1, le=3600)
    wait_s: float = Field(0.0, ge=0, le=MAX_WAIT_S, description="long-poll up to this long")


class HeartbeatIn(Body):
    lease_id: LeaseId
    lease_s: float = Field(30.0, ge=1, le=3600)


class StatusIn(Body):
    lease_id: LeaseId
    status: Literal["running"]
    detail: Detail = ""


# One usage report covers less than this (the service's bound too).
MAX_REPORT_S = 1e9


class UsageIn(Body):
    lease_id: LeaseId
    seq: int = Field(ge=1, le=2**31 - 1)  # run_usage.seq is a 32-bit INTEGER
    accelerator_seconds: float = Field(ge=0, lt=MAX_REPORT_S)
    wall_seconds: float = Field(ge=0, lt=MAX_REPORT_S)
    cpu_seconds: float = Field(0.0, ge=0, lt=MAX_REPORT_S)


class CompleteIn(Body):
    lease_id: LeaseId
    exit_class: Literal["success", "user_error", "stack_error", "cancelled"]
    detail: Detail = ""
    checkpoint_uri: Path = ""


class SpecIn(Body):
    command: list[Arg] = Field(min_length=1, max_length=MAX_ARGS)
    env: dict[EnvName, Arg] = Field({}, max_length=MAX_ENV)
    accelerators: int = Field(1, ge=1, le=1024)
    cpus: int = Field(1, ge=1, le=1024)
    time_limit_s: int = Field(3600, ge=1, le=30 * 86400)
    checkpoint_dir: Path = ""
    workdir: Path = ""


class JobIn(Body):
    """A job of stated size on a chosen offer. Priced and placed as a request of the exchange
    is: the voucher's share comes from its program's rules for this offer, never from the
    caller, and the offer's capacity is reserved."""

    request_id: Id
    tenant_id: Id
    offer_id: Id
    spec: SpecIn
    fallback: list[Literal["same-model", "foreign", "domestic", "any"]] = Field([], max_length=4)
    voucher_ids: list[Id] = Field([], max_length=8, description="the tenant's vouchers to use")


@router.post("/agent/lease", summary="Lease the site's next run (long-poll)")
def lease(body: LeaseIn, uow: UoW, who: Agent) -> Any:
    run = agent_protocol.lease(uow, who, body.agent_id, body.lease_s, body.wait_s)
    return Response(status_code=204) if run is None else run.to_dict()


@router.post("/agent/runs/{run_id}/heartbeat", summary="Extend a lease; learn of cancellation")
def heartbeat(run_id: str, body: HeartbeatIn, uow: UoW, who: Agent) -> dict[str, Any]:
    return agent_protocol.heartbeat(uow, who, run_id, body.lease_id, body.lease_s).to_dict()


@router.post("/agent/runs/{run_id}/status", summary="Report that a run started")
def status(run_id: str, body: StatusIn, uow: UoW, who: Agent) -> dict[str, Any]:
    run = agent_protocol.report_status(uow, who, run_id, body.lease_id, body.status, body.detail)
    return run.to_dict()


@router.post("/agent/runs/{run_id}/usage", summary="Report usage (idempotent by run and seq)")
def usage(run_id: str, body: UsageIn, uow: UoW, who: Agent) -> dict[str, Any]:
    return agent_protocol.report_usage(
        uow, who, run_id, body.lease_id, body.seq, accelerator_seconds=body.accelerator_seconds,
        wall_seconds=body.wall_seconds, cpu_seconds=body.cpu_seconds,
    ).to_dict()  # fmt: skip


@router.post("/agent/runs/{run_id}/complete", summary="End a run with its exit class")
def complete(run_id: str, body: CompleteIn, uow: UoW, who: Agent) -> dict[str, Any]:
    return agent_protocol.complete(
        uow, who, run_id, body.lease_id, body.exit_class, detail=body.detail,
        checkpoint_uri=body.checkpoint_uri,
    ).to_dict()  # fmt: skip


@router.post("/jobs", status_code=201, summary="Run a job of stated size on an offer")
def submit_job(body: JobIn, uow: UoW, who: Submitter, response: Response) -> dict[str, Any]:
    spec = body.spec
    request = JobRequest(
        id=body.request_id,
        tenant_id=body.tenant_id,
        workload=None,
        accelerators=spec.accelerators,
        duration_s=spec.time_limit_s,
        offer_ids=(body.offer_id,),
        voucher_ids=tuple(body.voucher_ids),
        spec=JobSpec.from_dict(spec.model_dump()),
        fallback=tuple(body.fallback),
    )
    done = exchange.submit(uow, who, request)
    answer_rejection(response, done.rejection)
    return done.to_dict()


@router.get("/runs/{run_id}", summary="A run with its usage records")
def read_run(run_id: str, uow: UoW, who: Reader) -> dict[str, Any]:
    return runs.visible_run(uow, who, run_id).to_dict()


@router.post("/runs/{run_id}/cancel", summary="Cancel a run; what was used is settled")
def cancel(run_id: str, uow: UoW, who: Submitter) -> dict[str, Any]:
    return runs.request_cancel(uow, who, run_id).to_dict()
