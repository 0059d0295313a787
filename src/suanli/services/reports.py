"""Reports over posted records: domestic share against sourced targets, budget burn,
utilisation, energy and fairness. Loads the facts through ``store.repositories.reports`` and the
sourced data files, and hands them to the pure arithmetic in ``suanli.reports``.

Who reads what: officers, reviewers and auditors read every report whole. A tenant reads
``fairness`` and ``energy`` over its own runs only; a provider reads ``utilisation`` and
``energy`` over its own sites only. Anything else is refused (403)."""

from __future__ import annotations

import csv
import io
import tomllib
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from suanli.domain.roles import READ_ALL_ROLES, Principal, Role
from suanli.errors import PermissionDenied, ValidationError
from suanli.paths import data_dir
from suanli.reports import NAMES
from suanli.reports.burn import burn_report
from suanli.reports.domestic import domestic_share_report
from suanli.reports.energy import Power, energy_report
from suanli.reports.facts import GridFactor, RunFact, Target
from suanli.reports.records import Report
from suanli.reports.sourced import parse_grid_factors, parse_targets
from suanli.reports.usage import fairness_report, utilisation_report
from suanli.services.catalog import load_catalog, load_systems
from suanli.store.repositories import reports as repo
from suanli.store.uow import UnitOfWork

TENANT_READS = frozenset({"fairness", "energy"})
PROVIDER_READS = frozenset({"utilisation", "energy"})


@lru_cache(maxsize=4)
def _targets(folder: str, stamp: tuple[tuple[str, int], ...]) -> tuple[Target, ...]:
    out: list[Target] = []
    for name, _ in stamp:
        with open(Path(folder) / name, "rb") as fh:
            out.extend(parse_targets(tomllib.load(fh), name))
    return tuple(out)


def load_targets(folder: Path | None = None) -> tuple[Target, ...]:
    folder = folder or data_dir() / "targets"
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    return _targets(str(folder), tuple((p.name, p.stat().st_mtime_ns) for p in files))


@lru_cache(maxsize=4)
def _grid(path: str, mtime_ns: int) -> dict[str, GridFactor]:
    with open(path, "rb") as fh:
        return parse_grid_factors(tomllib.load(fh), Path(path).name)


def load_grid_factors(path: Path | None = None) -> dict[str, GridFactor]:
    path = path or data_dir() / "energy" / "grid-factors.toml"
    return _grid(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _provinces(path: str, mtime_ns: int) -> dict[str, str]:
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    return {
        str(p["city"]).casefold(): str(p.get("province", ""))
        for p in raw.get("place", [])
        if isinstance(p, dict) and "city" in p
    }


def provinces() -> dict[str, str]:
    """Casefolded city -> province, from the places the compliance rules use."""
    path = data_dir() / "compliance" / "places.toml"
    return _provinces(str(path), path.stat().st_mtime_ns)


def _scope(uow: UnitOfWork, who: Principal, name: str) -> tuple[str | None, list[str] | None]:
    """(tenant id, site ids) the caller's report is narrowed to; (None, None) for the whole."""
    if name not in NAMES:
        raise ValidationError("name", f"unknown report {name!r}; one of {', '.join(NAMES)}")
    if who.role in READ_ALL_ROLES:
        return None, None
    if who.role is Role.TENANT and name in TENANT_READS and who.org_id:
        return who.org_id, None
    if who.role is Role.PROVIDER and name in PROVIDER_READS and who.org_id:
        return None, repo.site_ids_of(uow.conn, who.org_id)
    raise PermissionDenied(f"{who.role} may not read the {name} report")


def report_months(runs: list[RunFact], today: date) -> list[str]:
    return sorted({r.month for r in runs} | {today.strftime("%Y-%m")})


def run_power(runs: list[RunFact]) -> dict[str, Power]:
    """Watts per chip of each run: its system's wall power where the offer names a system,
    else the chip's TDP; runs whose chip has neither are left out (their kWh is unknown)."""
    catalog, systems = load_catalog(), load_systems()
    out = {}
    for run in runs:
        system = systems.find(run.system_id) if run.system_id else None
        per_chip = None if system is None else system.wall_w_per_chip()
        if per_chip is not None:
            out[run.run_id] = Power(per_chip, f"system wall power ({run.system_id})")
            continue
        chip = catalog.find(run.accelerator_id)
        tdp = None if chip is None else chip.tdp_w
        if tdp is not None:
            out[run.run_id] = Power(tdp, "chip TDP")
    return out


def _energy(runs: list[RunFact]) -> Report:
    catalog = load_catalog()
    peaks = {}
    for acc in {r.accelerator_id for r in runs}:
        chip = catalog.find(acc)
        peaks[acc] = None if chip is None else chip.peak_tflops("bf16")
    return energy_report(runs, run_power(runs), provinces(), load_grid_factors(), peaks)


def report(uow: UnitOfWork, who: Principal, name: str, *, today: date | None = None) -> Report:
    """The report ``name`` as ``who`` may read it."""
    tenant_id, site_ids = _scope(uow, who, name)
    today = today or datetime.now(UTC).date()
    runs = repo.settled_runs(uow.conn, tenant_id=tenant_id, site_ids=site_ids)
    if name == "fairness":
        return fairness_report(runs, own_only=tenant_id is not None)
    if name == "energy":
        return _energy(runs)
    months = report_months(runs, today)
    if name == "utilisation":
        offers = repo.offer_facts(uow.conn, site_ids=site_ids)
        reservations = repo.reservation_facts(uow.conn, site_ids=site_ids)
        return utilisation_report(runs, offers, reservations, months)
    if name == "burn":
        return burn_report(
            repo.award_facts(uow.conn), repo.budget_postings(uow.conn), runs,
            repo.budget_facts(uow.conn), today,
        )  # fmt: skip
    domestic = {chip.id: chip.origin == "domestic" for chip in load_catalog()}
    offers = repo.offer_facts(uow.conn)
    return domestic_share_report(runs, offers, domestic, months, load_targets())


def to_csv(result: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=result.columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.table())
    return out.getvalue()


def to_parquet(result: Report) -> bytes:
    """The rows as a Parquet file (pyarrow); a ValidationError where pyarrow is missing."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # an install without the optional wheel
        raise ValidationError("format", "parquet needs pyarrow installed") from exc
    rows = result.table()
    table = pa.table({c: [row[c] for row in rows] for c in result.columns})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()
