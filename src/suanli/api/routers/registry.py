"""Providers, sites, offers and tenants: create (idempotent by id), list, read, update, retire."""

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from suanli.api.deps import ALL_ROLES, UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.registry import TUPLE_FACTS, Offer, Provider, Site, Tenant
from suanli.domain.roles import Principal, Role
from suanli.schemas.registry import OfferIn, ProviderIn, SiteIn, TenantIn
from suanli.services import registry

router = APIRouter(tags=["registry"], route_class=RetryingRoute)

Reader = Annotated[Principal, Depends(authorize(*ALL_ROLES))]
MarketWriter = Annotated[Principal, Depends(authorize(Role.OFFICER, Role.PROVIDER))]
TenantWriter = Annotated[Principal, Depends(authorize(Role.OFFICER, Role.TENANT))]


def _out(record: Any) -> dict[str, Any]:
    out = dataclasses.asdict(record)
    if isinstance(record, Offer):  # capacity in whole systems, when counted so
        out["systems"] = record.systems
    return out


def _crud(path: str, kind: type[Any], schema: type[BaseModel], writer: Any, **filters: Any) -> None:
    name = path.rstrip("s")

    def create(body: schema, uow: UoW, who: writer, response: Response) -> dict[str, Any]:  # type: ignore[valid-type]
        data = body.model_dump()  # type: ignore[attr-defined]
        data = {k: tuple(v) if k in TUPLE_FACTS else v for k, v in data.items()}
        record = registry.create(uow, who, kind(**data))
        response.status_code = 201
        return _out(record)

    def list_(uow: UoW, who: Reader, include_retired: bool = False) -> list[dict[str, Any]]:
        rows = registry.list_records(uow, who, kind, include_retired=include_retired)
        return [_out(r) for r in rows]

    def read(record_id: str, uow: UoW, who: Reader) -> dict[str, Any]:
        return _out(registry.get(uow, who, kind, record_id))

    def patch(record_id: str, changes: dict[str, Any], uow: UoW, who: writer) -> dict[str, Any]:
        current = _out(registry.get(uow, who, kind, record_id))
        stored = {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in current.items()
            if k in schema.model_fields
        }
        try:  # validate the changed fields with the create schema; unknown fields are refused
            partial = schema.model_validate({**stored, **changes})
        except PydanticValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from exc
        typed = {k: getattr(partial, k) for k in changes}
        typed = {k: tuple(v) if k in TUPLE_FACTS else v for k, v in typed.items()}
        out = _out(registry.amend(uow, who, kind, record_id, typed))
        if kind is Tenant:  # what waits for a reviewer, so a tenant sees its change was kept
            out["proposal"] = _proposal_out(registry.proposal(uow, who, record_id))
        return out

    def retire(record_id: str, uow: UoW, who: writer) -> dict[str, Any]:
        return _out(registry.retire(uow, who, kind, record_id))

    router.add_api_route(
        f"/{path}",
        create,
        methods=["POST"],
        status_code=201,
        summary=f"Create a {name} (idempotent by id)",
    )
    router.add_api_route(f"/{path}", list_, methods=["GET"], summary=f"List {path}")
    router.add_api_route(f"/{path}/{{record_id}}", read, methods=["GET"], summary=f"Read a {name}")
    router.add_api_route(
        f"/{path}/{{record_id}}", patch, methods=["PATCH"], summary=f"Update a {name}"
    )
    router.add_api_route(
        f"/{path}/{{record_id}}/retire", retire, methods=["POST"], summary=f"Retire a {name}"
    )


_crud("providers", Provider, ProviderIn, MarketWriter)
_crud("sites", Site, SiteIn, MarketWriter)
_crud("offers", Offer, OfferIn, MarketWriter)
_crud("tenants", Tenant, TenantIn, TenantWriter)


# A tenant's changes to its reviewed facts wait here for an officer or reviewer.
FactReviewer = Annotated[Principal, Depends(authorize(Role.OFFICER, Role.REVIEWER))]


def _proposal_out(found: Any) -> dict[str, Any] | None:
    return None if found is None else dataclasses.asdict(found)


@router.get("/tenants/{record_id}/proposal", summary="A tenant's proposed facts, if any")
def tenant_proposal(record_id: str, uow: UoW, who: Reader) -> dict[str, Any] | None:
    return _proposal_out(registry.proposal(uow, who, record_id))


@router.post("/tenants/{record_id}/proposal/confirm", summary="Apply a tenant's proposed facts")
def confirm_proposal(record_id: str, uow: UoW, who: FactReviewer) -> dict[str, Any]:
    return _out(registry.decide_proposal(uow, who, record_id, confirm=True))


@router.post("/tenants/{record_id}/proposal/reject", summary="Drop a tenant's proposed facts")
def reject_proposal(record_id: str, uow: UoW, who: FactReviewer) -> dict[str, Any]:
    return _out(registry.decide_proposal(uow, who, record_id, confirm=False))
