"""Systems: rack-scale machines and multi-chip nodes built of one catalog chip.

A system names its chip and how many, its scale-up domain (the chips joined at full bandwidth),
its scale-up and scale-out bandwidth per chip and its power at the wall, each figure with its
confidence and note. Bandwidths are GB/s per chip and direction (bytes, as the catalog's
``bandwidth_tbps``). Unknown stays absent, with a reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from suanli.domain.catalog import (
    CONFIDENCES,
    Accelerator,
    Catalog,
    Figure,
    parse_figure,
    require,
)
from suanli.errors import CatalogError

SYSTEM_KINDS = ("node", "rack", "supernode")
SYSTEM_FIGURES = (
    "bf16_pflops",
    "fp8_pflops",
    "memory_tb",
    "power_kw",
    "scale_up_gbps_per_chip",
    "scale_out_gbps_per_chip",
    "unit_price_usd",
)
# The figures the estimator and the energy comparison read: given, or explained.
EXPLAINED_FIGURES = ("power_kw", "scale_up_gbps_per_chip", "scale_out_gbps_per_chip")
# How far a published total may sit from chips x the chip's figure, by the looser of the two
# confidences: a solid pair agrees to rounding; an estimate may be off by a quarter.
TOLERANCE = {"solid": 0.05, "derived": 0.10, "medium": 0.10, "uncertain": 0.25, "rumoured": 0.50}


@dataclass(frozen=True, slots=True)
class InterconnectFigures:
    """The three figures the estimator's interconnect model takes, from one system."""

    scale_up_domain_chips: int
    scale_up_gbps_per_chip: float | None
    scale_out_gbps_per_chip: float | None


@dataclass(frozen=True, slots=True)
class System:
    id: str
    vendor: str
    name: str
    kind: str
    year: int | None
    chip_id: str
    chips: int
    scale_up_domain_chips: int
    scale_up_domain_note: str
    power_covers: str
    figures: Mapping[str, Figure]
    confidence: str
    sources: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    notes: str = ""
    missing_reason: Mapping[str, str] = field(default_factory=dict)

    def figure(self, name: str) -> float | None:
        fig = self.figures.get(name)
        return None if fig is None else fig.value

    @property
    def power_kw(self) -> float | None:
        return self.figure("power_kw")

    def interconnect(self) -> InterconnectFigures:
        """Scale-up domain and per-chip bandwidths, for ``estimate.interconnect.Interconnect``."""
        return InterconnectFigures(
            self.scale_up_domain_chips,
            self.figure("scale_up_gbps_per_chip"),
            self.figure("scale_out_gbps_per_chip"),
        )

    def wall_w_per_chip(self) -> float | None:
        """The system's wall power shared over its chips (switches, optics and CPUs included)."""
        power = self.power_kw
        return None if power is None else power * 1000 / self.chips

    def names(self) -> Iterable[str]:
        yield self.id
        yield self.name
        yield from self.aliases


