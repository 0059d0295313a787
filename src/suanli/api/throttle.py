"""Throttling of failed authentication, per client address.

Each address has a bucket of ``burst`` failures that refills at ``per_s`` a second. A failure
that finds its bucket empty is answered 429 with ``Retry-After`` instead of 401. While an
address's bucket is empty, ``AuthGate`` answers its requests 429 before they take a place in
line, a thread or a connection, unless they carry a credential that authenticated recently:
a client with a valid token behind the same address (a NAT, a proxy, the same host) is not
locked out by another's guessing, and a flood of bad tokens costs the server little. A token
never seen before still gets through as the bucket refills. Guessing is hopeless anyway
(192-bit secrets); the throttle is about the cost of the flood.
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

    def authenticated(self, authorization: str, now_s: float | None = None) -> None:
        """Remember a credential that authenticated, so a closed gate lets it through."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            self._good.pop(credential_key(authorization), None)
            self._good[credential_key(authorization)] = now_s + self.GOOD_FOR_S
            while len(self._good) > self.max_addresses:
                self._good.popitem(last=False)

    def gate(self, address: str, authorization: str, now_s: float | None = None) -> float:
        """0 if a request may go on to authenticate; else the seconds until it may."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            found = self._buckets.get(address)
            if found is None:
                return 0.0
            level = min(float(self.burst), found[0] + (now_s - found[1]) * self.per_s)
            if level >= 1:
                return 0.0
            if self._good.get(credential_key(authorization), 0.0) > now_s:
                return 0.0
            return (1 - level) / self.per_s

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
