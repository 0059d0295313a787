"""The auditor's page: the ledger's invariants checked, program statements, and the audit log
with a button that verifies its hash chain (and that every transfer and decision has its entry).
Officers may open it too (both read the log)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from suanli.domain.roles import Role
from suanli.errors import ValidationError
from suanli.services import audit, ledger, programs, statements
from suanli.web.context import Ctx, page, render

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Ctx, Depends(page(Role.AUDITOR, Role.OFFICER, read_only=True))]
SHOWN = 50


def _page(ctx: Ctx, report: Any = None, month: str = "", program: str = "") -> Response:
    assert ctx.principal is not None
    head = audit.head(ctx.uow, ctx.principal)
    after = max(0, head.seq - SHOWN)
    entries = audit.entries(ctx.uow, ctx.principal, after_seq=after, limit=SHOWN)
    problems = ledger.check_invariants(ctx.uow)
    ids = sorted(programs.load_programs())
    program = program if program in ids else (ids[0] if ids else "")
    month = month or datetime.now(UTC).strftime("%Y-%m")
    try:
        statement = statements.statement(ctx.uow, ctx.principal, month, program=program)
    except ValidationError:
        statement = None
    return render(
        ctx, "auditor.html", head=head, entries=list(reversed(entries)), problems=problems,
        report=report, program_ids=ids, program=program, month=month, statement=statement,
    )  # fmt: skip


@router.get("/auditor")
def auditor_home(ctx: Auditor, month: str = "", program: str = "") -> Response:
    return _page(ctx, month=month[:7], program=program)


@router.post("/auditor/verify")
def verify(ctx: Auditor) -> Response:
    assert ctx.principal is not None
    return _page(ctx, report=audit.verify(ctx.uow, ctx.principal))
