"""The catalog over HTTP: accelerator models and the systems built of them (public reference
data, read by every role)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends

from suanli.api.deps import ALL_ROLES, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.systems import check_totals
from suanli.schemas.views import accelerator_json, system_json
from suanli.services.catalog import get_accelerator, get_system, load_catalog, load_systems

router = APIRouter(tags=["catalog"], route_class=RetryingRoute)
Origin = Literal["domestic", "foreign"]


@router.get("/accelerators", dependencies=[Depends(authorize(*ALL_ROLES))])
def list_accelerators(origin: Origin | None = None) -> list[dict[str, Any]]:
    return [accelerator_json(a) for a in load_catalog().all() if origin in (None, a.origin)]


@router.get("/accelerators/{name}", dependencies=[Depends(authorize(*ALL_ROLES))])
def show_accelerator(name: str) -> dict[str, Any]:
    return accelerator_json(get_accelerator(name))


@router.get("/systems", dependencies=[Depends(authorize(*ALL_ROLES))], summary="List systems")
def list_systems(origin: Origin | None = None) -> list[dict[str, Any]]:
    """Rack-scale systems and multi-chip nodes; ``origin`` filters by their chip's origin."""
    chips = load_catalog()
    return [system_json(s) for s in load_systems() if origin in (None, chips.get(s.chip_id).origin)]


@router.get(
    "/systems/{name}", dependencies=[Depends(authorize(*ALL_ROLES))], summary="Read a system"
)
def show_system(name: str) -> dict[str, Any]:
    """One system by id or alias, with its published totals checked against its chips."""
    system = get_system(name)
    return system_json(system, check_totals(system, load_catalog().get(system.chip_id)))
