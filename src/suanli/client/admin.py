"""Tokens and the audit log (paged: ``entries`` walks every page)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from suanli.client.http import JsonObject, Rows
from suanli.client.ops import Area, operation, seg


class Tokens(Area):
    @operation("GET", "/tokens")
    def list(self, include_ended: bool = False) -> Rows:
        return list(self._http.call("GET", "/tokens", params={"include_ended": include_ended}))

    @operation("POST", "/tokens")
    def create(self, body: Mapping[str, Any]) -> JsonObject:
        return dict(self._http.call("POST", "/tokens", body=dict(body)))

    @operation("POST", "/tokens/{token_id}/revoke")
    def revoke(self, token_id: str) -> JsonObject:
        return dict(self._http.call("POST", f"/tokens/{seg(token_id)}/revoke"))


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of entries; ``next_after_seq`` is where the next page starts (None: the last)."""

    entries: tuple[JsonObject, ...]
    next_after_seq: int | None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    object_kind: str | None = None
    object_id: str | None = None
    since: str | None = None
    until: str | None = None

    def params(self) -> dict[str, str | None]:
        return {"actor": self.actor, "object_kind": self.object_kind,
                "object_id": self.object_id, "since": self.since, "until": self.until}  # fmt: skip


class Audit(Area):
    @operation("GET", "/audit")
    def page(
        self, where: AuditFilter | None = None, after_seq: int = 0, limit: int = 100
    ) -> AuditPage:
        params = {**(where or AuditFilter()).params(), "after_seq": after_seq, "limit": limit}
        found = self._http.call("GET", "/audit", params=params)
        nxt = found.get("next_after_seq")
        return AuditPage(tuple(found["entries"]), None if nxt is None else int(nxt))

    def entries(
        self, where: AuditFilter | None = None, page_size: int = 100
    ) -> Iterator[JsonObject]:
        """Every matching entry, oldest first, a page at a time."""
        after: int | None = 0
        while after is not None:
            page = self.page(where, after_seq=after, limit=page_size)
            yield from page.entries
            after = page.next_after_seq

    @operation("GET", "/audit/export")
    def export(self, where: AuditFilter | None = None) -> str:
        """Every matching entry as JSON Lines."""
        return self._http.text("GET", "/audit/export", params=(where or AuditFilter()).params())

    @operation("GET", "/audit/head")
    def head(self) -> JsonObject:
        return dict(self._http.call("GET", "/audit/head"))

    @operation("GET", "/audit/verify")
    def verify(self) -> JsonObject:
        return dict(self._http.call("GET", "/audit/verify"))
