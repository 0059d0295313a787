"""Typed report records: a report is a name, its rows (one dataclass per report), a summary and
the sources it was judged against. ``to_dict()`` for JSON; ``columns`` and ``table()`` for CSV
and Parquet."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Any, Protocol

Scalar = str | int | float | bool | None


class Row(Protocol):
    def to_dict(self) -> dict[str, Scalar]: ...


def scalar(value: object) -> Scalar:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


class RowBase:
    """to_dict() of a frozen dataclass row: dates as ISO text, floats rounded."""

    def to_dict(self) -> dict[str, Scalar]:
        return {k: scalar(v) for k, v in asdict(self).items()}  # type: ignore[call-overload]


def column_names(row_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(row_type))


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    summary: dict[str, Any] = field(default_factory=dict)
    sources: tuple[dict[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def table(self) -> list[dict[str, Scalar]]:
        return [row.to_dict() for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "columns": list(self.columns),
            "rows": self.table(),
            "summary": self.summary,
            "sources": list(self.sources),
            "notes": list(self.notes),
        }
