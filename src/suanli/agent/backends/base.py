"""The one small interface every site backend implements, and what a poll returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from suanli.domain.jobs import ExitClass, JobSpec


class Phase(StrEnum):
    PENDING = "pending"  # accepted by the scheduler, not started
    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Capabilities:
    gres: bool  # maps accelerator counts to scheduler resources
    accounting: bool  # elapsed time and allocation come from the scheduler's own records
    cancel: bool
    time_limit: bool


@dataclass(frozen=True, slots=True)
class Poll:
    """The state of one submitted job. ``wall_s`` counts from its start, so far or in all."""

    phase: Phase
    wall_s: float = 0.0
    accelerators: int = 0
    cpus: int = 0
    exit_code: int | None = None
    exit_class: ExitClass | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Submission:
    run_id: str
    spec: JobSpec
    vendor: str  # catalog vendor of the offer's accelerator, for device visibility
    output_path: str


class Backend(Protocol):
    name: str
    capabilities: Capabilities

    def submit(self, job: Submission) -> str:
        """Start the job; return the scheduler's handle for it. Raises BackendError."""
        ...

    def poll(self, handle: str) -> Poll: ...

    def cancel(self, handle: str) -> None: ...


def tail(path: str, size: int = 4096) -> str:
    """The end of a job's output file, where exit markers are."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(fh.tell() - size, 0))
            return fh.read().decode(errors="replace")
    except OSError:
        return ""
