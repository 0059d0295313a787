"""A workload the estimator will not put on a chip, with the reason (a result, not an error)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Infeasible:
    accelerator_id: str
    code: str  # precision_unsupported | too_large | count_too_small | missing_figures | rate
    reason: str
    feasible: Literal[False] = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
