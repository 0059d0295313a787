"""The provider's page: its sites and offers (create, edit, retire), utilisation of each offer
(capacity, reserved and used accelerator-hours) and the month's payouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from suanli.domain.registry import Offer, Site
from suanli.domain.roles import Principal, Role
from suanli.domain.statements import Statement
from suanli.errors import (
    CatalogError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from suanli.services import exchange, registry, statements
from suanli.web.charts import Chart, Series
from suanli.web.context import Ctx, page, render

router = APIRouter(include_in_schema=False)
Provider = Annotated[Ctx, Depends(page(Role.PROVIDER))]
MAX_COUNT, MAX_PRICE_YUAN = 1_000_000, Decimal("1000000")
WINDOW = timedelta(days=30)  # capacity is counted over the next 30 days


def _org(ctx: Ctx) -> tuple[Principal, str]:
    assert ctx.principal is not None and ctx.principal.org_id is not None
    return ctx.principal, ctx.principal.org_id


def _own(ctx: Ctx) -> tuple[list[Site], list[Offer]]:
    who, org = _org(ctx)
    sites = [s for s in registry.list_records(ctx.uow, who, Site) if s.provider_id == org]
    ids = {s.id for s in sites}
    offers = [o for o in registry.list_records(ctx.uow, who, Offer) if o.site_id in ids]
    return sites, offers


def _utilisation(ctx: Ctx, offers: list[Offer], statement: Statement | None) -> Chart:
    who, _org_id = _org(ctx)
    now = datetime.now(UTC)
    until = now + WINDOW
    reserved: dict[str, float] = {}
    for r in exchange.list_reservations(ctx.uow, who, active_only=True):
        hours = max(0.0, (min(r.end_at, until) - max(r.start_at, now)).total_seconds() / 3600)
        reserved[r.offer_id] = reserved.get(r.offer_id, 0.0) + r.accelerators * hours
    used: dict[str, float] = {}
    for line in statement.lines if statement is not None else ():
        used[line.offer_id] = used.get(line.offer_id, 0.0) + line.accelerator_seconds / 3600

    def capacity(o: Offer) -> float:
        start, end = max(o.available_from, now), min(o.available_until, until)
        return max(0.0, (end - start).total_seconds() / 3600) * o.count

    return Chart(
        "utilisation", ctx.t("provider.utilisation_chart"), tuple(o.id for o in offers),
        (Series(ctx.t("provider.capacity_h"), tuple(capacity(o) for o in offers)),
         Series(ctx.t("provider.reserved_h"), tuple(reserved.get(o.id, 0.0) for o in offers)),
         Series(ctx.t("provider.used_h"), tuple(used.get(o.id, 0.0) for o in offers))),
        unit=ctx.t("unit.accel_hours"),
    )  # fmt: skip


def _page(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200,
          notice: str = "", month: str = "") -> Response:  # fmt: skip
    who, org = _org(ctx)
    sites, offers = _own(ctx)
    month = month or datetime.now(UTC).strftime("%Y-%m")
    try:
        statement = statements.statement(ctx.uow, who, month, provider=org)
    except ValidationError:
        statement, month = None, datetime.now(UTC).strftime("%Y-%m")
    return render(
        ctx, "provider.html", status=status, sites=sites, offers=offers, month=month,
        statement=statement, util_chart=_utilisation(ctx, offers, statement), errors=errors or {},
        notice=notice, form=ctx.form,
    )  # fmt: skip


@router.get("/provider")
def provider_home(ctx: Provider, notice: str = "", month: str = "") -> Response:
    shown = ctx.t(notice) if notice.startswith("notice.") else ""
    return _page(ctx, notice=shown, month=month[:7])


def _price_fen(ctx: Ctx, errors: dict[str, str], name: str) -> int | None:
    try:
        yuan = Decimal(ctx.field(name))
    except InvalidOperation:
        errors[name] = ctx.t("error.money")
        return None
    if (
        not yuan.is_finite()
        or not 0 < yuan <= MAX_PRICE_YUAN
        or yuan != yuan.quantize(Decimal("0.01"))
    ):
        errors[name] = ctx.t("error.money")
        return None
    return int(yuan * 100)


def _count(ctx: Ctx, errors: dict[str, str], name: str) -> int | None:
    try:
        value = int(ctx.field(name))
    except ValueError:
        errors[name] = ctx.t("error.whole_number")
        return None
    if not 0 < value <= MAX_COUNT:
        errors[name] = ctx.t("error.range").format(top=f"{MAX_COUNT:,}")
        return None
    return value


def _day(ctx: Ctx, errors: dict[str, str], name: str) -> datetime | None:
    try:
        return datetime.fromisoformat(ctx.field(name)).replace(tzinfo=UTC)
    except ValueError:
        errors[name] = ctx.t("error.date")
        return None


def _save(ctx: Ctx, errors: dict[str, str], action: Any) -> Response:
    """Run a registry use case; a refused field is shown next to it and nothing changes."""
    if not errors:
        try:
            action()
        except (ValidationError, CatalogError) as exc:
            errors[exc.field] = exc.message
        except (NotFoundError, ConflictError, PermissionDenied) as exc:
            errors["general"] = str(exc)
    if errors:
        ctx.uow.rollback()
        return _page(ctx, errors, status=422)
    return RedirectResponse("/provider?notice=notice.saved", status_code=303)


@router.post("/provider/offers")
def create_offer(ctx: Provider) -> Response:
    who, _org_id = _org(ctx)
    errors: dict[str, str] = {}
    count, price = _count(ctx, errors, "count"), _price_fen(ctx, errors, "price_yuan")
    start, end = _day(ctx, errors, "available_from"), _day(ctx, errors, "available_until")
    for name in ("id", "site_id", "accelerator_id"):
        if not ctx.field(name):
            errors[name] = ctx.t("error.required")

    def create() -> None:
        assert count is not None and price is not None and start and end
        offer = Offer(ctx.field("id"), ctx.field("site_id"), ctx.field("accelerator_id"),
                      count, price, "CNY", start, end)  # fmt: skip
        registry.create(ctx.uow, who, offer)

    return _save(ctx, errors, create)


@router.post("/provider/offers/{offer_id}")
def edit_offer(offer_id: str, ctx: Provider) -> Response:
    who, _org_id = _org(ctx)
    errors: dict[str, str] = {}
    changes = {"count": _count(ctx, errors, "count"),
               "price_fen_per_accel_hour": _price_fen(ctx, errors, "price_yuan")}  # fmt: skip
    return _save(ctx, errors, lambda: registry.amend(ctx.uow, who, Offer, offer_id, changes))


@router.post("/provider/offers/{offer_id}/retire")
def retire_offer(offer_id: str, ctx: Provider) -> Response:
    who, _org_id = _org(ctx)
    return _save(ctx, {}, lambda: registry.retire(ctx.uow, who, Offer, offer_id))
