"""Parsing the sourced data the reports judge against: domestic-share targets
(``data/targets/*.toml``) and grid emission factors (``data/energy/grid-factors.toml``). Errors
name the file, the entry and the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from suanli.errors import CatalogError
from suanli.reports.facts import GridFactor, Source, Target

METRICS = ("offered_capacity", "accelerator_hours", "spend")


def _field(raw: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = raw.get(key)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is str and not value):
        raise CatalogError(f"{where}: {key}", f"must be a {kind.__name__}")
    return value


def parse_target(raw: Mapping[str, Any], where: str) -> Target:
    share = _field(raw, "share", float, where)
    if not 0.0 <= share <= 1.0:
        raise CatalogError(f"{where}: share", "must be between 0 and 1")
    metric = _field(raw, "metric", str, where)
    if metric not in METRICS:
        raise CatalogError(f"{where}: metric", f"must be one of {', '.join(METRICS)}")
    source = Source(
        _field(raw, "source_url", str, where),
        _field(raw, "source_title", str, where),
        _field(raw, "source_date", date, where),
    )
    return Target(
        id=_field(raw, "id", str, where),
        jurisdiction=_field(raw, "jurisdiction", str, where),
        share=share,
        by_date=_field(raw, "by_date", date, where),
        metric=metric,
        scope=_field(raw, "scope", str, where),
        source=source,
    )


def parse_targets(raw: Mapping[str, Any], name: str) -> list[Target]:
    items = raw.get("target", [])
    if not isinstance(items, list):
        raise CatalogError(f"{name}: target", "must be an array of tables")
    return [parse_target(item, f"{name}: target[{i}]") for i, item in enumerate(items)]


def parse_grid_factors(raw: Mapping[str, Any], name: str) -> dict[str, GridFactor]:
    src = raw.get("source")
    if not isinstance(src, Mapping):
        raise CatalogError(f"{name}: source", "must be a table {url, title, published}")
    source = Source(
        _field(src, "url", str, f"{name}: source"),
        _field(src, "title", str, f"{name}: source"),
        _field(src, "published", date, f"{name}: source"),
    )
    factors = {}
    for i, item in enumerate(raw.get("factor", [])):
        where = f"{name}: factor[{i}]"
        value = _field(item, "kg_co2_per_kwh", float, where)
        if not 0.0 <= value <= 2.0:
            raise CatalogError(f"{where}: kg_co2_per_kwh", "must be between 0 and 2")
        province = _field(item, "province", str, where)
        factors[province] = GridFactor(province, value, _field(item, "basis", str, where), source)
    return factors
