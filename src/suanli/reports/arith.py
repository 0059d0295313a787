"""The arithmetic of the reports: shares, a linear trend and its projection, Jain's fairness
index, the day a budget runs out at its current rate, and a run's energy. Plain numbers in,
plain numbers out: no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta


def share(part: float, whole: float) -> float | None:
    """``part / whole`` in [0, 1]; None where there is no whole to take a share of."""
    if whole <= 0:
        return None
    return min(max(part / whole, 0.0), 1.0)


def month_index(month: str) -> int:
    """Months since year 0 for a "YYYY-MM" month, so months subtract as numbers."""
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def linear_trend(points: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares slope and intercept of (x, y) points; None with fewer than two distinct x
    (one month says where a share is, not where it is going)."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x


def project_share(points: Sequence[tuple[float, float]], at_x: float) -> float | None:
    """The share the trend reaches at ``at_x``, clamped to [0, 1]; with a single point the
    share stays where it is (no trend to extend)."""
    if not points:
        return None
    fit = linear_trend(points)
    if fit is None:
        value = points[-1][1]
    else:
        slope, intercept = fit
        value = intercept + slope * at_x
    return min(max(value, 0.0), 1.0)


def jain_index(values: Sequence[float]) -> float | None:
    """Jain's fairness index (sum x)^2 / (n * sum x^2): 1 when every party gets the same,
    1/n when one gets everything; None for no parties or nothing allocated."""
    squares = sum(v * v for v in values)
    if not values or squares <= 0:
        return None
    total = sum(values)
    return min(max(total * total / (len(values) * squares), 1.0 / len(values)), 1.0)


def runs_out_on(remaining_fen: int, fen_per_day: float, today: date) -> date | None:
    """The day the remaining budget is used up at ``fen_per_day``; None when nothing is being
    used (it never runs out at that rate). Already exhausted: today."""
    if remaining_fen <= 0:
        return today
    if fen_per_day <= 0:
        return None
    days = math.ceil(remaining_fen / fen_per_day)
    if days > 365 * 100:  # a century out is "not at this rate"
        return None
    return today + timedelta(days=days)


def energy_kwh(power_w_per_chip: float, accelerator_seconds: float, pue: float) -> float:
    """Facility energy of metered chip-time: each chip's power for the accelerator-seconds it
    was busy (chips x wall time x utilisation, as metered), times the site's PUE."""
    return power_w_per_chip * accelerator_seconds / 3600.0 * pue / 1000.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th quantile (0..1) by linear interpolation between order statistics."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
