"""Throttling of failed authentication, per client address.

Each address has a bucket of ``burst`` failures that refills at ``per_s`` a second. A failure
that finds its bucket empty is answered 429 with ``Retry-After`` instead of 401. While an
address's bucket is empty, ``AuthGate`` answers its requests 429 before they take a place in
line, a thread or a connection, unless they carry a credential that authenticated recently:
a client with a valid token behind the same address (a NAT, a proxy, the same host) is not
locked out by another's guessing, and a flood of bad tokens costs the server little. A token
never seen before still gets through as the bucket refills. Guessing is hopeless anyway
(192-bit secrets); the throttle is about the cost of the flood.

The state is per process: under ``suanli serve --workers N`` each worker keeps its own buckets,
so an address may fail up to N x ``burst`` times before every worker answers 429. That keeps
the flood cheap, which is the point; a count shared across workers would cost a database or
cache round trip on every failure.
"""

from __future__ import annotations

import hashlib
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

    def retry_after_header(self) -> int:
        """Whole seconds for ``Retry-After``: at least one."""
        return max(1, math.ceil(self.retry_after_s))


def credential_key(authorization: str) -> str:
    return hashlib.sha256(authorization.encode("utf-8", "replace")).hexdigest()


class AuthThrottle:
    GOOD_FOR_S = 300.0  # how long a credential that authenticated passes a closed gate

    def __init__(self, burst: int = 20, per_s: float = 2.0, max_addresses: int = 10_000) -> None:
        self.burst = burst
        self.per_s = per_s
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._good: OrderedDict[str, float] = OrderedDict()  # credential key -> until
        self._lock = threading.Lock()

    def _level(self, address: str, now_s: float) -> float:
        """Failures the address has to spare now (the caller holds the lock)."""
        level, seen = self._buckets.get(address, (float(self.burst), now_s))
        return min(float(self.burst), level + (now_s - seen) * self.per_s)

    def authenticated(self, authorization: str, now_s: float | None = None) -> None:
        """Remember a credential that authenticated, so a closed gate lets it through."""
        now_s = time.monotonic() if now_s is None else now_s
        key = credential_key(authorization)
        with self._lock:
            self._good[key] = now_s + self.GOOD_FOR_S
            self._good.move_to_end(key)
            while len(self._good) > self.max_addresses:
                self._good.popitem(last=False)

    def gate(self, address: str, authorization: str, now_s: float | None = None) -> float:
        """0 if a request may go on to authenticate; else the seconds until it may."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            level = self._level(address, now_s)
        if level >= 1:
            return 0.0
        key = credential_key(authorization)
        with self._lock:
            if self._good.get(key, 0.0) > now_s:
                return 0.0
        return (1 - level) / self.per_s

    def failed(self, address: str, now_s: float | None = None) -> float:
        """Count one failure; 0 while the address has failures to spare, else the seconds until
        it has one again."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            level = self._level(address, now_s)
            self._buckets.pop(address, None)
            wait_s = 0.0
            if level >= 1:
                level -= 1
            else:
                wait_s = (1 - level) / self.per_s
            self._buckets[address] = (level, now_s)
            while len(self._buckets) > self.max_addresses:  # forget the longest quiet first
                self._buckets.popitem(last=False)
            return wait_s
