"""The accelerator catalog and the systems built of its chips, read once from
``data/accelerators.toml`` and ``data/systems.toml``."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

from suanli.domain.catalog import Accelerator, Catalog, parse_accelerator
from suanli.domain.systems import System, SystemCatalog, parse_system
from suanli.errors import CatalogError, NotFoundError
from suanli.paths import data_dir


def catalog_path() -> Path:
    return Path(os.environ.get("SUANLI_CATALOG") or data_dir() / "accelerators.toml")


def parse_catalog_file(path: Path) -> Catalog:
    """Parse and validate a catalog file; a bad entry raises CatalogError naming row and field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(str(path), f"not valid TOML: {exc}") from exc
    entries = raw.get("accelerator")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(str(path), "expects a non-empty [[accelerator]] array")
    return Catalog(parse_accelerator(entry, row) for row, entry in enumerate(entries, start=1))


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int) -> Catalog:
    return parse_catalog_file(Path(path))


def load_catalog(path: Path | None = None) -> Catalog:
    path = path or catalog_path()
    return _cached(str(path), path.stat().st_mtime_ns)


def get_accelerator(name: str) -> Accelerator:
    acc = load_catalog().find(name)
    if acc is None:
        raise NotFoundError("accelerator", name)
    return acc


# Systems: data/systems.toml beside the chips, checked against them.


def systems_path() -> Path:
    return Path(os.environ.get("SUANLI_SYSTEMS") or data_dir() / "systems.toml")


def parse_systems_file(path: Path, chips: Catalog) -> SystemCatalog:
    """Parse and validate a systems file against the chip catalog."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(str(path), f"not valid TOML: {exc}") from exc
    entries = raw.get("system")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(str(path), "expects a non-empty [[system]] array")
    return SystemCatalog(
        (parse_system(entry, row) for row, entry in enumerate(entries, start=1)), chips
    )


@lru_cache(maxsize=4)
def _cached_systems(
    path: str, mtime_ns: int, chips_path: str, chips_mtime_ns: int
) -> SystemCatalog:
    return parse_systems_file(Path(path), _cached(chips_path, chips_mtime_ns))


def load_systems(path: Path | None = None) -> SystemCatalog:
    path = path or systems_path()
    chips = catalog_path()
    return _cached_systems(str(path), path.stat().st_mtime_ns, str(chips), chips.stat().st_mtime_ns)


def get_system(name: str) -> System:
    system = load_systems().find(name)
    if system is None:
        raise NotFoundError("system", name)
    return system


def find_hardware(name: str) -> Accelerator | System | None:
    """A chip or a system by id or alias (the two share no name)."""
    return load_catalog().find(name) or load_systems().find(name)
