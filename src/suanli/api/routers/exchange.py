"""The exchange: quotes, job requests placed online or kept for the batch, reservations, and the
officer's batch placement. A refused submission is answered 200 with ``accepted: false`` and
its reasons; malformed input is a 422 naming the field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from suanli.api.deps import READ_ONLY, UoW, authorize
from suanli.api.errors import answer_rejection
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.schemas.base import MAX_ARGS, MAX_ENV, Arg, Body, EnvName, Fen, Path, Ref
from suanli.services import batch_placement, exchange

router = APIRouter(tags=["exchange"], route_class=RetryingRoute)

Requester = Annotated[Principal, Depends(authorize(Role.TENANT, Role.OFFICER))]
Officer = Annotated[Principal, Depends(authorize(Role.OFFICER))]
Reader = Annotated[
    Principal, Depends(authorize(Role.TENANT, Role.OFFICER, Role.REVIEWER, Role.AUDITOR))
]
CapacityReader = Annotated[
    Principal,
    Depends(authorize(Role.TENANT, Role.PROVIDER, Role.OFFICER, Role.REVIEWER, Role.AUDITOR)),
]


class SpecIn(Body):
    command: list[Arg] = Field(min_length=1, max_length=MAX_ARGS)
    env: dict[EnvName, Arg] = Field({}, max_length=MAX_ENV)
    cpus: int = Field(1, ge=1, le=1024)
    checkpoint_dir: Path = ""
    workdir: Path = ""


class RequestIn(Body):
    id: str = Field(min_length=1, max_length=64, description="the client's id; retries reuse it")
    tenant_id: str = Field(min_length=1, max_length=64)
    workload: dict[str, Any] = Field(description="the estimator's workload: kind, params_b, ...")
    accelerators: int | None = Field(
        None, ge=1, le=2**31 - 1, description="null: the fewest that fit"
    )
    deadline: str | None = Field(None, max_length=64, description="ISO time with zone")
    max_net_fen: Fen | None = Field(None, description="ceiling on the net cost")
    allowed_origins: list[Literal["domestic", "foreign"]] = ["domestic", "foreign"]
    allow_export_controlled: bool = True
    voucher_ids: list[Ref] = Field([], max_length=8)
    objective: Literal["net_cost", "finish_time", "energy"] = "net_cost"
    spec: SpecIn | None = Field(None, description="what the site runs (needed to submit)")
    fallback: list[Literal["same-model", "foreign", "domestic", "any"]] = []
    mode: Literal["online", "batch"] = "online"
    offer_ids: list[Ref] = Field([], max_length=100, description="only these offers (empty: all)")
    public_facing: bool = Field(False, description="an inference service open to the public")
    model_filing: str | None = Field(
        None, min_length=1, max_length=80, description="the served model's CAC filing number"
    )


class BatchIn(Body):
    time_limit_s: float | None = Field(None, gt=0, le=600)


@router.post(
    "/quotes",
    summary="Every live offer for a job: feasible ones priced, others why not",
    openapi_extra=READ_ONLY,
)
def post_quote(body: RequestIn, uow: UoW, who: Requester, response: Response) -> dict[str, Any]:
    quoted = exchange.quote_for(uow, who, body.model_dump())
    answer_rejection(response, quoted.rejection)
    return quoted.to_dict()


@router.post("/requests", status_code=201, summary="Submit a job request (idempotent by id)")
def submit(body: RequestIn, uow: UoW, who: Requester, response: Response) -> dict[str, Any]:
    done = exchange.submit(uow, who, exchange.request_from_dict(body.model_dump()))
    answer_rejection(response, done.rejection)
    return done.to_dict()


@router.get("/requests", summary="Job requests (tenants: their own)")
def list_requests(
    uow: UoW, who: Reader, tenant_id: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    return [
        r.to_dict() for r in exchange.list_requests(uow, who, tenant_id=tenant_id, status=status)
    ]


@router.get("/requests/{request_id}", summary="A request with its placement, reservation, runs")
def get_request(request_id: str, uow: UoW, who: Reader) -> dict[str, Any]:
    return exchange.get_request(uow, who, request_id).to_dict()


@router.post("/requests/{request_id}/cancel", summary="Release the reservation, cancel the run")
def cancel(request_id: str, uow: UoW, who: Requester) -> dict[str, Any]:
    return exchange.cancel(uow, who, request_id).to_dict()


@router.get("/reservations", summary="Capacity reservations (tenants: own; providers: theirs)")
def reservations(
    uow: UoW, who: CapacityReader, offer_id: str | None = None, active: bool = False
) -> list[dict[str, Any]]:
    found = exchange.list_reservations(uow, who, offer_id=offer_id, active_only=active)
    return [r.to_dict() for r in found]


@router.post("/placement/batch", summary="Place every pending request at once (MILP)")
def batch(body: BatchIn, uow: UoW, who: Officer) -> dict[str, Any]:
    policy = exchange.load_policy()
    report = batch_placement.place_batch(uow, who, policy, time_limit_s=body.time_limit_s)
    return report.to_dict()
