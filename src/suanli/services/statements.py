"""Monthly statements of settled runs, per tenant, provider or voucher program.

One line per run (so every attempt of a job that fell back appears), with the metered
accelerator-seconds and how its cost was paid: the voucher's share and the wallet's, and why the
voucher paid less than its rate where it did (a fallback offer its program does not accept).
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime

from suanli.domain.registry import Provider, Tenant
from suanli.domain.roles import READ_ALL_ROLES, Principal, Role
from suanli.domain.runs import Run
from suanli.domain.statements import COLUMNS, Statement, StatementLine
from suanli.domain.vouchers import Voucher
from suanli.errors import NotFoundError, PermissionDenied, ValidationError
from suanli.ledger.model import Transfer, TransferKind, TransferStatus
from suanli.services import ledger
from suanli.services.programs import get_program
from suanli.store.repositories import registry as registry_repo
from suanli.store.repositories import runs as runs_repo
from suanli.store.repositories import vouchers as vouchers_repo
from suanli.store.uow import UnitOfWork


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValidationError("month", "must be YYYY-MM") from exc
    end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return start, end


def statement(
    uow: UnitOfWork,
    who: Principal,
    month: str,
    *,
    tenant: str | None = None,
    provider: str | None = None,
    program: str | None = None,
) -> Statement:
    if sum(x is not None for x in (tenant, provider, program)) != 1:
        raise ValidationError("party", "give exactly one of tenant, provider or program")
    party = tenant or provider or program or ""
    # A tenant reads its own statement and a provider its own: never one whose id merely
    # equals its organisation's (a provider named like a tenant).
    own = (tenant is not None and who.role is Role.TENANT and who.org_id == tenant) or (
        provider is not None and who.role is Role.PROVIDER and who.org_id == provider
    )
    if who.role not in READ_ALL_ROLES and not own:
        raise PermissionDenied(f"{who.role} may not read the statement of {party}")
    start, end = month_bounds(month)
    # An unknown party is an error, not an empty statement (a misspelt id looks like no runs).
    if program is not None:
        get_program(program)
    elif tenant is not None and registry_repo.get(uow.conn, Tenant, tenant) is None:
        raise NotFoundError("tenant", tenant)
    elif provider is not None and registry_repo.get(uow.conn, Provider, provider) is None:
        raise NotFoundError("provider", provider)
    if program is not None:
        lines = program_lines(uow, program, start, end)
    else:
        lines = _run_lines(uow, start, end, tenant_id=tenant, provider_id=provider)
    return Statement(party, month, tuple(lines))


def _run_lines(
    uow: UnitOfWork, start: datetime, end: datetime, **party: str | None
) -> list[StatementLine]:
    """A tenant's or a provider's runs settled in the month, one line per run."""
    lines = []
    for row in runs_repo.settled_between(uow.conn, start, end, **party):
        run, metered_s = runs_repo.run_of(row), float(row._mapping["accelerator_seconds"])
        lines.append(_run_line(run, metered_s, run.voucher_fen or 0, transfer_id=""))
    return lines


def _run_line(run: Run, metered_s: float, voucher_fen: int, *, transfer_id: str) -> StatementLine:
    voucher = run.voucher
    assert run.finished_at is not None  # settled runs have ended
    return StatementLine(
        run_id=run.id, request_id=run.request_id, attempt=run.attempt, tenant_id=run.tenant_id,
        provider_id=run.provider_id, site_id=run.site_id, offer_id=run.offer_id,
        accelerator_id=run.accelerator_id,
        exit_class="" if run.exit_class is None else run.exit_class.value,
        finished_at=_iso(run.finished_at), accelerator_seconds=round(metered_s, 3),
        price_fen_per_accel_hour=run.price_fen_per_accel_hour, currency=run.currency,
        billed_fen=run.billed_fen or 0, voucher_fen=voucher_fen, wallet_fen=run.wallet_fen or 0,
        program_id="" if voucher is None else voucher.program_id,
        voucher_note="" if voucher is None else voucher.note,  # e.g. why a fallback paid nothing
        voucher_id="" if voucher is None else voucher.voucher_id, transfer_id=transfer_id,
    )  # fmt: skip


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def program_lines(
    uow: UnitOfWork, program_id: str, start: datetime, end: datetime
) -> list[StatementLine]:
    """What a program paid in the month, read from the ledger: every posting from one of its
    vouchers to a provider, one line each (a run's settlement, or a direct spend), so the
    statement's total is the program's postings by construction and lists nothing it did not
    pay. ``voucher_fen`` is this program's share; ``billed_fen`` what that line cost in all."""
    lines = []
    for voucher in vouchers_repo.list_all(uow.conn, Voucher, program_id=program_id):
        for entry in ledger.account_statement(uow, voucher.account_id, start, end):
            t = entry.transfer
            if not is_payment(t, voucher.account_id):
                continue
            lines.append(_payment_line(uow, t, program_id, voucher.id))
    return sorted(lines, key=lambda x: (x.finished_at, x.run_id, x.transfer_id))


def is_payment(t: Transfer, account_id: str) -> bool:
    """A posted transfer that moved money from the voucher's account to a provider."""
    return (
        t.debit_account_id == account_id
        and t.kind in (TransferKind.SINGLE, TransferKind.POST)
        and t.status is TransferStatus.POSTED
        and t.credit_account_id.startswith("receivable:")
    )


def _metered_s(uow: UnitOfWork, run_id: str) -> float:
    return round(sum(u.accelerator_seconds for u in runs_repo.usage(uow.conn, run_id)), 3)


def _payment_line(uow: UnitOfWork, t: Transfer, program_id: str, voucher_id: str) -> StatementLine:
    """One posting from a program's voucher: its run's line with this share, or a spend."""
    run_id = t.id.split(":")[1] if t.id.startswith("run:") else None
    run = runs_repo.get(uow.conn, run_id) if run_id else None
    if run is not None:
        line = _run_line(run, _metered_s(uow, run.id), t.amount_minor, transfer_id=t.id)
        return replace(line, program_id=program_id, voucher_id=voucher_id)
    return StatementLine(
        run_id="", request_id="", attempt=None, tenant_id="", site_id="", offer_id="",
        provider_id=t.credit_account_id.removeprefix("receivable:"), accelerator_id="",
        exit_class="", finished_at=_iso(t.created_at), accelerator_seconds=0.0,
        price_fen_per_accel_hour=None, currency=t.currency, billed_fen=t.amount_minor,
        voucher_fen=t.amount_minor, wallet_fen=0, program_id=program_id, voucher_note=t.memo,
        voucher_id=voucher_id, transfer_id=t.id,
    )  # fmt: skip


def to_csv(result: Statement) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(x.to_dict() for x in result.lines)
    return out.getvalue()
