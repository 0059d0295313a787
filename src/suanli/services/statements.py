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
from suanli.errors import PermissionDenied, ValidationError
from suanli.store.repositories import runs as runs_repo
from suanli.store.uow import UnitOfWork

COLUMNS = (
    "run_id", "request_id", "attempt", "tenant_id", "provider_id", "site_id", "offer_id",
    "accelerator_id", "exit_class", "finished_at", "accelerator_seconds",
    "price_fen_per_accel_hour", "currency", "billed_fen", "voucher_fen", "wallet_fen",
    "program_id", "voucher_note",
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
    lines = []
    rows = runs_repo.settled_between(uow.conn, start, end, tenant_id=tenant, provider_id=provider)
    for row in rows:
        m = row._mapping
        voucher = m["voucher"] or {}
        program_id = voucher.get("program_id", "")
        if program is not None and program_id != program:
            continue
        line = {c: m[c] for c in COLUMNS if c in m}
        line["run_id"] = m["id"]
        line["program_id"] = program_id
        line["voucher_note"] = voucher.get("note", "")  # e.g. why it paid nothing on a fallback
        line["accelerator_seconds"] = round(float(m["accelerator_seconds"]), 3)
        line["finished_at"] = m["finished_at"].replace(tzinfo=UTC).isoformat(timespec="seconds")
        lines.append(line)
    money = ("billed_fen", "voucher_fen", "wallet_fen")
    totals = {k: sum(int(x[k] or 0) for x in lines) for k in money}
    return {"party": party, "month": month, "lines": lines, "totals": totals}


def to_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result["lines"])
    return out.getvalue()
