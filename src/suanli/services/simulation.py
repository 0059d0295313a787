"""Load a fleet against the catalog and the estimator, and run the trace-driven simulator."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from suanli.errors import ValidationError
from suanli.paths import data_dir
from suanli.placement.fleet import Fleet, parse_fleet
from suanli.placement.simulate import POLICIES, Progress, SimResult, simulate
from suanli.placement.trace import read_trace
from suanli.services.catalog import load_catalog
from suanli.services.estimates import relative_speed


def default_fleet_path() -> Path:
    return data_dir() / "fleets" / "sample.toml"


def _canonical(name: str) -> tuple[str, bool]:
    acc = load_catalog().find(name)
    if acc is None:
        raise ValidationError("accelerator", f"unknown accelerator model {name!r}")
    return acc.id, acc.origin == "domestic"


def load_fleet(path: Path | None = None, *, reference: str | None = None) -> Fleet:
    path = path or default_fleet_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError("fleet", f"cannot read {path}: {exc}") from exc
    return parse_fleet(
        raw,
        canonical=_canonical,
        speed=lambda ref, acc: relative_speed(ref, acc),
        reference=reference,
    )


def run(
    trace_path: Path,
    policy: str,
    *,
    fleet_path: Path | None = None,
    reference: str | None = None,
    limit: int | None = None,
    window_s: float = 600.0,
    progress: Progress | None = None,
) -> SimResult:
    if policy not in POLICIES:
        raise ValidationError("policy", f"must be one of {', '.join(POLICIES)}")
    # A window of 0, below 0 or NaN would never advance the batch policy's clock.
    if not (math.isfinite(window_s) and window_s > 0):
        raise ValidationError("window_s", f"must be a positive number of seconds, got {window_s}")
    if limit is not None and limit < 1:
        raise ValidationError("limit", f"must be at least 1 job, got {limit}")
    if not trace_path.is_file():
        raise ValidationError("trace", f"no such file: {trace_path}")
    trace = read_trace(trace_path)
    if limit is not None:
        trace = trace.head(limit)
    fleet = load_fleet(fleet_path, reference=reference)
    return simulate(trace, fleet, policy, window_s=window_s, progress=progress)
