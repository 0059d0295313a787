"""Months and the hours of a time window that fall in one."""

from __future__ import annotations

from datetime import UTC, datetime


def month_bounds(month: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return start, end


def aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def overlap_hours(start: datetime, end: datetime, month: str) -> float:
    low, high = month_bounds(month)
    seconds = (min(aware(end), high) - max(aware(start), low)).total_seconds()
    return max(seconds, 0.0) / 3600.0
