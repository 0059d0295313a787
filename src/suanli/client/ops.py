"""Each client method names the API operation it calls, so a test can hold the client against
the OpenAPI document: every operation has a method, every method an operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote

from suanli.client.http import Http

F = TypeVar("F", bound=Callable[..., object])

# (method, path template) -> the method's qualified name. ``{records}`` stands for each kind of
# registry record (``RECORD_KINDS``): one class serves all four.
OPERATIONS: dict[tuple[str, str], str] = {}
RECORD_KINDS = ("providers", "sites", "offers", "tenants")


def operation(method: str, path: str) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        OPERATIONS[(method.upper(), path)] = fn.__qualname__
        return fn

    return mark


def covered() -> set[tuple[str, str]]:
    """Every (method, path template) the client has a method for, record kinds expanded."""
    out: set[tuple[str, str]] = set()
    for method, path in OPERATIONS:
        kinds = RECORD_KINDS if "{records}" in path else ("",)
        out |= {(method, path.replace("{records}", kind)) for kind in kinds}
    return out


def seg(value: str) -> str:
    """A path segment, escaped (ids may hold ``/`` or ``:``; an account id does)."""
    return quote(value, safe="")


class Area:
    """A group of operations over one connection."""

    def __init__(self, http: Http) -> None:
        self._http = http
