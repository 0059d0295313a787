"""The audit log, for auditors and officers: a page of entries, the whole log as JSON Lines,
its head, and its verification. Nothing here writes: entries are appended by the operations."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BeforeValidator

from suanli.api.deps import UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.services import audit

router = APIRouter(prefix="/audit", tags=["audit"], route_class=RetryingRoute)
Reader = Annotated[Principal, Depends(authorize(Role.AUDITOR, Role.OFFICER))]

Actor = Annotated[
    str | None,
    Query(min_length=1, max_length=250, description="a token id, a role or an organisation"),
]
ObjectKind = Annotated[str | None, Query(min_length=1, max_length=40, description="e.g. transfer")]
ObjectId = Annotated[str | None, Query(min_length=1, max_length=250)]
ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_time_text(value: object) -> object:
    # A time is written out (2026-11-01T00:00:00Z), never a bare number of seconds since 1970.
    if isinstance(value, str) and not ISO_DATE_TIME.match(value):
        raise ValueError("must be a date and time, e.g. 2026-11-01T00:00:00Z")
    return value


Since = Annotated[
    datetime | None,
    BeforeValidator(_date_time_text),
    Query(description="from this time on (with its zone)"),
]
Until = Annotated[
    datetime | None,
    BeforeValidator(_date_time_text),
    Query(description="before this time (with its zone)"),
]


@router.get("", summary="A page of audit entries, oldest first, filtered")
def list_entries(
    uow: UoW,
    who: Reader,
    actor: Actor = None,
    object_kind: ObjectKind = None,
    object_id: ObjectId = None,
    since: Since = None,
    until: Until = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62, description="entries after this")] = 0,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
) -> dict[str, Any]:
    page = audit.entries(
        uow, who, actor=actor, object_kind=object_kind, object_id=object_id, since=since,
        until=until, after_seq=after_seq, limit=limit,
    )  # fmt: skip
    return {
        "entries": [e.as_json() for e in page],
        "next_after_seq": page[-1].seq if len(page) == limit else None,
    }


@router.get(
    "/export",
    summary="Every matching audit entry as JSON Lines, oldest first",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export_entries(
    uow: UoW,
    who: Reader,
    actor: Actor = None,
    object_kind: ObjectKind = None,
    object_id: ObjectId = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    found = audit.export(
        uow, who, actor=actor, object_kind=object_kind, object_id=object_id, since=since,
        until=until,
    )  # fmt: skip
    lines = "".join(json.dumps(e.as_json(), ensure_ascii=True) + "\n" for e in found)
    return Response(lines, media_type="application/x-ndjson")


@router.get("/head", summary="The newest entry's sequence and hash (save it to verify later)")
def read_head(uow: UoW, who: Reader) -> dict[str, Any]:
    head = audit.head(uow, who)
    return {"seq": head.seq, "hash": head.hash}


@router.get("/verify", summary="Recompute the chain; every transfer and decision has its entry")
def verify_log(uow: UoW, who: Reader) -> dict[str, Any]:
    return audit.verify(uow, who).as_json()
