"""Estimates: a workload against an accelerator or an offer, or against every live offer.

A refusal on a chip (no fp8, too large for any count) is an answer with ``feasible: false`` and a
reason, not an error. POST because the workload is a body, though nothing is written; auditors,
who may not POST anywhere, read the same figures through the CLI.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field

from suanli.api.deps import READ_ONLY, UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.errors import ValidationError
from suanli.estimate.workload import Workload
from suanli.schemas.base import Body
from suanli.services import estimates
from suanli.services.catalog import load_catalog

router = APIRouter(tags=["estimates"], route_class=RetryingRoute)

Caller = Annotated[
    Principal, Depends(authorize(Role.OFFICER, Role.REVIEWER, Role.TENANT, Role.PROVIDER))
]


class WorkloadIn(Body):
    kind: Literal["pretrain", "finetune", "lora", "inference"]
    params_b: float = Field(description="parameters, billions")
    active_params_b: float | None = Field(None, description="MoE: active parameters, billions")
    tokens_b: float = Field(0.0, description="training tokens, billions")
    seq_len: int = 4096
    layers: int | None = None
    hidden: int | None = None
    micro_batch_seqs: int = 1
    precision: Literal["fp32", "tf32", "bf16", "fp16", "fp8", "int8"] = "bf16"
    allow_precision_fallback: bool = False
    optimizer: Literal["adam", "adamw", "lion", "sgd", "adafactor"] = "adam"
    lora_rank: int = 16
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    target_tokens_per_s: float | None = None
    duration_h: float = 1.0

    def to_workload(self) -> Workload:
        workload = Workload(**self.model_dump())
        try:
            return workload.validate()
        except ValidationError as exc:
            raise ValidationError(f"workload.{exc.field}", exc.message) from exc


class EstimateIn(Body):
    workload: WorkloadIn
    accelerator: str | None = Field(None, description="catalog id or alias")
    offer_id: str | None = Field(None, description="an offer: its price, size and site PUE")
    count: int | None = Field(None, description="chips; default the fewest that fit")
    pue: float = Field(1.0, description="site PUE, for a bare accelerator")
    price_fen_per_accel_hour: int | None = Field(None, description="for a bare accelerator")
    currency: str = "CNY"


class OffersEstimateIn(Body):
    workload: WorkloadIn
    count: int | None = Field(None, description="chips; default the fewest that fit each offer")


@router.post(
    "/estimates",
    summary="Estimate a workload on an accelerator or an offer",
    openapi_extra=READ_ONLY,
)
def estimate_one(body: EstimateIn, uow: UoW, who: Caller) -> dict[str, Any]:
    workload = body.workload.to_workload()
    if (body.accelerator is None) == (body.offer_id is None):
        raise ValidationError("accelerator", "give exactly one of accelerator and offer_id")
    if body.offer_id is not None:
        return estimates.estimate_offer(uow, workload, body.offer_id, count=body.count).to_dict()
    assert body.accelerator is not None
    accelerator = load_catalog().find(body.accelerator)
    if accelerator is None:  # the request names it: bad input, not a missing record
        raise ValidationError("accelerator", f"unknown accelerator model {body.accelerator!r}")
    outcome = estimates.estimate(
        workload,
        accelerator,
        count=body.count,
        pue=body.pue,
        price_fen_per_accel_hour=body.price_fen_per_accel_hour,
        currency=body.currency,
    )
    return outcome.to_dict()


@router.post(
    "/estimates/offers", summary="Estimate a workload on every live offer", openapi_extra=READ_ONLY
)
def estimate_offers(body: OffersEstimateIn, uow: UoW, who: Caller) -> dict[str, Any]:
    workload = body.workload.to_workload()
    results = estimates.estimate_all_offers(uow, workload, count=body.count)
    feasible = [r for r in results if r.outcome.feasible]
    refused = [r for r in results if not r.outcome.feasible]
    # Cheapest first: the order a quote would show them in.
    feasible.sort(key=lambda r: (getattr(r.outcome, "cost_fen", 0), r.offer_id))
    return {
        "feasible": len(feasible),
        "infeasible": len(refused),
        "estimates": [r.to_dict() for r in feasible + refused],
    }
