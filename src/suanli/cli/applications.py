"""``suanli apply``, ``review``, ``applications list``, ``vouchers``, ``claim`` and ``budget``.

The command line acts as the system officer on ``$SUANLI_DATABASE_URL``; it calls the same
service functions as the API.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.table import Table

from suanli.cli import remote
from suanli.cli.common import console, exit_if_rejected, handle_errors, print_json, unit_of_work
from suanli.domain.money import Money
from suanli.domain.roles import SYSTEM
from suanli.errors import ValidationError
from suanli.schemas.programs import ContractIn
from suanli.services import applications as apps
from suanli.services import claims, ledger, vouchers

vouchers_app = typer.Typer(help="Vouchers issued on approved applications.")
applications_app = typer.Typer(help="Voucher applications.")
claim_app = typer.Typer(help="Purchase-subsidy claims.")
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def _money(amount_fen: int | None, currency: str) -> str:
    return "" if amount_fen is None else str(Money(amount_fen, currency))


def _plain(record: Any) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    if "status" in data:
        data["status"] = str(data["status"])
    return data


def _contract(path: Path) -> ContractIn:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError("contract", f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError("contract", f"{path} is not valid JSON: {exc}") from None
    try:
        return ContractIn.model_validate(raw)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(["contract", *(str(p) for p in err["loc"])])
        raise ValidationError(where, err["msg"]) from None


def _reasons(reasons: Any, lines: Any) -> None:
    for r in reasons:
        console.print(
            f"  {'✓' if r['passed'] else '✗'} {r['check']}: {r['reason']}", highlight=False
        )
    for line in lines:
        console.print(f"  {line}", highlight=False)


@handle_errors
def apply(
    program: Annotated[str, typer.Option(help="program id, e.g. hangzhou-2025")],
    tenant: Annotated[str, typer.Option(help="registered tenant id")],
    amount: Annotated[int, typer.Option(help="voucher amount asked for, fen")],
    contract: Annotated[Path, typer.Option(help="contract JSON file (the API's schema)")],
    app_id: Annotated[str, typer.Option("--id", help="application id; a retry reuses it")],
    tier: Annotated[str | None, typer.Option(help="credit tier, for credit allocations")] = None,
    as_json: AsJson = False,
) -> None:
    """Apply for a voucher: every eligibility rule is judged now, with its reason."""
    body = _contract(contract)
    with unit_of_work() as uow:
        app = apps.apply(
            uow, SYSTEM, application_id=app_id, program_id=program, tenant_id=tenant,
            requested_fen=amount, contract=body.to_domain(), tier=tier,
        )  # fmt: skip
    if as_json:
        print_json(_plain(app))
        return
    console.print(
        f"[bold]{app.id}[/bold] {app.program_id} for {app.tenant_id}: {app.status}, "
        f"entitled {_money(app.entitled_fen, app.currency)}",
        highlight=False,
    )
    _reasons(app.reasons, app.lines)


def _decision(approve: bool, reject: str | None) -> str:
    if approve == (reject is not None):
        raise ValidationError("decision", "give exactly one of --approve or --reject REASON")
    return "approve" if approve else "reject"


@handle_errors
def review(
    application_id: str,
    approve: Annotated[bool, typer.Option("--approve", help="approve")] = False,
    reject: Annotated[str | None, typer.Option(help="reject, with this reason")] = None,
    amount: Annotated[int | None, typer.Option(help="approved amount, fen")] = None,
    reason: Annotated[str, typer.Option(help="a note on the approval")] = "",
    as_json: AsJson = False,
) -> None:
    """Approve an application (issues the voucher) or reject it with a reason."""
    decision = _decision(approve, reject)
    with unit_of_work() as uow:
        outcome = apps.review(
            uow, SYSTEM, application_id, decision,  # type: ignore[arg-type]
            amount_fen=amount, reason=reject or reason,
        )  # fmt: skip
    voucher = outcome.voucher
    if as_json:
        print_json(
            {
                "ok": outcome.ok,
                "result": outcome.result.value,
                "reason": outcome.reason,
                "voucher": None if voucher is None else _plain(voucher),
            }
        )
    else:
        console.print(f"{application_id}: {outcome.result.value} — {outcome.reason}")
        if voucher is not None:
            console.print(
                f"voucher {voucher.id}: {_money(voucher.amount_fen, voucher.currency)}, "
                f"{_money(voucher.released_fen, voucher.currency)} released, valid "
                f"{voucher.valid_from} to {voucher.valid_until or 'open'}",
                highlight=False,
            )
    exit_if_rejected(outcome.rejection)


@applications_app.command("list")
@handle_errors
def list_applications(
    tenant: Annotated[str | None, typer.Option(help="only this tenant")] = None,
    program: Annotated[str | None, typer.Option(help="only this program")] = None,
    status: Annotated[str | None, typer.Option(help="pending, approved, ...")] = None,
    as_json: AsJson = False,
) -> None:
    """List applications."""
    with unit_of_work() as uow:
        found = apps.list_applications(
            uow, SYSTEM, tenant_id=tenant, program_id=program, status=status
        )
    if as_json:
        print_json([_plain(a) for a in found])
        return
    table = Table(title=f"{len(found)} applications")
    for col in ("id", "program", "tenant", "asked", "entitled", "status", "approved"):
        table.add_column(col)
    for a in found:
        table.add_row(
            a.id, a.program_id, a.tenant_id, _money(a.requested_fen, a.currency),
            _money(a.entitled_fen, a.currency), a.status.value,
            _money(a.approved_fen, a.currency),
        )  # fmt: skip
    console.print(table)


def voucher_table(uow: Any, found: list[Any], title: str) -> Table:
    table = Table(title=title)
    for col in ("voucher", "program", "tenant", "amount", "released", "balance", "valid until"):
        table.add_column(col)
    for v in found:
        left = ledger.balance(uow, v.account_id).available_minor
        table.add_row(
            v.id, v.program_id, v.tenant_id, _money(v.amount_fen, v.currency),
            _money(v.released_fen, v.currency), _money(left, v.currency),
            str(v.valid_until or "open"),
        )  # fmt: skip
    return table


def _print_remote_vouchers(found: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(found)
        return
    table = Table(title=f"{len(found)} vouchers")
    for col in ("voucher", "program", "tenant", "amount", "released", "balance", "valid until"):
        table.add_column(col)
    for v in found:
        cur = v["currency"]
        left = (v.get("balance") or {}).get("available_fen", 0)
        table.add_row(
            v["id"], v["program_id"], v["tenant_id"], _money(v["amount_fen"], cur),
            _money(v["released_fen"], cur), _money(left, cur), str(v.get("valid_until") or "open"),
        )  # fmt: skip
    console.print(table)


@vouchers_app.command("list")
@handle_errors
def list_vouchers(
    tenant: Annotated[str | None, typer.Option(help="only this tenant")] = None,
    program: Annotated[str | None, typer.Option(help="only this program")] = None,
    as_json: AsJson = False,
    server: remote.Server = None,
    token: remote.Token = None,
) -> None:
    """List vouchers with their balances."""
    if server:
        _print_remote_vouchers(remote.vouchers(server, token, tenant, program), as_json)
        return
    with unit_of_work() as uow:
        found = vouchers.vouchers_for(uow, SYSTEM, tenant, program)
        if as_json:
            print_json(
                [
                    {
                        **_plain(v),
                        "available_fen": ledger.balance(uow, v.account_id).available_minor,
                    }
                    for v in found
                ]
            )
            return
        console.print(voucher_table(uow, found, f"{len(found)} vouchers"))


@vouchers_app.command("release")
@handle_errors
def release(voucher_id: str, milestone: str) -> None:
    """Release a voucher's later tranche once its milestone (e.g. progress-report) is met."""
    with unit_of_work() as uow:
        voucher = apps.release_tranche(uow, SYSTEM, voucher_id, milestone)
    console.print(f"{voucher.id}: {_money(voucher.released_fen, voucher.currency)} released")