def _positive_int(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CatalogError(f"{where}: {key}", f"must be a whole number >= 1, got {value!r}")
    return value


def _parse_reasons(raw: Any, figures: Mapping[str, Figure], where: str) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: missing_reason", "must be a table {figure = reason}")
    reasons: dict[str, str] = {}
    for key, text in raw.items():
        if key not in SYSTEM_FIGURES:
            raise CatalogError(f"{where}: missing_reason.{key}", "unknown figure")
        if key in figures:
            raise CatalogError(f"{where}: missing_reason.{key}", "the figure is given")
        if not isinstance(text, str) or not text.strip():
            raise CatalogError(f"{where}: missing_reason.{key}", "must be a non-empty reason")
        reasons[key] = text.strip()
    for key in EXPLAINED_FIGURES:
        if key not in figures and key not in reasons:
            raise CatalogError(
                f"{where}: missing_reason.{key}", "a blank figure needs a reason (none given)"
            )
    return reasons


def parse_system(raw: Mapping[str, Any], row: int) -> System:
    """Build one system from a mapping; ``row`` (1-based) is used in error messages."""
    where = f"system row {row}"
    sys_id = str(require(raw, "id", where))
    where = f"system row {row} ({sys_id})"
    kind = require(raw, "kind", where)
    if kind not in SYSTEM_KINDS:
        raise CatalogError(f"{where}: kind", f"must be one of {SYSTEM_KINDS}, got {kind!r}")
    chips = _positive_int(raw, "chips", where)
    domain = _positive_int(raw, "scale_up_domain_chips", where)
    if domain > chips:
        raise CatalogError(f"{where}: scale_up_domain_chips", f"exceeds the {chips} chips")
    figures_raw = raw.get("figures", {})
    if not isinstance(figures_raw, Mapping):
        raise CatalogError(f"{where}: figures", "must be a table")
    unknown = sorted(set(figures_raw) - set(SYSTEM_FIGURES))
    if unknown:
        raise CatalogError(f"{where}: figures", f"unknown figure(s) {unknown}")
    figures = {k: parse_figure(v, f"{where}: figures.{k}") for k, v in figures_raw.items()}
    sources = raw.get("sources")
    if not isinstance(sources, list) or not sources:
        raise CatalogError(f"{where}: sources", "at least one source is required")
    confidence = require(raw, "confidence", where)
    if confidence not in CONFIDENCES:
        raise CatalogError(f"{where}: confidence", f"must be one of {CONFIDENCES}")
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise CatalogError(f"{where}: aliases", "must be a list of non-empty strings")
    year = raw.get("year")
    return System(
        id=sys_id,
        vendor=str(require(raw, "vendor", where)),
        name=str(require(raw, "name", where)),
        kind=str(kind),
        year=int(year) if year is not None else None,
        chip_id=str(require(raw, "chip", where)),
        chips=chips,
        scale_up_domain_chips=domain,
        scale_up_domain_note=str(raw.get("scale_up_domain_note", "")),
        power_covers=str(require(raw, "power_covers", where)),
        figures=figures,
        confidence=str(confidence),
        sources=tuple(str(s) for s in sources),
        aliases=tuple(aliases),
        notes=str(raw.get("notes", "")),
        missing_reason=_parse_reasons(raw.get("missing_reason", {}), figures, where),
    )


class SystemCatalog:
    """All systems, looked up by id, name or alias case-insensitively; each names a chip of
    ``chips`` (checked here), and no system's name is also a chip's."""

    def __init__(self, systems: Iterable[System], chips: Catalog) -> None:
        self._by_id: dict[str, System] = {}
        self._by_name: dict[str, System] = {}
        for system in systems:
            if system.id in self._by_id:
                raise CatalogError(f"{system.id}: id", "duplicate id")
            chip = chips.find(system.chip_id)
            if chip is None or chip.id != system.chip_id:
                raise CatalogError(
                    f"{system.id}: chip", f"{system.chip_id!r} is not a chip id in the catalog"
                )
            self._by_id[system.id] = system
            for name in system.names():
                key = name.casefold()
                other = self._by_name.get(key)
                if other is not None and other.id != system.id:
                    raise CatalogError(
                        f"{system.id}: aliases", f"{name!r} already names {other.id}"
                    )
                clash = chips.find(name)
                if clash is not None:
                    raise CatalogError(f"{system.id}: aliases", f"{name!r} names chip {clash.id}")
                self._by_name[key] = system

    def __iter__(self) -> Iterator[System]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def all(self) -> list[System]:
        return list(self._by_id.values())

    def find(self, name: str) -> System | None:
        return self._by_name.get(name.strip().casefold())


@dataclass(frozen=True, slots=True)
class TotalCheck:
    """A published system total against chips x the chip's own figure."""

    figure: str
    published: float
    from_chips: float
    confidence: str  # the looser of the system figure's and the chip figure's
    tolerance: float

    @property
    def ratio(self) -> float:
        return self.published / self.from_chips

    @property
    def within(self) -> bool:
        return abs(self.ratio - 1) <= self.tolerance


def _looser(*levels: str) -> str:
    return max(levels, key=lambda level: TOLERANCE.get(level, TOLERANCE["uncertain"]))


# system figure -> (chip figure, chip unit per system unit)
_TOTALS = {
    "bf16_pflops": ("bf16_tflops", 1000.0),
    "fp8_pflops": ("fp8_tflops", 1000.0),
    "memory_tb": ("memory_gb", 1000.0),
}


def check_totals(system: System, chip: Accelerator) -> list[TotalCheck]:
    """Every published total the chip's catalog figures can reproduce, with its tolerance."""
    checks = []
    for name, (chip_figure, per_unit) in _TOTALS.items():
        published, per_chip = system.figures.get(name), chip.figures.get(chip_figure)
        if published is None or per_chip is None:
            continue
        level = _looser(published.confidence, per_chip.confidence)
        from_chips = system.chips * per_chip.value / per_unit
        checks.append(TotalCheck(name, published.value, from_chips, level, TOLERANCE[level]))
    return checks


def power_overhead(system: System, chip: Accelerator) -> float | None:
    """Wall power over the chips' summed TDP: what switches, optics, CPUs and cooling add
    (None when either figure is missing). Below 1 would mean a wall figure under the chips."""
    if system.power_kw is None or chip.tdp_w is None:
        return None
    return system.power_kw * 1000 / (system.chips * chip.tdp_w)
