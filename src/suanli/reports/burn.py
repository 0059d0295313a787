"""Budget burn: per program and month, the money committed (vouchers issued), released (posted
out of the program's budget account), spent (the vouchers' share of settled runs) and what is
left of the year's budget, and per program the day the budget runs out at the current rate of
commitment (the year's commitments so far per day)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from suanli.reports.arith import runs_out_on
from suanli.reports.facts import AwardFact, BudgetFact, PostingFact, RunFact
from suanli.reports.records import Report, RowBase, column_names


@dataclass(frozen=True, slots=True)
class BurnRow(RowBase):
    program_id: str
    month: str
    currency: str
    budget_fen: int | None  # the year's published budget; None: funded award by award
    committed_fen: int
    released_fen: int
    spent_fen: int
    committed_to_date_fen: int  # within the month's year
    spent_to_date_fen: int
    remaining_fen: int | None  # the year's budget less what was committed to date


@dataclass(frozen=True, slots=True)
class ProgramBurn(RowBase):
    program_id: str
    year: int
    currency: str
    budget_fen: int | None
    committed_fen: int
    released_fen: int
    spent_fen: int
    remaining_fen: int | None
    committed_fen_per_day: float
    runs_out_on: date | None


Sums = dict[tuple[str, str], list[int]]  # (program, month) -> committed, released, spent


def _sums(
    awards: Sequence[AwardFact], posted: Sequence[PostingFact], runs: Sequence[RunFact]
) -> Sums:
    sums: Sums = defaultdict(lambda: [0, 0, 0])
    for award in awards:
        sums[(award.program_id, award.at.strftime("%Y-%m"))][0] += award.amount_fen
    for post in posted:
        sums[(post.program_id, post.at.strftime("%Y-%m"))][1] += post.amount_fen
    for run in runs:
        if run.program_id and run.voucher_fen:
            sums[(run.program_id, run.month)][2] += run.voucher_fen
    return sums


def burn_rows(
    sums: Sums, budgets: dict[tuple[str, int], BudgetFact], currencies: dict[str, str]
) -> list[BurnRow]:
    rows = []
    to_date: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for program, month in sorted(sums):
        committed, released, spent = sums[(program, month)]
        year = int(month[:4])
        acc = to_date[(program, year)]
        acc[0] += committed
        acc[1] += spent
        budget = budgets.get((program, year))
        budget_fen = None if budget is None else budget.budget_fen
        remaining = None if budget_fen is None else budget_fen - acc[0]
        rows.append(
            BurnRow(
                program,
                month,
                currencies.get(program, "CNY"),
                budget_fen,
                committed,
                released,
                spent,
                acc[0],
                acc[1],
                remaining,
            )  # fmt: skip
        )
    return rows


def program_burn(
    program: str,
    today: date,
    sums: Sums,
    budget: BudgetFact | None,
    year: int,
    currency: str,
) -> ProgramBurn:
    """The program's ``year`` to date: the rate is that year's commitments over the days from
    its start to today (or to its end, for a past year)."""
    this_year = [v for (p, m), v in sums.items() if p == program and m.startswith(f"{year:04d}-")]
    committed = sum(v[0] for v in this_year)
    as_of = min(today, date(year, 12, 31))
    elapsed_days = max((as_of - date(year, 1, 1)).days + 1, 1)
    rate = committed / elapsed_days
    budget_fen = None if budget is None else budget.budget_fen
    remaining = None if budget_fen is None else budget_fen - committed
    out_on = None if remaining is None else runs_out_on(remaining, rate, as_of)
    return ProgramBurn(
        program, year, currency, budget_fen, committed,
        sum(v[1] for v in this_year), sum(v[2] for v in this_year),
        remaining, rate, out_on,
    )  # fmt: skip


def latest_year(program: str, sums: Sums, budgets: Sequence[BudgetFact], today: date) -> int:
    """The program's newest budget year, else its newest year with money moved, else this
    year."""
    budgeted = [b.year for b in budgets if b.program_id == program]
    if budgeted:
        return max(budgeted)
    return max((int(m[:4]) for p, m in sums if p == program), default=today.year)


def burn_report(
    awards: Sequence[AwardFact],
    posted: Sequence[PostingFact],
    runs: Sequence[RunFact],
    budgets: Sequence[BudgetFact],
    today: date,
) -> Report:
    sums = _sums(awards, posted, runs)
    by_year = {(b.program_id, b.year): b for b in budgets}
    currencies = {b.program_id: b.currency for b in budgets}
    currencies |= {a.program_id: a.currency for a in awards}
    programs = sorted({p for p, _ in sums} | {b.program_id for b in budgets})
    summary = []
    for p in programs:
        year = latest_year(p, sums, budgets, today)
        summary.append(
            program_burn(p, today, sums, by_year.get((p, year)), year, currencies.get(p, "CNY"))
        )
    return Report(
        name="burn",
        columns=column_names(BurnRow),
        rows=tuple(burn_rows(sums, by_year, currencies)),
        summary={"as_of": today.isoformat(), "programs": [s.to_dict() for s in summary]},
        notes=(
            "committed: vouchers issued (amount awarded) in the month",
            "released: posted transfers out of the program's budget accounts in the month",
            "spent: the vouchers' share of runs settled in the month",
            "runs_out_on: the latest budget year's remaining budget at that year's rate of "
            "commitment (committed so far / days elapsed); null when nothing is being "
            "committed, it lasts past a century, or the program publishes no budget",
        ),
    )