@claim_app.command("new")
@handle_errors
def new_claim(
    program: Annotated[str, typer.Option(help="a purchase-subsidy program id")],
    buyer: Annotated[str, typer.Option(help="registered tenant id of the buyer")],
    accelerator: Annotated[str, typer.Option(help="catalog id or alias")],
    count: Annotated[int, typer.Option(help="accelerators bought")],
    amount: Annotated[int, typer.Option(help="purchase amount, fen")],
    invoice: Annotated[str, typer.Option(help="invoice id")],
    purchased_on: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    claim_id: Annotated[str, typer.Option("--id", help="claim id; a retry reuses it")],
    currency: Annotated[str, typer.Option(help="currency")] = "CNY",
    seller: Annotated[str, typer.Option(help="seller id")] = "",
    as_json: AsJson = False,
) -> None:
    """Claim a purchase subsidy; every check is judged now, with its reason."""
    try:
        day = date.fromisoformat(purchased_on)
    except ValueError:
        raise ValidationError("purchased_on", "must be a date YYYY-MM-DD") from None
    with unit_of_work() as uow:
        found = claims.claim(
            uow, SYSTEM, claim_id=claim_id, program_id=program, buyer_id=buyer,
            accelerator_id=accelerator, count=count, amount_fen=amount, currency=currency,
            invoice_id=invoice, purchased_on=day, seller_id=seller,
        )  # fmt: skip
    if as_json:
        print_json(claims.claim_json(found))
        return
    console.print(
        f"[bold]{found.id}[/bold]: {found.status}, subsidy "
        f"{_money(found.subsidy_fen, found.currency)}",
        highlight=False,
    )
    _reasons(found.reasons, found.lines)


