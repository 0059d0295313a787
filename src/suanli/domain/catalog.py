"""Accelerator models: sourced specs, origin and export-control status.

Every figure carries its own confidence and note. An unknown figure is ``None``, never a guess.
Peaks are *dense* (no 2:4 sparsity), in TFLOPS (TOPS for int8).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from suanli.errors import CatalogError

Origin = Literal["domestic", "foreign"]
Precision = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "int8"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8")
CONFIDENCES = ("solid", "medium", "uncertain", "derived", "rumoured")
EXPORT_STATUSES = ("not-controlled", "license-required", "case-by-case", "domestic", "unknown")
# Figures that a catalog entry may carry, each with its unit in the name.
FIGURE_FIELDS = (
    "fp32_tflops",
    "tf32_tflops",
    "bf16_tflops",
    "fp16_tflops",
    "fp8_tflops",
    "int8_tops",
    "memory_gb",
    "bandwidth_tbps",
    "tdp_w",
)
COMPUTE_FIELDS = tuple(f for f in FIGURE_FIELDS if f.endswith(("_tflops", "_tops")))
# A figure left blank must say why: ``missing_reason.compute`` when an entry has no compute
# figure at all, ``missing_reason.tdp_w`` when it has no TDP.
REQUIRED_OR_EXPLAINED = ("compute", "tdp_w")


@dataclass(frozen=True, slots=True)
class Figure:
    value: float
    confidence: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ExportControl:
    status: str
    as_of: date | None
    note: str


@dataclass(frozen=True, slots=True)
class Accelerator:
    id: str
    vendor: str
    model: str
    origin: Origin
    china_specific: bool
    year: int | None
    precisions: frozenset[Precision]
    figures: Mapping[str, Figure]
    export_control: ExportControl
    confidence: str
    sources: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    notes: str = ""
    missing_reason: Mapping[str, str] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def figure(self, name: str) -> float | None:
        fig = self.figures.get(name)
        return None if fig is None else fig.value

    def peak_tflops(self, precision: Precision) -> float | None:
        """Dense peak for a precision. fp16 shares the bf16 figure (same tensor-core rate)
        unless the entry gives its own fp16 figure (a source quoting FP16 apart from BF16)."""
        if precision == "fp16" and "fp16_tflops" in self.figures:
            return self.figure("fp16_tflops")
        key = {"fp16": "bf16_tflops", "int8": "int8_tops"}.get(precision, f"{precision}_tflops")
        return self.figure(key)

    @property
    def memory_gb(self) -> float | None:
        return self.figure("memory_gb")

    @property
    def bandwidth_tbps(self) -> float | None:
        return self.figure("bandwidth_tbps")

    @property
    def tdp_w(self) -> float | None:
        return self.figure("tdp_w")

    @property
    def is_export_controlled(self) -> bool:
        return self.export_control.status in ("license-required", "case-by-case")

    def names(self) -> Iterable[str]:
        yield self.id
        yield self.model
        yield from self.aliases


def require(raw: Mapping[str, Any], key: str, where: str) -> Any:
    value = raw.get(key)
    if value in (None, ""):
        raise CatalogError(f"{where}: {key}", "is required")
    return value


def parse_figure(raw: Any, where: str) -> Figure:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raise CatalogError(where, "a figure needs a table {value, confidence[, note]}")
    if not isinstance(raw, Mapping):
        raise CatalogError(where, "must be a table {value, confidence[, note]}")
    value = raw.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise CatalogError(f"{where}.value", f"must be a positive number, got {value!r}")
    confidence = raw.get("confidence")
    if confidence not in CONFIDENCES:
        raise CatalogError(
            f"{where}.confidence", f"must be one of {CONFIDENCES}, got {confidence!r}"
        )
    return Figure(float(value), str(confidence), str(raw.get("note", "")))


def parse_accelerator(raw: Mapping[str, Any], row: int) -> Accelerator:
    """Build one accelerator from a mapping; ``row`` (1-based) is used in error messages."""
    where = f"row {row}"
    acc_id = str(require(raw, "id", where))
    where = f"row {row} ({acc_id})"
    origin = require(raw, "origin", where)
    if origin not in ("domestic", "foreign"):
        raise CatalogError(f"{where}: origin", f"must be 'domestic' or 'foreign', got {origin!r}")
    precisions = raw.get("precisions", [])
    bad = [p for p in precisions if p not in PRECISIONS]
    if bad or not isinstance(precisions, list):
        raise CatalogError(
            f"{where}: precisions", f"unknown precision(s) {bad}; known {PRECISIONS}"
        )
    figures_raw = raw.get("figures", {})
    unknown = sorted(set(figures_raw) - set(FIGURE_FIELDS))
    if unknown:
        raise CatalogError(f"{where}: figures", f"unknown figure(s) {unknown}")
    figures = {k: parse_figure(v, f"{where}: figures.{k}") for k, v in figures_raw.items()}
    export_raw = require(raw, "export_control", where)
    if not isinstance(export_raw, Mapping):
        raise CatalogError(f"{where}: export_control", "must be a table {status, as_of, note}")
    status = export_raw.get("status")
    if status not in EXPORT_STATUSES:
        raise CatalogError(f"{where}: export_control.status", f"must be one of {EXPORT_STATUSES}")
    as_of = export_raw.get("as_of")
    if as_of is not None and not isinstance(as_of, date):
        try:
            as_of = date.fromisoformat(str(as_of))
        except ValueError as exc:
            raise CatalogError(
                f"{where}: export_control.as_of", "must be a date YYYY-MM-DD"
            ) from exc
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
    missing = _parse_missing(raw.get("missing_reason", {}), figures, where)
    return Accelerator(
        id=acc_id,
        vendor=str(require(raw, "vendor", where)),
        model=str(require(raw, "model", where)),
        origin=origin,
        china_specific=bool(raw.get("china_specific", False)),
        year=int(year) if year is not None else None,
        precisions=frozenset(precisions),
        figures=figures,
        export_control=ExportControl(str(status), as_of, str(export_raw.get("note", ""))),
        confidence=str(confidence),
        sources=tuple(str(s) for s in sources),
        aliases=tuple(aliases),
        notes=str(raw.get("notes", "")),
        missing_reason=missing,
    )


def _parse_missing(raw: Any, figures: Mapping[str, Figure], where: str) -> dict[str, str]:
    """Why a blank figure is blank: required for no compute figure and for no TDP, refused
    for a figure the entry has (a figure is either given or explained, never both)."""
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: missing_reason", "must be a table {figure = reason}")
    allowed = ("compute", *FIGURE_FIELDS)
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise CatalogError(f"{where}: missing_reason", f"unknown figure(s) {unknown}")
    reasons: dict[str, str] = {}
    for key, text in raw.items():
        if not isinstance(text, str) or not text.strip():
            raise CatalogError(f"{where}: missing_reason.{key}", "must be a non-empty reason")
        reasons[key] = text.strip()
    has_compute = any(name in figures for name in COMPUTE_FIELDS)
    present = {"compute": has_compute, **{name: name in figures for name in FIGURE_FIELDS}}
    for key in reasons:
        if present[key]:
            raise CatalogError(f"{where}: missing_reason.{key}", "the figure is given")
    for key in REQUIRED_OR_EXPLAINED:
        if not present[key] and key not in reasons:
            raise CatalogError(
                f"{where}: missing_reason.{key}", "a blank figure needs a reason (none given)"
            )
    return reasons


class Catalog:
    """All accelerator models, looked up by id or any alias, case-insensitively."""

    def __init__(self, accelerators: Iterable[Accelerator]) -> None:
        self._by_id: dict[str, Accelerator] = {}
        self._by_name: dict[str, Accelerator] = {}
        for acc in accelerators:
            if acc.id in self._by_id:
                raise CatalogError(f"{acc.id}: id", "duplicate id")
            self._by_id[acc.id] = acc
            for name in acc.names():
                key = name.casefold()
                other = self._by_name.get(key)
                if other is not None and other.id != acc.id:
                    raise CatalogError(f"{acc.id}: aliases", f"{name!r} already names {other.id}")
                self._by_name[key] = acc

    def __iter__(self) -> Iterator[Accelerator]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def all(self) -> list[Accelerator]:
        return list(self._by_id.values())

    def find(self, name: str) -> Accelerator | None:
        return self._by_name.get(name.strip().casefold())

    def get(self, name: str) -> Accelerator:
        acc = self.find(name)
        if acc is None:
            raise KeyError(name)
        return acc
