"""Energy: per settled run, the facility kWh of its metered chip-time (each chip's power x
accelerator-hours x the site's PUE), its CO2 at the province's grid factor, and per site,
provider and chip the totals with work per kWh (peak dense BF16 PFLOP the metered chip-time
could deliver: runs do not report their achieved FLOPs, so this is the ceiling)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from suanli.reports.arith import energy_kwh, share
from suanli.reports.facts import GridFactor, RunFact
from suanli.reports.records import Report, RowBase, column_names


@dataclass(frozen=True, slots=True)
class Power:
    """Watts drawn per chip, and from what: a system's wall power over its chips (switches,
    optics and CPUs included) or the chip's own TDP."""

    w_per_chip: float
    basis: str


@dataclass(frozen=True, slots=True)
class EnergyRow(RowBase):
    run_id: str
    tenant_id: str
    provider_id: str
    site_id: str
    province: str
    accelerator_id: str
    system_id: str | None
    accelerator_hours: float
    utilisation: float | None  # metered chip-time over chips x wall time
    power_w_per_chip: float | None
    power_basis: str
    pue: float
    kwh: float | None
    kg_co2_per_kwh: float | None
    kg_co2: float | None
    peak_bf16_pflop: float | None


@dataclass(frozen=True, slots=True)
class EnergyTotal(RowBase):
    by: str  # "site" | "provider" | "chip"
    key: str
    runs: int
    accelerator_hours: float
    kwh: float | None  # None: no run of the group has a known power
    kg_co2: float | None
    peak_bf16_pflop_per_kwh: float | None


def energy_row(
    run: RunFact,
    power: Power | None,
    province: str,
    grid: GridFactor | None,
    peak_tflops: float | None,
) -> EnergyRow:
    hours = run.accelerator_seconds / 3600.0
    kwh = None if power is None else energy_kwh(power.w_per_chip, run.accelerator_seconds, run.pue)
    factor = None if grid is None else grid.kg_co2_per_kwh
    co2 = None if kwh is None or factor is None else kwh * factor
    pflop = None if peak_tflops is None else peak_tflops * run.accelerator_seconds / 1000.0
    return EnergyRow(
        run.run_id, run.tenant_id, run.provider_id, run.site_id, province, run.accelerator_id,
        run.system_id, hours, share(run.accelerator_seconds, run.accelerators * run.wall_seconds),
        None if power is None else power.w_per_chip,
        "unknown: no TDP or wall power in the catalog" if power is None else power.basis,
        run.pue, kwh, factor, co2, pflop,
    )  # fmt: skip


def totals(
    rows: Sequence[EnergyRow], by: str, key: Callable[[EnergyRow], str]
) -> list[EnergyTotal]:
    groups: dict[str, list[EnergyRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    out = []
    for name, its in sorted(groups.items()):
        known = [r for r in its if r.kwh is not None]
        kwh = sum(r.kwh or 0.0 for r in known) if known else None
        co2 = [r.kg_co2 for r in its if r.kg_co2 is not None]
        work = [r for r in its if r.peak_bf16_pflop is not None and r.kwh]
        work_kwh = sum(r.kwh or 0.0 for r in work)
        per_kwh = None if work_kwh <= 0 else sum(r.peak_bf16_pflop or 0.0 for r in work) / work_kwh
        out.append(
            EnergyTotal(
                by,
                name,
                len(its),
                sum(r.accelerator_hours for r in its),
                kwh,
                sum(co2) if co2 else None,
                per_kwh,
            )  # fmt: skip
        )
    return out


def energy_report(
    runs: Sequence[RunFact],
    power: Mapping[str, Power],  # by run id
    province_of: Mapping[str, str],  # casefolded city -> province
    grid: Mapping[str, GridFactor],  # province -> factor
    peak_tflops: Mapping[str, float | None],  # accelerator id -> dense BF16 peak
) -> Report:
    rows = []
    for run in runs:
        province = province_of.get(run.city.casefold(), "")
        rows.append(
            energy_row(
                run,
                power.get(run.run_id),
                province,
                grid.get(province),
                peak_tflops.get(run.accelerator_id),
            )  # fmt: skip
        )
    summary = {
        "by_site": [t.to_dict() for t in totals(rows, "site", lambda r: r.site_id)],
        "by_provider": [t.to_dict() for t in totals(rows, "provider", lambda r: r.provider_id)],
        "by_chip": [t.to_dict() for t in totals(rows, "chip", lambda r: r.accelerator_id)],
    }
    used = {r.province for r in rows if r.province in grid}
    return Report(
        name="energy",
        columns=column_names(EnergyRow),
        rows=tuple(rows),
        summary=summary,
        sources=tuple(
            grid[p].source.to_dict() | {"province": p, "basis": grid[p].basis} for p in sorted(used)
        ),
        notes=(
            "kWh: power per chip x metered accelerator-hours x the site's PUE / 1000",
            "power: the system's wall power over its chips where the offer names a system, "
            "else the chip's TDP",
            "peak_bf16_pflop: the ceiling of work at the chip's dense BF16 peak",
        ),
    )
