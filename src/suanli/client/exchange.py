"""The exchange: quotes, requests and reservations, the batch placement, jobs and runs, the site
agents' protocol, and estimates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suanli.client.http import Json, JsonObject, Rows
from suanli.client.ops import Area, operation, seg


class Exchange(Area):
    @operation("POST", "/quotes")
    def quote(self, request: Mapping[str, Any]) -> JsonObject:
        """Every live offer for a job (the request as ``POST /requests`` takes it)."""
        return dict(self._http.call("POST", "/quotes", body=dict(request)))

    @operation("POST", "/requests")
    def submit(self, request: Mapping[str, Any]) -> JsonObject:
        """Submit a request; its ``id`` makes a retry harmless (the same answer comes back)."""
        rid = str(request.get("id", "")) or None
        return dict(self._http.call("POST", "/requests", body=dict(request), request_id=rid))

    @operation("GET", "/requests")
    def requests(self, tenant_id: str | None = None, status: str | None = None) -> Rows:
        params = {"tenant_id": tenant_id, "status": status}
        return list(self._http.call("GET", "/requests", params=params))

    @operation("GET", "/requests/{request_id}")
    def request(self, request_id: str) -> JsonObject:
        return dict(self._http.call("GET", f"/requests/{seg(request_id)}"))

    @operation("POST", "/requests/{request_id}/cancel")
    def cancel(self, request_id: str) -> JsonObject:
        return dict(self._http.call("POST", f"/requests/{seg(request_id)}/cancel"))

    @operation("GET", "/reservations")
    def reservations(self, offer_id: str | None = None, active: bool = False) -> Rows:
        params = {"offer_id": offer_id, "active": active}
        return list(self._http.call("GET", "/reservations", params=params))

    @operation("POST", "/placement/batch")
    def place_batch(self, body: Mapping[str, Any] | None = None) -> JsonObject:
        return dict(self._http.call("POST", "/placement/batch", body=dict(body or {})))


class Runs(Area):
    @operation("POST", "/jobs")
    def submit_job(self, body: Mapping[str, Any]) -> JsonObject:
        """Run a job on a named offer; idempotent by the body's ``request_id``."""
        rid = str(body.get("request_id", "")) or None
        return dict(self._http.call("POST", "/jobs", body=dict(body), request_id=rid))

    @operation("GET", "/runs/{run_id}")
    def get(self, run_id: str) -> JsonObject:
        return dict(self._http.call("GET", f"/runs/{seg(run_id)}"))

    @operation("POST", "/runs/{run_id}/cancel")
    def cancel(self, run_id: str) -> JsonObject:
        return dict(self._http.call("POST", f"/runs/{seg(run_id)}/cancel"))


class Agent(Area):
    """A site agent's side of the protocol (an agent token)."""

    @operation("POST", "/agent/lease")
    def lease(self, body: Mapping[str, Any]) -> JsonObject | None:
        found: Json = self._http.call("POST", "/agent/lease", body=dict(body))
        return None if found is None else dict(found)

    @operation("POST", "/agent/runs/{run_id}/heartbeat")
    def heartbeat(self, run_id: str, body: Mapping[str, Any]) -> JsonObject:
        path = f"/agent/runs/{seg(run_id)}/heartbeat"
        return dict(self._http.call("POST", path, body=dict(body)))

    @operation("POST", "/agent/runs/{run_id}/status")
    def status(self, run_id: str, body: Mapping[str, Any]) -> JsonObject:
        return dict(self._http.call("POST", f"/agent/runs/{seg(run_id)}/status", body=dict(body)))

    @operation("POST", "/agent/runs/{run_id}/usage")
    def usage(self, run_id: str, body: Mapping[str, Any]) -> JsonObject:
        """Idempotent by the run and the body's ``seq``."""
        return dict(self._http.call("POST", f"/agent/runs/{seg(run_id)}/usage", body=dict(body)))

    @operation("POST", "/agent/runs/{run_id}/complete")
    def complete(self, run_id: str, body: Mapping[str, Any]) -> JsonObject:
        path = f"/agent/runs/{seg(run_id)}/complete"
        return dict(self._http.call("POST", path, body=dict(body)))


class Estimates(Area):
    @operation("POST", "/estimates")
    def estimate(self, body: Mapping[str, Any]) -> JsonObject:
        return dict(self._http.call("POST", "/estimates", body=dict(body)))

    @operation("POST", "/estimates/offers")
    def offers(self, body: Mapping[str, Any]) -> JsonObject:
        return dict(self._http.call("POST", "/estimates/offers", body=dict(body)))
