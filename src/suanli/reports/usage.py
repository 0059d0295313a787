"""Utilisation (per site, offer and month: capacity, reserved and used accelerator-hours, and
queue waits from a run's creation to its start) and fairness (per tenant and per size class:
accelerator-hours and waits, with Jain's index over tenants' hours)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean

from suanli.reports.arith import jain_index, percentile, share
from suanli.reports.domestic import offered_hours
from suanli.reports.facts import OfferFact, ReservationFact, RunFact
from suanli.reports.records import Report, RowBase, column_names
from suanli.reports.windows import aware, overlap_hours


@dataclass(frozen=True, slots=True)
class UtilisationRow(RowBase):
    site_id: str
    offer_id: str
    provider_id: str
    month: str
    capacity_accelerator_hours: float
    reserved_accelerator_hours: float
    used_accelerator_hours: float
    reserved_share: float | None
    used_share: float | None
    runs: int
    mean_wait_s: float | None
    p90_wait_s: float | None


def reserved_hours(res: ReservationFact, month: str) -> float:
    end = res.end_at if res.released_at is None else min(aware(res.end_at), aware(res.released_at))
    return res.accelerators * overlap_hours(res.start_at, end, month)


def utilisation_report(
    runs: Sequence[RunFact],
    offers: Sequence[OfferFact],
    reservations: Sequence[ReservationFact],
    months: Sequence[str],
) -> Report:
    reserved: dict[tuple[str, str], float] = defaultdict(float)
    for res in reservations:
        for month in months:
            reserved[(res.offer_id, month)] += reserved_hours(res, month)
    used: dict[tuple[str, str], list[RunFact]] = defaultdict(list)
    for run in runs:
        used[(run.offer_id, run.month)].append(run)
    rows = []
    for offer in sorted(offers, key=lambda o: (o.site_id, o.offer_id)):
        for month in months:
            cap = offered_hours(offer, month)
            its = used.get((offer.offer_id, month), [])
            booked = reserved.get((offer.offer_id, month), 0.0)
            if cap <= 0 and not its and booked <= 0:
                continue
            hours = sum(r.accelerator_seconds for r in its) / 3600.0
            waits = [w for r in its if (w := r.wait_s) is not None]
            rows.append(
                UtilisationRow(
                    offer.site_id,
                    offer.offer_id,
                    offer.provider_id,
                    month,
                    cap,
                    booked,
                    hours,
                    share(booked, cap),
                    share(hours, cap),
                    len(its),
                    fmean(waits) if waits else None,
                    percentile(waits, 0.9),
                )  # fmt: skip
            )
    return Report(
        name="utilisation",
        columns=column_names(UtilisationRow),
        rows=tuple(rows),
        notes=(
            "capacity: chips x hours the offer was live in the month",
            "reserved: reservations' chips x hours in the month (to release where released)",
            "used: metered accelerator-hours of runs settled in the month",
            "wait: a run's start less its creation (time in the queue)",
        ),
    )


def size_class(is_startup: bool) -> str:
    return "start-up" if is_startup else "large"


@dataclass(frozen=True, slots=True)
class FairnessRow(RowBase):
    tenant_id: str
    size_class: str
    runs: int
    accelerator_hours: float
    mean_wait_s: float | None
    p90_wait_s: float | None


@dataclass(frozen=True, slots=True)
class ClassRow(RowBase):
    size_class: str
    tenants: int
    runs: int
    accelerator_hours: float
    hours_share: float | None
    mean_wait_s: float | None
    p90_wait_s: float | None
    jain_index: float | None  # over the class's tenants' hours


def _class_rows(rows: Sequence[FairnessRow], runs: Sequence[RunFact]) -> list[ClassRow]:
    total = sum(r.accelerator_hours for r in rows)
    out = []
    for cls in sorted({r.size_class for r in rows}):
        members = [r for r in rows if r.size_class == cls]
        waits = [
            w for run in runs if size_class(run.tenant_is_startup) == cls
            if (w := run.wait_s) is not None
        ]  # fmt: skip
        hours = sum(r.accelerator_hours for r in members)
        out.append(
            ClassRow(
                cls,
                len(members),
                sum(r.runs for r in members),
                hours,
                share(hours, total),
                fmean(waits) if waits else None,
                percentile(waits, 0.9),
                jain_index([r.accelerator_hours for r in members]),
            )  # fmt: skip
        )
    return out


def fairness_rows(runs: Sequence[RunFact]) -> list[FairnessRow]:
    by_tenant: dict[str, list[RunFact]] = defaultdict(list)
    for run in runs:
        by_tenant[run.tenant_id].append(run)
    rows = []
    for tenant, its in sorted(by_tenant.items()):
        waits = [w for r in its if (w := r.wait_s) is not None]
        rows.append(
            FairnessRow(
                tenant,
                size_class(its[0].tenant_is_startup),
                len(its),
                sum(r.accelerator_seconds for r in its) / 3600.0,
                fmean(waits) if waits else None,
                percentile(waits, 0.9),
            )  # fmt: skip
        )
    return rows


def fairness_report(runs: Sequence[RunFact], *, own_only: bool = False) -> Report:
    """``own_only``: the runs are one tenant's, so only its row is shown and no aggregate over
    other tenants (class shares, Jain's index) is computed."""
    rows = fairness_rows(runs)
    summary: dict[str, object] = {}
    if not own_only:
        summary = {
            "classes": [c.to_dict() for c in _class_rows(rows, runs)],
            "jain_index": jain_index([r.accelerator_hours for r in rows]),
        }
    return Report(
        name="fairness",
        columns=column_names(FairnessRow),
        rows=tuple(rows),
        summary=summary,
        notes=(
            "size class: start-up where the tenant's reviewed is_startup is true, else large",
            "jain_index: (sum x)^2 / (n sum x^2) over tenants' accelerator-hours; 1 is equal",
        ),
    )
