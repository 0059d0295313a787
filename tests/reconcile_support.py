"""Statements against the ledger: each program's statement total for a month must equal what its
vouchers' accounts paid out, read from the accounts' own posted totals (not from transfers)."""

from __future__ import annotations

from sqlalchemy import Engine

from suanli.domain.roles import SYSTEM
from suanli.domain.vouchers import Voucher
from suanli.services import ledger, statements, vouchers
from suanli.store.repositories import vouchers as vouchers_repo
from suanli.store.uow import UnitOfWork


def mismatches(engine: Engine, month: str) -> list[str]:
    """Programs whose statement does not reconcile, with both figures; empty when all do.
    Assumes the vouchers paid only providers, all within ``month``."""
    out: list[str] = []
    with UnitOfWork(engine, read_only=True) as uow:
        listed = {v.id for v in vouchers.vouchers_for(uow, SYSTEM, None, None)}
        programs = {v.program_id for v in vouchers_repo.list_all(uow.conn, Voucher)}
        for program in sorted(programs):
            shown = statements.statement(uow, SYSTEM, month, program=program).to_dict()
            paid = sum(
                ledger.get_account(uow, v.account_id).posted_debits
                for v in vouchers_repo.list_all(uow.conn, Voucher, program_id=program)
            )
            if shown["totals"]["voucher_fen"] != paid:
                out.append(f"{program}: statement {shown['totals']['voucher_fen']} != paid {paid}")
            unlisted = {x["voucher_id"] for x in shown["lines"]} - listed
            if unlisted:
                out.append(f"{program}: paid by vouchers not in vouchers list: {unlisted}")
            if any(x["program_id"] != program or x["voucher_fen"] <= 0 for x in shown["lines"]):
                out.append(f"{program}: lists a line it did not pay")
    return out
