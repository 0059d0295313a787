"""Demo step: tenants apply to three cities' programs, a reviewer decides, vouchers are issued
from the budgets through the ledger, a compute firm claims a domestic-GPU purchase subsidy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction
from typing import TYPE_CHECKING

from rich.table import Table

from suanli.domain.money import Money
from suanli.domain.registry import Tenant
from suanli.domain.roles import SYSTEM, Principal, Role
from suanli.domain.subsidy_facts import Contract
from suanli.services import applications as apps
from suanli.services import claims, ledger, registry
from suanli.store.uow import UnitOfWork

if TYPE_CHECKING:
    from suanli.demo.context import DemoContext

REVIEWER = Principal(Role.REVIEWER, None, "demo-reviewer")
# (application, program, tenant, provider, accelerator, contract fen, asked fen, decision)
DEMO_APPLICATIONS = (
    (
        "hz-qt-1",
        "hangzhou-2025",
        "qiantang-llm",
        "hz-xixi-compute",
        "910B",
        40_000_000,
        12_000_000,
        "approve",
    ),  # fmt: skip
    (
        "sz-lx-1",
        "shenzhen-2024",
        "lingxi-robotics",
        "sz-qianhai-dc",
        "H20",
        30_000_000,
        18_000_000,
        "approve",
    ),  # fmt: skip
    (
        "bj-dh-1",
        "beijing-2023",
        "deepharbor-ai",
        "bj-zhongguancun-dc",
        "910B",
        20_000_000,
        4_000_000,
        "approve",
    ),  # fmt: skip
    (
        "bj-dh-2",
        "beijing-2023",
        "deepharbor-ai",
        "bj-yizhuang-cloud",
        "H20",
        10_000_000,
        2_000_000,
        "approve",
    ),  # fmt: skip
    (
        "hz-jj-1",
        "hangzhou-2025",
        "jinjiang-vision",
        "hz-xixi-compute",
        "H20",
        10_000_000,
        2_000_000,
        "reject",
    ),  # fmt: skip
)
BUYER = Tenant(
    "yanqi-compute", "Yanqi Compute", "Beijing", date(2020, 6, 1), 80, 2_000_000_000, "CNY",
    "compute-services", False,
)  # fmt: skip


def _money(amount_fen: int) -> str:
    return str(Money(amount_fen, "CNY"))


def _applications(ctx: DemoContext, day: date) -> None:
    at = datetime.combine(day, datetime.min.time(), UTC)
    for app_id, program, tenant, provider, acc, amount, asked, decision in DEMO_APPLICATIONS:
        contract = Contract(
            provider, acc, Fraction(amount, 2_000), amount, "CNY", day,
            date(day.year, 12, 31) if day.month < 12 else day, contract_id=f"C-{app_id}",
        )  # fmt: skip
        with UnitOfWork(ctx.engine) as uow:
            app = apps.apply(
                uow, SYSTEM, application_id=app_id, program_id=program,
                tenant_id=tenant, requested_fen=asked, contract=contract, now=at,
            )  # fmt: skip
        failed = [r["check"] + ": " + r["reason"] for r in app.reasons if not r["passed"]]
        verdict = "eligible" if app.eligible else "NOT eligible (" + "; ".join(failed) + ")"
        line = f"{app_id}: {tenant} → {program}, asks {_money(asked)}; {verdict}"
        if app.eligible:
            with UnitOfWork(ctx.engine) as uow:
                reason = "" if decision == "approve" else "purpose not documented"
                out = apps.review(uow, REVIEWER, app_id, decision, reason=reason, now=at)  # type: ignore[arg-type]
            done = "approved" if decision == "approve" else "rejected"
            line += f"; reviewer {done if out.ok else out.result.value}: {out.reason}"
        ctx.console.print(line, highlight=False)


def _claim(ctx: DemoContext, day: date) -> None:
    with UnitOfWork(ctx.engine) as uow:
        registry.create(uow, SYSTEM, BUYER)
    at = datetime.combine(day, datetime.min.time(), UTC)
    with UnitOfWork(ctx.engine) as uow:
        found = claims.claim(
            uow, SYSTEM, claim_id="yq-910b-1", program_id="beijing-domestic-gpu-purchase",
            buyer_id=BUYER.id, accelerator_id="910B", count=64, amount_fen=1_280_000_000,
            currency="CNY", invoice_id="INV-2026-0001", purchased_on=day, now=at,
        )  # fmt: skip
    with UnitOfWork(ctx.engine) as uow:
        out = claims.review_claim(uow, REVIEWER, found.id, "approve", now=at)
    ctx.console.print(
        f"claim {found.id}: {BUYER.id} bought 64 x 910B for {_money(found.amount_fen)}; "
        f"subsidy {_money(found.subsidy_fen)} (10 %); reviewer: {out.result.value}, {out.reason}",
        highlight=False,
    )


def _balances(ctx: DemoContext) -> None:
    table = Table(title="Ledger balances: program budgets, vouchers, wallets")
    for col in ("account", "kind", "owner", "balance"):
        table.add_column(col, justify="right" if col == "balance" else "left")
    with UnitOfWork(ctx.engine) as uow:
        for kind in ("program_budget", "voucher", "tenant_wallet"):
            for b in ledger.visible_balances(uow, SYSTEM, kind=kind):
                owner = b.owner_id or "—"
                table.add_row(b.account_id, kind, owner, str(Money(b.available_minor, b.currency)))
        broken = ledger.check_invariants(uow)
    ctx.console.print(table)
    ctx.console.print(f"Ledger invariants: {broken or 'ok'}")


def step_vouchers(ctx: DemoContext) -> None:
    ctx.section("Applications, vouchers and a purchase-subsidy claim")
    day = date(2025, 3, 3)  # inside every demo program's validity
    _applications(ctx, day)
    _claim(ctx, day)
    _balances(ctx)
    ctx.console.print(
        "Try: [cyan]suanli applications list[/cyan], [cyan]suanli vouchers list[/cyan], "
        "[cyan]suanli budget hangzhou-2025[/cyan], [cyan]suanli claim list[/cyan]"
    )
