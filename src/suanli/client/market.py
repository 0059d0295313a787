"""The market's records: the catalog, providers, sites, offers and tenants, compliance flags
and filed services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suanli.client.http import Http, Json, JsonObject, Rows
from suanli.client.ops import Area, operation, seg


class Catalog(Area):
    @operation("GET", "/accelerators")
    def accelerators(self, origin: str | None = None) -> Rows:
        return list(self._http.call("GET", "/accelerators", params={"origin": origin}))

    @operation("GET", "/accelerators/{name}")
    def accelerator(self, name: str) -> JsonObject:
        return dict(self._http.call("GET", f"/accelerators/{seg(name)}"))

    @operation("GET", "/systems")
    def systems(self, origin: str | None = None) -> Rows:
        return list(self._http.call("GET", "/systems", params={"origin": origin}))

    @operation("GET", "/systems/{name}")
    def system(self, name: str) -> JsonObject:
        return dict(self._http.call("GET", f"/systems/{seg(name)}"))


class Records(Area):
    """Providers, sites, offers or tenants: create (idempotent by the body's ``id``), list,
    read, update, retire."""

    def __init__(self, http: Http, kind: str) -> None:
        super().__init__(http)
        self.kind = kind

    @operation("POST", "/{records}")
    def create(self, body: Mapping[str, Any]) -> JsonObject:
        return dict(self._http.call("POST", f"/{self.kind}", body=dict(body)))

    @operation("GET", "/{records}")
    def list(self, include_retired: bool = False) -> Rows:
        params = {"include_retired": include_retired}
        return [dict(r) for r in self._http.call("GET", f"/{self.kind}", params=params)]

    @operation("GET", "/{records}/{record_id}")
    def get(self, record_id: str) -> JsonObject:
        return dict(self._http.call("GET", f"/{self.kind}/{seg(record_id)}"))

    @operation("PATCH", "/{records}/{record_id}")
    def update(self, record_id: str, changes: Mapping[str, Any]) -> JsonObject:
        path = f"/{self.kind}/{seg(record_id)}"
        return dict(self._http.call("PATCH", path, body=dict(changes)))

    @operation("POST", "/{records}/{record_id}/retire")
    def retire(self, record_id: str) -> JsonObject:
        return dict(self._http.call("POST", f"/{self.kind}/{seg(record_id)}/retire"))


class Tenants(Records):
    """Tenants, with the changes to their reviewed facts that wait for a reviewer."""

    @operation("GET", "/tenants/{record_id}/proposal")
    def proposal(self, record_id: str) -> JsonObject | None:
        found: Json = self._http.call("GET", f"/tenants/{seg(record_id)}/proposal")
        return None if found is None else dict(found)

    @operation("POST", "/tenants/{record_id}/proposal/confirm")
    def confirm_proposal(self, record_id: str) -> JsonObject:
        return dict(self._http.call("POST", f"/tenants/{seg(record_id)}/proposal/confirm"))

    @operation("POST", "/tenants/{record_id}/proposal/reject")
    def reject_proposal(self, record_id: str) -> JsonObject:
        return dict(self._http.call("POST", f"/tenants/{seg(record_id)}/proposal/reject"))


class Compliance(Area):
    @operation("GET", "/compliance/rules")
    def rules(self) -> Rows:
        return list(self._http.call("GET", "/compliance/rules"))

    @operation("GET", "/compliance/offers")
    def flags(self) -> Rows:
        return list(self._http.call("GET", "/compliance/offers"))

    @operation("POST", "/compliance/offers/{offer_id}/clear")
    def clear(self, offer_id: str, rule_id: str, reason: str) -> JsonObject:
        body = {"rule_id": rule_id, "reason": reason}
        return dict(self._http.call("POST", f"/compliance/offers/{seg(offer_id)}/clear", body=body))

    @operation("POST", "/compliance/offers/{offer_id}/confirm")
    def confirm(self, offer_id: str, rule_id: str, reason: str) -> JsonObject:
        body = {"rule_id": rule_id, "reason": reason}
        path = f"/compliance/offers/{seg(offer_id)}/confirm"
        return dict(self._http.call("POST", path, body=body))


class Filings(Area):
    @operation("GET", "/filings")
    def list(self) -> Rows:
        return list(self._http.call("GET", "/filings"))

    @operation("GET", "/filings/{filing_number}")
    def get(self, filing_number: str) -> JsonObject:
        return dict(self._http.call("GET", f"/filings/{seg(filing_number)}"))

    @operation("POST", "/filings")
    def add(self, body: Mapping[str, Any]) -> JsonObject:
        return dict(self._http.call("POST", "/filings", body=dict(body)))
