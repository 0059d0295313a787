"""The tenant's page: vouchers and balances, runs with their status and usage, the month's
statement (also as CSV), and the quote form: a workload in, every offer out (hours, cost,
subsidy, net, kWh; why each other offer is out), and a button that submits the job."""

from __future__ import annotations

import secrets
import shlex
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from suanli.domain.roles import Principal, Role
from suanli.domain.statements import Statement
from suanli.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from suanli.services import exchange, ledger, statements, vouchers
from suanli.web.context import Ctx, page, render

router = APIRouter(include_in_schema=False)
Tenant = Annotated[Ctx, Depends(page(Role.TENANT))]
QuoteForm = Annotated[Ctx, Depends(page(Role.TENANT, read_only=True))]
KINDS = ("finetune", "lora", "pretrain")
OBJECTIVES = ("net_cost", "finish_time", "energy")
MAX_PARAMS_B, MAX_TOKENS_B, MAX_ACCELERATORS = 2000.0, 100_000.0, 100_000


def _org(ctx: Ctx) -> tuple[Principal, str]:
    assert ctx.principal is not None and ctx.principal.org_id is not None
    return ctx.principal, ctx.principal.org_id


def _vouchers(ctx: Ctx) -> list[dict[str, Any]]:
    who, org = _org(ctx)
    out = []
    for v in vouchers.vouchers_for(ctx.uow, who, org):
        balance = ledger.balance(ctx.uow, v.account_id)
        # Held for running jobs: what is posted but not spendable (pending debits).
        held = balance.posted_minor - balance.available_minor
        out.append({"v": v, "available_fen": balance.available_minor, "pending_fen": held})
    return out


def _runs(ctx: Ctx) -> list[dict[str, Any]]:
    who, org = _org(ctx)
    rows = []
    for stored in exchange.list_requests(ctx.uow, who, tenant_id=org)[-50:]:
        view = exchange.get_request(ctx.uow, who, stored.id)
        for run in view.runs:
            rows.append({"request": stored, "run": run, "placement": view.placement})
        if not view.runs:
            rows.append({"request": stored, "run": None, "placement": view.placement})
    return rows


def _month(ctx: Ctx, given: str) -> tuple[str, Statement | None, str]:
    who, org = _org(ctx)
    month = given or datetime.now(UTC).strftime("%Y-%m")
    try:
        return month, statements.statement(ctx.uow, who, month, tenant=org), ""
    except ValidationError:
        return month, None, ctx.t("error.month")


@router.get("/tenant")
def tenant_home(ctx: Tenant, month: str = "", notice: str = "") -> Response:
    month, statement, month_error = _month(ctx, month[:7])
    return render(
        ctx, "tenant.html", vouchers=_vouchers(ctx), runs=_runs(ctx), month=month,
        statement=statement, month_error=month_error,
        notice=ctx.t(notice) if notice.startswith("notice.") else "",
    )  # fmt: skip


@router.get("/tenant/statement.csv")
def statement_csv(ctx: Tenant, month: str = "") -> Response:
    month, statement, error = _month(ctx, month[:7])
    if statement is None:
        return PlainTextResponse(error, status_code=422)
    _who, org = _org(ctx)
    return PlainTextResponse(
        statements.to_csv(statement), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{org}-{month}.csv"'},
    )  # fmt: skip


def _number(ctx: Ctx, errors: dict[str, str], name: str, top: float, *, whole: bool = False,
            blank_ok: bool = False) -> float | None:  # fmt: skip
    text = ctx.field(name)
    if not text and blank_ok:
        return None
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        errors[name] = ctx.t("error.whole_number" if whole else "error.number")
        return None
    if not 0 < value <= top:
        errors[name] = ctx.t("error.range").format(top=f"{top:,g}")
        return None
    return value


def _request(ctx: Ctx) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as an exchange request, and each field's error (none: the request is good)."""
    _who, org = _org(ctx)
    errors: dict[str, str] = {}
    kind = ctx.field("kind")
    if kind not in KINDS:
        errors["kind"] = ctx.t("error.choose")
    params_b = _number(ctx, errors, "params_b", MAX_PARAMS_B)
    tokens_b = _number(ctx, errors, "tokens_b", MAX_TOKENS_B)
    count = _number(ctx, errors, "accelerators", MAX_ACCELERATORS, whole=True, blank_ok=True)
    objective = ctx.field("objective", "net_cost")
    if objective not in OBJECTIVES:
        errors["objective"] = ctx.t("error.choose")
    try:
        command = shlex.split(ctx.field("command") or "true")
    except ValueError:
        errors["command"] = ctx.t("error.command")
        command = []
    voucher = ctx.field("voucher_id")
    body = {
        "id": ctx.field("request_id") or f"web-{secrets.token_hex(6)}",
        "tenant_id": org,
        "workload": {"kind": kind, "params_b": params_b, "tokens_b": tokens_b},
        "accelerators": None if count is None else int(count),
        "objective": objective,
        "voucher_ids": [voucher] if voucher else [],
        "spec": {"command": command},
    }
    return body, errors


def _quote_page(ctx: Ctx, body: dict[str, Any] | None, errors: dict[str, str],
                quote: Any = None, status: int = 200) -> Response:  # fmt: skip
    return render(
        ctx, "quote.html", status=status, body=body, errors=errors, quote=quote,
        kinds=KINDS, objectives=OBJECTIVES, vouchers=_vouchers(ctx), form=ctx.form,
        request_id=(body or {}).get("id") or f"web-{secrets.token_hex(6)}",
    )  # fmt: skip


@router.get("/tenant/quote")
def quote_form(ctx: Tenant) -> Response:
    return _quote_page(ctx, None, {})


@router.post("/tenant/quote")
def quote(ctx: QuoteForm) -> Response:
    who, _org_id = _org(ctx)
    body, errors = _request(ctx)
    if errors:
        return _quote_page(ctx, body, errors, status=422)
    try:
        quoted = exchange.quote_for(ctx.uow, who, body)
    except (ValidationError, PermissionDenied, NotFoundError) as exc:
        field = getattr(exc, "field", "general")
        return _quote_page(ctx, body, {field: str(exc)}, status=422)
    return _quote_page(ctx, body, {}, quote=quoted)


@router.post("/tenant/submit")
def submit(ctx: Tenant) -> Response:
    who, _org_id = _org(ctx)
    body, errors = _request(ctx)
    if errors:
        return _quote_page(ctx, body, errors, status=422)
    try:
        done = exchange.submit(ctx.uow, who, exchange.request_from_dict(body))
    except (ValidationError, PermissionDenied, NotFoundError, ConflictError) as exc:
        ctx.uow.rollback()
        return _quote_page(ctx, body, {getattr(exc, "field", "general"): str(exc)}, status=422)
    if done.status == "refused":
        reason = done.rejection.message if done.rejection else done.status
        return _quote_page(ctx, body, {"general": reason}, status=422)
    return RedirectResponse(f"/tenant?notice=notice.submitted_{done.status}", status_code=303)
