"""Energy: chips × TDP × load factor × hours × site PUE.

Load factors are assumptions: training keeps chips near their power limit, serving less so
(decode waits on memory). Both are stated in every estimate's notes via ``LOAD_FACTOR``.
"""

from __future__ import annotations

LOAD_FACTOR = {"training": 0.8, "inference": 0.6}


def energy_kwh(count: int, tdp_w: float, wall_hours: float, pue: float, *, training: bool) -> float:
    load = LOAD_FACTOR["training" if training else "inference"]
    return count * tdp_w * load * wall_hours * pue / 1000
