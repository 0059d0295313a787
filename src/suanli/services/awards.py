"""Money out of a program: its budget account per year, each entity's cap, and payments.

Building blocks for approving applications and claims; they take the caller's unit of work and
never commit. ``lock_limits`` takes the program-year's budget row and the entity's commitment
row with ``SELECT ... FOR UPDATE`` (SQLite: the writer lock of ``BEGIN IMMEDIATE``), so two
approvals of one program queue and the second sees what the first left. The ledger's floor on
the budget account is the second guard: it never pays out more than was funded.

Accounts: ``issuer:<program>`` (the issuing government's money, unbounded) funds
``budget:<program>:<year>`` with the yearly budget on first use in that year. A program that
publishes no budget is funded award by award, exactly by the amount awarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from suanli.domain.programs import Program
from suanli.domain.vouchers import cap_period
from suanli.errors import ConflictError, NotFoundError, ValidationError
from suanli.ledger.model import TransferOutcome
from suanli.services import ledger
from suanli.services.programs import get_program
from suanli.store.repositories import vouchers as repo
from suanli.store.uow import UnitOfWork


def issuer_account(program_id: str) -> str:
    return f"issuer:{program_id}"


def budget_account(program_id: str, year: int) -> str:
    return f"budget:{program_id}:{year}"


def known_program(program_id: str) -> Program:
    """The program, or a validation error naming the field (unknown ids are bad input)."""
    try:
        return get_program(program_id)
    except NotFoundError:
        raise ValidationError("program_id", f"unknown program {program_id!r}") from None


@dataclass(frozen=True, slots=True)
class Limits:
    program: Program
    entity_id: str
    year: int
    period: str
    account_id: str
    budget_left_fen: int | None  # None: no published budget
    cap_left_fen: int | None  # None: no cap


def _fund_year(uow: UnitOfWork, program: Program, year: int, account_id: str) -> None:
    ledger.open_account(uow, issuer_account(program.id), "issuer", program.currency)
    ledger.open_account(uow, account_id, "program_budget", program.currency)
    if not program.budget_per_year_fen:
        return
    outcome = ledger.transfer(
        uow, f"fund:{program.id}:{year}", issuer_account(program.id), account_id,
        program.budget_per_year_fen, program.currency, memo=f"{program.id} budget {year}",
    )  # fmt: skip
    if not outcome.ok:
        raise ConflictError(f"funding {program.id} {year}: {outcome.result}: {outcome.reason}")


def lock_limits(uow: UnitOfWork, program: Program, entity_id: str, day: date) -> Limits:
    """Lock the program-year's budget and the entity's cap row; say what is left of each."""
    account_id = budget_account(program.id, day.year)
    repo.lock_budget(uow.conn, program.id, day.year, program.budget_per_year_fen, account_id)
    _fund_year(uow, program, day.year, account_id)
    budget_left = None
    if program.budget_per_year_fen is not None:
        budget_left = ledger.balance(uow, account_id).available_minor
    period = cap_period(program, day)
    committed = repo.lock_commitment(uow.conn, program.id, entity_id, period)
    cap_left = None
    if program.cap_per_entity_fen is not None:
        cap_left = max(program.cap_per_entity_fen - committed, 0)
    return Limits(program, entity_id, day.year, period, account_id, budget_left, cap_left)


def already_awarded(uow: UnitOfWork, program: Program, entity_id: str, day: date) -> int:
    return repo.commitment(uow.conn, program.id, entity_id, cap_period(program, day))


def pay(
    uow: UnitOfWork,
    limits: Limits,
    transfer_id: str,
    to_account: str,
    amount_fen: int,
    *,
    pending: bool = False,
) -> TransferOutcome:
    """Pay (or hold, for a later tranche) from the budget; unbudgeted programs are topped up
    from the issuer by exactly this amount first."""
    program = limits.program
    if program.budget_per_year_fen is None:
        topped = ledger.transfer(
            uow, f"topup:{transfer_id}", issuer_account(program.id), limits.account_id,
            amount_fen, program.currency, memo=f"{program.id} award {transfer_id}",
        )  # fmt: skip
        if not topped.ok:
            return topped
    return ledger.transfer(
        uow, transfer_id, limits.account_id, to_account, amount_fen, program.currency,
        pending=pending, memo=f"{program.id} {transfer_id}",
    )  # fmt: skip


def commit(uow: UnitOfWork, limits: Limits, amount_fen: int) -> None:
    """Count an award against the entity's cap for the period."""
    repo.add_commitment(uow.conn, limits.program.id, limits.entity_id, limits.period, amount_fen)