@claim_app.command("review")
@handle_errors
def review_claim(
    claim_id: str,
    approve: Annotated[bool, typer.Option("--approve", help="approve and pay out")] = False,
    reject: Annotated[str | None, typer.Option(help="reject, with this reason")] = None,
    amount: Annotated[int | None, typer.Option(help="approved amount, fen")] = None,
    as_json: AsJson = False,
) -> None:
    """Approve a claim (pays the buyer's wallet from the budget) or reject it."""
    decision = _decision(approve, reject)
    with unit_of_work() as uow:
        outcome = claims.review_claim(
            uow, SYSTEM, claim_id, decision,  # type: ignore[arg-type]
            amount_fen=amount, reason=reject or "",
        )  # fmt: skip
    if as_json:
        print_json({"ok": outcome.ok, "result": outcome.result.value, "reason": outcome.reason,
                    "claim": claims.claim_json(outcome.claim)})  # fmt: skip
    else:
        console.print(f"{claim_id}: {outcome.result.value} — {outcome.reason}")
    exit_if_rejected(outcome.rejection)


@claim_app.command("list")
@handle_errors
def list_claims(
    buyer: Annotated[str | None, typer.Option(help="only this buyer")] = None,
    program: Annotated[str | None, typer.Option(help="only this program")] = None,
    as_json: AsJson = False,
) -> None:
    """List purchase-subsidy claims."""
    with unit_of_work() as uow:
        found = claims.list_claims(uow, SYSTEM, buyer_id=buyer, program_id=program)
    if as_json:
        print_json([claims.claim_json(c) for c in found])
        return
    table = Table(title=f"{len(found)} claims")
    for col in ("id", "program", "buyer", "purchase", "invoice", "subsidy", "status"):
        table.add_column(col)
    for c in found:
        table.add_row(
            c.id, c.program_id, c.buyer_id, f"{c.count} x {c.accelerator_id}", c.invoice_id,
            _money(c.subsidy_fen, c.currency), c.status.value,
        )  # fmt: skip
    console.print(table)


@handle_errors
def budget(program_id: str, as_json: AsJson = False) -> None:
    """A program's budget per year: funded, paid, held for later tranches, left."""
    with unit_of_work() as uow:
        view = vouchers.budget_view(uow, SYSTEM, program_id)
    if as_json:
        print_json(view)
        return
    cur = view["currency"]
    table = Table(title=f"{program_id} budget")
    for col in ("year", "funded", "paid", "held", "left"):
        table.add_column(col)
    for y in view["years"]:
        table.add_row(
            str(y["year"]), _money(y["funded_fen"], cur), _money(y["paid_fen"], cur),
            _money(y["held_fen"], cur), _money(y["left_fen"], cur),
        )  # fmt: skip
    console.print(table)


def register(main: typer.Typer) -> None:
    main.command("apply")(apply)
    main.command("review")(review)
    main.command("budget")(budget)
    main.add_typer(applications_app, name="applications")
    main.add_typer(vouchers_app, name="vouchers")
    main.add_typer(claim_app, name="claim")
