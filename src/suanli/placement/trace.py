"""Job traces: the Philly per-job table and a generic CSV, read into sorted arrays."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from suanli.errors import ValidationError
from suanli.placement.model import FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class Trace:
    """Jobs sorted by submission: seconds from the first submission, run time, GPUs, tenant."""

    submit_s: FloatArray
    duration_s: FloatArray
    gpus: IntArray
    tenant: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.submit_s.shape[0])

    def head(self, n: int) -> Trace:
        return Trace(self.submit_s[:n], self.duration_s[:n], self.gpus[:n], self.tenant[:n])


def _number(row: dict[str, str], key: str, line: int) -> float:
    try:
        value = float(row[key])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"line {line}: {key}", f"not a number: {row.get(key)!r}") from exc
    if value < 0:
        raise ValidationError(f"line {line}: {key}", "must not be negative")
    return value


def read_trace(path: Path) -> Trace:
    """A Philly table (``timestamp,duration,num_gpus,...,cluster``) or a generic CSV
    (``submit_s,duration_s,gpus[,tenant]``).

    Philly rows are not in time order; both formats are sorted by submission here.
    """
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or ())
        philly = {"timestamp", "duration", "num_gpus"} <= cols
        if not philly and not {"submit_s", "duration_s", "gpus"} <= cols:
            raise ValidationError(
                "trace", "expects Philly columns or submit_s,duration_s,gpus[,tenant]"
            )
        submit, duration, gpus, tenant = [], [], [], []
        for line, row in enumerate(reader, start=2):
            if philly:
                try:
                    at = datetime.strptime(row["timestamp"], "%Y-%m-%d %H:%M:%S").timestamp()
                except ValueError as exc:
                    raise ValidationError(
                        f"line {line}: timestamp", "not YYYY-MM-DD HH:MM:SS"
                    ) from exc
                submit.append(at)
                duration.append(_number(row, "duration", line))
                count = _number(row, "num_gpus", line)
                tenant.append(row.get("cluster") or "default")
            else:
                submit.append(_number(row, "submit_s", line))
                duration.append(_number(row, "duration_s", line))
                count = _number(row, "gpus", line)
                tenant.append(row.get("tenant") or "default")
            if count < 1 or count != int(count):
                raise ValidationError(f"line {line}: gpus", "must be a whole number ≥ 1")
            gpus.append(int(count))
    if not submit:
        raise ValidationError("trace", "has no jobs")
    order = np.argsort(np.array(submit), kind="stable")
    s = np.array(submit)[order]
    return Trace(
        submit_s=s - s[0],
        duration_s=np.array(duration)[order],
        gpus=np.array(gpus, dtype=np.int64)[order],
        tenant=tuple(tenant[i] for i in order),
    )
