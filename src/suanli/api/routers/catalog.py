from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends

from suanli.api.deps import ALL_ROLES, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.catalog import Accelerator
from suanli.services.catalog import get_accelerator, load_catalog

router = APIRouter(prefix="/accelerators", tags=["catalog"], route_class=RetryingRoute)


def accelerator_json(acc: Accelerator) -> dict[str, Any]:
    return {
        "id": acc.id,
        "vendor": acc.vendor,
        "model": acc.model,
        "origin": acc.origin,
        "china_specific": acc.china_specific,
        "year": acc.year,
        "aliases": list(acc.aliases),
        "precisions": sorted(acc.precisions),
        "figures": {
            name: {"value": fig.value, "confidence": fig.confidence, "note": fig.note}
            for name, fig in acc.figures.items()
        },
        "export_control": {
            "status": acc.export_control.status,
            "as_of": acc.export_control.as_of.isoformat() if acc.export_control.as_of else None,
            "note": acc.export_control.note,
        },
        "confidence": acc.confidence,
        "sources": list(acc.sources),
        "notes": acc.notes,
    }


@router.get("", dependencies=[Depends(authorize(*ALL_ROLES))])
def list_accelerators(origin: Literal["domestic", "foreign"] | None = None) -> list[dict[str, Any]]:
    return [accelerator_json(a) for a in load_catalog().all() if origin in (None, a.origin)]


@router.get("/{name}", dependencies=[Depends(authorize(*ALL_ROLES))])
def show_accelerator(name: str) -> dict[str, Any]:
    return accelerator_json(get_accelerator(name))
