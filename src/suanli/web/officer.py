"""The program officer's page: budgets and their burn, the application queue (approve, or
reject with a reason), the domestic share of placed and offered compute, compliance flags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from suanli.domain.registry import Offer
from suanli.domain.roles import Role
from suanli.errors import NotFoundError, PermissionDenied, ValidationError
from suanli.services import applications as apps
from suanli.services import catalog, compliance, exchange, programs, registry, vouchers
from suanli.web.charts import Chart, Series
from suanli.web.context import Ctx, page, render

router = APIRouter(include_in_schema=False)
Officer = Annotated[Ctx, Depends(page(Role.OFFICER, Role.REVIEWER))]
FlagDecider = Annotated[Ctx, Depends(page(Role.OFFICER))]
REASON_MAX = 500


def _budgets(ctx: Ctx) -> list[dict[str, Any]]:
    assert ctx.principal is not None
    rows = []
    for program_id, program in sorted(programs.load_programs().items()):
        if program.kind == "purchase-subsidy" and program.budget_per_year_fen is None:
            continue
        view = vouchers.budget_view(ctx.uow, ctx.principal, program_id)
        years = view["years"]
        rows.append(
            {
                "id": program_id,
                "name": program.name,
                "currency": program.currency,
                "budget_fen": sum(int(y["budget_fen"] or 0) for y in years),
                "paid_fen": sum(int(y["paid_fen"]) for y in years),
                "held_fen": sum(int(y["held_fen"]) for y in years),
                "left_fen": sum(int(y["left_fen"]) for y in years),
            }
        )
    return rows


def _burn_chart(ctx: Ctx, rows: list[dict[str, Any]]) -> Chart:
    shown = [r for r in rows if r["budget_fen"]]

    def yuan(key: str) -> tuple[float, ...]:
        return tuple(r[key] / 100 for r in shown)

    return Chart(
        "burn", ctx.t("officer.burn_chart"), tuple(r["id"] for r in shown),
        (Series(ctx.t("budget.paid"), yuan("paid_fen")),
         Series(ctx.t("budget.held"), yuan("held_fen")),
         Series(ctx.t("budget.left"), yuan("left_fen"))),
        unit="¥",
    )  # fmt: skip


def _domestic(ctx: Ctx) -> tuple[Chart, dict[str, float]]:
    """Domestic share of placed accelerator-hours and of offered chips, from the records."""
    assert ctx.principal is not None
    placed = {"domestic": 0.0, "foreign": 0.0}
    for stored in exchange.list_requests(ctx.uow, ctx.principal, status="placed"):
        view = exchange.get_request(ctx.uow, ctx.principal, stored.id)
        if view.placement is not None:
            origin = view.placement.origin
            placed[origin] = placed.get(origin, 0.0) + view.placement.accelerator_hours
    offered = {"domestic": 0.0, "foreign": 0.0}
    for offer in registry.list_records(ctx.uow, ctx.principal, Offer):
        try:
            origin = catalog.get_accelerator(offer.accelerator_id).origin
        except Exception:  # an offer of a chip the catalog no longer lists counts as neither
            continue
        offered[origin] = offered.get(origin, 0.0) + offer.count

    def share(parts: dict[str, float]) -> float:
        total = sum(parts.values())
        return 100.0 * parts["domestic"] / total if total else 0.0

    shares = {"placed": share(placed), "offered": share(offered)}
    chart = Chart(
        "domestic", ctx.t("officer.domestic_chart"),
        (ctx.t("officer.share_placed"), ctx.t("officer.share_offered")),
        (Series(ctx.t("officer.domestic_share"), (shares["placed"], shares["offered"])),),
        unit="%",
    )  # fmt: skip
    return chart, shares


def _officer_page(ctx: Ctx, errors: dict[str, dict[str, str]] | None = None,
                  status: int = 200, notice: str = "") -> Response:  # fmt: skip
    assert ctx.principal is not None
    budgets = _budgets(ctx)
    queue = apps.list_applications(ctx.uow, ctx.principal, status="pending")
    domestic, shares = _domestic(ctx)
    flags = compliance.flagged_offers(ctx.uow, ctx.principal)
    return render(
        ctx, "officer.html", status=status, budgets=budgets, burn=_burn_chart(ctx, budgets),
        queue=queue, domestic=domestic, shares=shares, flags=flags, errors=errors or {},
        notice=notice,
    )  # fmt: skip


@router.get("/officer")
def officer_home(ctx: Officer, notice: str = "") -> Response:
    return _officer_page(ctx, notice=ctx.t(notice) if notice.startswith("notice.") else "")


@router.post("/officer/applications/{application_id}/review")
def review(application_id: str, ctx: Officer) -> Response:
    assert ctx.principal is not None
    decision, reason = ctx.field("decision"), ctx.field("reason")
    errors: dict[str, str] = {}
    if decision not in ("approve", "reject"):
        errors["decision"] = ctx.t("error.choose_decision")
    elif decision == "reject" and not reason:
        errors["reason"] = ctx.t("error.reason_required")
    elif len(reason) > REASON_MAX:
        errors["reason"] = ctx.t("error.too_long")
    if not errors:
        chosen: apps.Decision = "approve" if decision == "approve" else "reject"
        try:
            outcome = apps.review(ctx.uow, ctx.principal, application_id, chosen, reason=reason)
        except (ValidationError, NotFoundError, PermissionDenied) as exc:
            errors["decision"] = str(exc)
        else:
            if not outcome.ok:
                errors["decision"] = outcome.reason
    if errors:
        ctx.uow.rollback()
        return _officer_page(ctx, {application_id: errors}, status=422)
    return RedirectResponse(f"/officer?notice=notice.{decision}d", status_code=303)


@router.post("/officer/flags/{offer_id}/{rule_id}")
def decide_flag(offer_id: str, rule_id: str, ctx: FlagDecider) -> Response:
    assert ctx.principal is not None
    decision, reason = ctx.field("decision"), ctx.field("reason")
    try:
        compliance.decide(ctx.uow, ctx.principal, offer_id, rule_id, decision, reason)
    except ValidationError as exc:
        ctx.uow.rollback()
        return _officer_page(ctx, {f"{offer_id}/{rule_id}": {exc.field: exc.message}}, 422)
    return RedirectResponse("/officer?notice=notice.flag_decided", status_code=303)
