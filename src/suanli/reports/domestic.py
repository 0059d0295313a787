"""Domestic share: per jurisdiction (a site's city), program, provider and month, the domestic
share of metered accelerator-hours, of billed spend and of offered capacity (chip-hours an
offer was live in the month); and per declared target, the monthly trend of its metric
extended to the target date."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from suanli.reports.arith import linear_trend, month_index, project_share, share
from suanli.reports.facts import OfferFact, RunFact, Target
from suanli.reports.records import Report, RowBase, column_names
from suanli.reports.windows import aware, overlap_hours

NO_PROGRAM = "(none)"


@dataclass(frozen=True, slots=True)
class ShareRow(RowBase):
    jurisdiction: str
    program_id: str
    provider_id: str
    month: str
    accelerator_hours: float
    domestic_accelerator_hours: float
    hours_domestic_share: float | None
    spend_fen: int
    domestic_spend_fen: int
    spend_domestic_share: float | None
    offered_accelerator_hours: float  # the provider's in this jurisdiction and month
    domestic_offered_accelerator_hours: float
    offered_domestic_share: float | None


@dataclass(frozen=True, slots=True)
class TargetRow(RowBase):
    target_id: str
    jurisdiction: str
    metric: str
    target_share: float
    by_date: str
    months: int
    latest_month: str | None
    latest_share: float | None
    slope_per_month: float | None
    projected_share: float | None
    status: str  # "on track" | "off track" | "no data"
    source_url: str


def offered_hours(offer: OfferFact, month: str) -> float:
    until = offer.available_until
    if offer.retired_at is not None:
        until = min(aware(until), aware(offer.retired_at))
    return offer.count * overlap_hours(offer.available_from, until, month)


Key = tuple[str, str, str, str]  # jurisdiction, program, provider, month


def _sum_runs(runs: Iterable[RunFact], domestic: Mapping[str, bool]) -> dict[Key, list[float]]:
    sums: dict[Key, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for run in runs:
        key = (run.city, run.program_id or NO_PROGRAM, run.provider_id, run.month)
        hours = run.accelerator_seconds / 3600.0
        acc = sums[key]
        acc[0] += hours
        acc[2] += run.billed_fen
        if domestic.get(run.accelerator_id, False):
            acc[1] += hours
            acc[3] += run.billed_fen
    return sums


def _sum_offers(
    offers: Iterable[OfferFact], domestic: Mapping[str, bool], months: Sequence[str]
) -> dict[tuple[str, str, str], list[float]]:
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for offer in offers:
        for month in months:
            hours = offered_hours(offer, month)
            if hours <= 0:
                continue
            acc = sums[(offer.city, offer.provider_id, month)]
            acc[0] += hours
            if domestic.get(offer.accelerator_id, False):
                acc[1] += hours
    return sums


def share_rows(
    runs: Sequence[RunFact],
    offers: Sequence[OfferFact],
    domestic: Mapping[str, bool],
    months: Sequence[str],
) -> list[ShareRow]:
    used = _sum_runs(runs, domestic)
    offered = _sum_offers(offers, domestic, months)
    keys = set(used)
    seen = {(j, p, m) for j, _, p, m in used}
    keys |= {(j, NO_PROGRAM, p, m) for (j, p, m) in offered if (j, p, m) not in seen}
    rows = []
    for key in sorted(keys):
        jurisdiction, program, provider, month = key
        hours, dom_hours, spend, dom_spend = used.get(key, [0.0, 0.0, 0.0, 0.0])
        cap, dom_cap = offered.get((jurisdiction, provider, month), [0.0, 0.0])
        rows.append(
            ShareRow(
                jurisdiction,
                program,
                provider,
                month,
                hours,
                dom_hours,
                share(dom_hours, hours),
                int(spend),
                int(dom_spend),
                share(dom_spend, spend),
                cap,
                dom_cap,
                share(dom_cap, cap),
            )  # fmt: skip
        )
    return rows


def _monthly_metric(
    rows: Sequence[ShareRow], jurisdiction: str, metric: str
) -> list[tuple[str, float]]:
    """Month -> the jurisdiction's share of ``metric`` over all its programs and providers.
    Offered capacity is counted once per provider (it repeats on each program's row)."""
    whole: dict[str, float] = defaultdict(float)
    part: dict[str, float] = defaultdict(float)
    counted: set[tuple[str, str]] = set()
    for row in rows:
        if row.jurisdiction.casefold() != jurisdiction.casefold():
            continue
        if metric == "offered_capacity":
            if (row.provider_id, row.month) in counted:
                continue
            counted.add((row.provider_id, row.month))
            whole[row.month] += row.offered_accelerator_hours
            part[row.month] += row.domestic_offered_accelerator_hours
        elif metric == "spend":
            whole[row.month] += row.spend_fen
            part[row.month] += row.domestic_spend_fen
        else:
            whole[row.month] += row.accelerator_hours
            part[row.month] += row.domestic_accelerator_hours
    result = []
    for month in sorted(whole):
        value = share(part[month], whole[month])
        if value is not None:
            result.append((month, value))
    return result


def target_rows(rows: Sequence[ShareRow], targets: Sequence[Target]) -> list[TargetRow]:
    out = []
    for target in targets:
        series = _monthly_metric(rows, target.jurisdiction, target.metric)
        points = [(float(month_index(m)), v) for m, v in series]
        at = float(month_index(target.by_date.strftime("%Y-%m")))
        projected = project_share(points, at)
        fit = linear_trend(points)
        status = "no data"
        if projected is not None:
            status = "on track" if projected >= target.share - 1e-9 else "off track"
        out.append(
            TargetRow(
                target.id,
                target.jurisdiction,
                target.metric,
                target.share,
                target.by_date.isoformat(),
                len(series),
                series[-1][0] if series else None,
                series[-1][1] if series else None,
                None if fit is None else fit[0],
                projected,
                status,
                target.source.url,
            )  # fmt: skip
        )
    return out


def domestic_share_report(
    runs: Sequence[RunFact],
    offers: Sequence[OfferFact],
    domestic: Mapping[str, bool],
    months: Sequence[str],
    targets: Sequence[Target],
) -> Report:
    rows = share_rows(runs, offers, domestic, months)
    judged = target_rows(rows, targets)
    return Report(
        name="domestic-share",
        columns=column_names(ShareRow),
        rows=tuple(rows),
        summary={"targets": [t.to_dict() for t in judged]},
        sources=tuple(t.source.to_dict() | {"target": t.id} for t in targets),
        notes=(
            "hours: metered accelerator-seconds of settled runs / 3600, by month finished",
            "offered: chips x hours each live offer was available in the month (the provider's, "
            "on every program row)",
            "projection: least-squares line through the monthly shares, at the target month; "
            "one month of data projects that month's share",
        ),
    )
