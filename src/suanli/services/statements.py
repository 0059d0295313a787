"""Monthly statements of settled runs, per tenant, provider or voucher program.

One line per run (so every attempt of a job that fell back appears), with the metered
accelerator-seconds and how its cost was paid: the voucher's share and the wallet's, and why the
voucher paid less than its rate where it did (a fallback offer its program does not accept).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from suanli.domain.roles import READ_ALL_ROLES, Principal, Role
from suanli.domain.vouchers import Voucher
from suanli.errors import PermissionDenied, ValidationError
from suanli.ledger.model import Transfer, TransferKind, TransferStatus
from suanli.services import ledger
from suanli.store.repositories import runs as runs_repo
from suanli.store.repositories import vouchers as vouchers_repo
from suanli.store.uow import UnitOfWork

COLUMNS = (
    "run_id", "request_id", "attempt", "tenant_id", "provider_id", "site_id", "offer_id",
    "accelerator_id", "exit_class", "finished_at", "accelerator_seconds",
    "price_fen_per_accel_hour", "currency", "billed_fen", "voucher_fen", "wallet_fen",
    "program_id", "voucher_note", "voucher_id", "transfer_id",
)  # fmt: skip


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
) -> dict[str, Any]:
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
    if program is not None:
        lines = program_lines(uow, program, start, end)
    else:
        lines = _run_lines(uow, start, end, tenant_id=tenant, provider_id=provider)
    money = ("billed_fen", "voucher_fen", "wallet_fen")
    totals = {k: sum(int(x[k] or 0) for x in lines) for k in money}
    return {"party": party, "month": month, "lines": lines, "totals": totals}


def _run_lines(
    uow: UnitOfWork, start: datetime, end: datetime, **party: str | None
) -> list[dict[str, Any]]:
    """A tenant's or a provider's runs settled in the month, one line per run."""
    lines = []
    for row in runs_repo.settled_between(uow.conn, start, end, **party):
        m = row._mapping
        voucher = m["voucher"] or {}
        program_id = voucher.get("program_id", "")
        line = {c: m[c] for c in COLUMNS if c in m}
        line["run_id"] = m["id"]
        line["program_id"] = program_id
        line["voucher_id"] = voucher.get("voucher_id", "")
        line["transfer_id"] = ""
        line["voucher_note"] = voucher.get("note", "")  # e.g. why it paid nothing on a fallback
        line["accelerator_seconds"] = round(float(m["accelerator_seconds"]), 3)
        line["finished_at"] = m["finished_at"].replace(tzinfo=UTC).isoformat(timespec="seconds")
        lines.append(line)
    return lines


def program_lines(
    uow: UnitOfWork, program_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
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
    return sorted(lines, key=lambda x: (x["finished_at"], x["run_id"], x["transfer_id"]))


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


def _payment_line(uow: UnitOfWork, t: Transfer, program_id: str, voucher_id: str) -> dict[str, Any]:
    at = t.created_at.astimezone(UTC).isoformat(timespec="seconds")
    line: dict[str, Any] = {c: None for c in COLUMNS}
    line |= dict(program_id=program_id, voucher_id=voucher_id, transfer_id=t.id,
                voucher_fen=t.amount_minor, finished_at=at, currency=t.currency,
                provider_id=t.credit_account_id.removeprefix("receivable:"), run_id="",
                voucher_note=t.memo, billed_fen=t.amount_minor, wallet_fen=0)  # fmt: skip
    run_id = t.id.split(":")[1] if t.id.startswith("run:") else None
    run = runs_repo.get(uow.conn, run_id) if run_id else None
    if run is not None:
        line |= dict(run_id=run.id, request_id=run.request_id, attempt=run.attempt,
                    tenant_id=run.tenant_id, site_id=run.site_id, offer_id=run.offer_id,
                    accelerator_id=run.accelerator_id,
                    exit_class=None if run.exit_class is None else run.exit_class.value,
                    price_fen_per_accel_hour=run.price_fen_per_accel_hour,
                    billed_fen=run.billed_fen, wallet_fen=run.wallet_fen,
                    voucher_note=run.voucher.note if run.voucher else "",
                    accelerator_seconds=_metered_s(uow, run.id))  # fmt: skip
    return line


def to_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result["lines"])
    return out.getvalue()
