from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends

from suanli.api.deps import ALL_ROLES, authorize
from suanli.api.retry import RetryingRoute
from suanli.schemas.views import accelerator_json
from suanli.services.catalog import get_accelerator, load_catalog

router = APIRouter(prefix="/accelerators", tags=["catalog"], route_class=RetryingRoute)


@router.get("", dependencies=[Depends(authorize(*ALL_ROLES))])
def list_accelerators(origin: Literal["domestic", "foreign"] | None = None) -> list[dict[str, Any]]:
    return [accelerator_json(a) for a in load_catalog().all() if origin in (None, a.origin)]


@router.get("/{name}", dependencies=[Depends(authorize(*ALL_ROLES))])
def show_accelerator(name: str) -> dict[str, Any]:
    return accelerator_json(get_accelerator(name))
