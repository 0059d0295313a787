"""The demo world: fictional providers, sites, offers and tenants in real cities
(``data/demo/world.toml``), created through the registry service."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from suanli.domain.registry import TUPLE_FACTS, Offer, Provider, Site, Tenant
from suanli.domain.roles import SYSTEM
from suanli.paths import data_dir
from suanli.services import registry
from suanli.store.db import as_utc
from suanli.store.uow import UnitOfWork


def load_world(engine: Any, path: Path | None = None) -> dict[str, int]:
    """Create the demo world's records (idempotently) through the registry service."""
    world = tomllib.loads((path or data_dir() / "demo" / "world.toml").read_text())
    counts: dict[str, int] = {}
    kinds: tuple[tuple[str, type[Any]], ...] = (
        ("provider", Provider), ("site", Site), ("offer", Offer), ("tenant", Tenant),
    )  # fmt: skip
    for key, kind in kinds:
        for raw in world.get(key, []):
            values = {k: as_utc(v) for k, v in raw.items()}
            for name in TUPLE_FACTS:
                if name in values:
                    values[name] = tuple(values[name])
            with UnitOfWork(engine) as uow:
                registry.create(uow, SYSTEM, kind(**values))
            counts[key] = counts.get(key, 0) + 1
    return counts
