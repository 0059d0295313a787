"""Throttling of failed authentication, per client address.

Each address has a bucket of ``burst`` failures that refills at ``per_s`` a second. A failure
that finds its bucket empty is answered 429 with ``Retry-After`` instead of 401. Only failures
are counted and only failures are refused: a client with a valid token behind the same address
(a NAT, a proxy, the same host) is never locked out by another's guessing. Guessing is hopeless
anyway (192-bit secrets); the throttle keeps a flood of bad tokens cheap and visible.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from suanli.errors import SuanliError


class Throttled(SuanliError):
    """Too many failed attempts from this address: answered 429 with Retry-After."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(
            f"too many failed authentication attempts; retry after {math.ceil(retry_after_s)} s"
        )
        self.retry_after_s = retry_after_s


class AuthThrottle:
    def __init__(self, burst: int = 20, per_s: float = 2.0, max_addresses: int = 10_000) -> None:
        self.burst = burst
        self.per_s = per_s
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def failed(self, address: str, now_s: float | None = None) -> float:
        """Count one failure; 0 while the address has failures to spare, else the seconds until
        it has one again."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            level, seen = self._buckets.pop(address, (float(self.burst), now_s))
            level = min(float(self.burst), level + (now_s - seen) * self.per_s)
            wait_s = 0.0
            if level >= 1:
                level -= 1
            else:
                wait_s = (1 - level) / self.per_s
            self._buckets[address] = (level, now_s)
            while len(self._buckets) > self.max_addresses:  # forget the longest quiet first
                self._buckets.popitem(last=False)
            return wait_s
