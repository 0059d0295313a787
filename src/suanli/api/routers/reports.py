"""Reports over posted records (domestic share, burn, utilisation, energy, fairness) as JSON,
CSV or Parquet. Who reads which rows is the service's rule (services/reports.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import PlainTextResponse, Response

from suanli.api.deps import ALL_ROLES, UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal
from suanli.services import reports

router = APIRouter(tags=["reports"], route_class=RetryingRoute)
Reader = Annotated[Principal, Depends(authorize(*ALL_ROLES))]
ReportName = Literal["domestic-share", "burn", "utilisation", "energy", "fairness"]


@router.get(
    "/reports/{name}",
    summary="A report over posted records, as JSON, CSV or Parquet",
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            }
        }
    },
)
def read_report(
    uow: UoW,
    who: Reader,
    name: Annotated[ReportName, Path(description="the report")],
    format: Literal["json", "csv", "parquet"] = "json",
) -> Any:
    result = reports.report(uow, who, name)
    if format == "csv":
        return PlainTextResponse(reports.to_csv(result), media_type="text/csv")
    if format == "parquet":
        return Response(reports.to_parquet(result), media_type="application/vnd.apache.parquet")
    return result.to_dict()
