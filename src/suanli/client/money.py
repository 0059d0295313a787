"""Programs and subsidies, applications, vouchers and claims, the ledger and statements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suanli.client.http import JsonObject, Rows
from suanli.client.ops import Area, operation, seg


class Programs(Area):
    @operation("GET", "/programs")
    def list(self) -> Rows:
        return list(self._http.call("GET", "/programs"))

    @operation("GET", "/programs/{program_id}")
    def get(self, program_id: str) -> JsonObject:
        return dict(self._http.call("GET", f"/programs/{seg(program_id)}"))

    @operation("POST", "/subsidy")
    def subsidy(self, body: Mapping[str, Any]) -> JsonObject:
        return dict(self._http.call("POST", "/subsidy", body=dict(body)))

    @operation("GET", "/programs/{program_id}/budget")
    def budget(self, program_id: str) -> JsonObject:
        return dict(self._http.call("GET", f"/programs/{seg(program_id)}/budget"))


class Vouchers(Area):
    """Applications, the vouchers they award, spending and releases, purchase-subsidy claims."""

    @operation("POST", "/applications")
    def apply(self, body: Mapping[str, Any]) -> JsonObject:
        """Idempotent by the body's ``id``."""
        rid = str(body.get("id", "")) or None
        return dict(self._http.call("POST", "/applications", body=dict(body), request_id=rid))

    @operation("GET", "/applications")
    def applications(
        self, tenant_id: str | None = None, program_id: str | None = None, status: str | None = None
    ) -> Rows:
        params = {"tenant_id": tenant_id, "program_id": program_id, "status": status}
        return list(self._http.call("GET", "/applications", params=params))

    @operation("GET", "/applications/{application_id}")
    def application(self, application_id: str) -> JsonObject:
        return dict(self._http.call("GET", f"/applications/{seg(application_id)}"))

    @operation("POST", "/applications/{application_id}/review")
    def review(self, application_id: str, body: Mapping[str, Any]) -> JsonObject:
        path = f"/applications/{seg(application_id)}/review"
        return dict(self._http.call("POST", path, body=dict(body)))

    @operation("GET", "/vouchers")
    def list(self, tenant_id: str | None = None, program_id: str | None = None) -> Rows:
        params = {"tenant_id": tenant_id, "program_id": program_id}
        return list(self._http.call("GET", "/vouchers", params=params))

    @operation("GET", "/vouchers/{voucher_id}")
    def get(self, voucher_id: str) -> JsonObject:
        return dict(self._http.call("GET", f"/vouchers/{seg(voucher_id)}"))

    @operation("POST", "/vouchers/{voucher_id}/spend")
    def spend(
        self, voucher_id: str, *, provider_id: str, amount_fen: int, currency: str, transfer_id: str
    ) -> JsonObject:
        """Pay a provider; ``transfer_id`` is the idempotency key (a retry applies it once)."""
        body = {"provider_id": provider_id, "amount_fen": amount_fen, "currency": currency,
                "transfer_id": transfer_id}  # fmt: skip
        path = f"/vouchers/{seg(voucher_id)}/spend"
        return dict(self._http.call("POST", path, body=body, request_id=transfer_id))

    @operation("POST", "/vouchers/{voucher_id}/release")
    def release(self, voucher_id: str, milestone: str) -> JsonObject:
        path = f"/vouchers/{seg(voucher_id)}/release"
        return dict(self._http.call("POST", path, body={"milestone": milestone}))

    @operation("POST", "/claims")
    def file_claim(self, body: Mapping[str, Any]) -> JsonObject:
        rid = str(body.get("id", "")) or None
        return dict(self._http.call("POST", "/claims", body=dict(body), request_id=rid))

    @operation("GET", "/claims")
    def claims(self, buyer_id: str | None = None, program_id: str | None = None) -> Rows:
        params = {"buyer_id": buyer_id, "program_id": program_id}
        return list(self._http.call("GET", "/claims", params=params))

    @operation("GET", "/claims/{claim_id}")
    def claim(self, claim_id: str) -> JsonObject:
        return dict(self._http.call("GET", f"/claims/{seg(claim_id)}"))

    @operation("POST", "/claims/{claim_id}/review")
    def review_claim(self, claim_id: str, body: Mapping[str, Any]) -> JsonObject:
        path = f"/claims/{seg(claim_id)}/review"
        return dict(self._http.call("POST", path, body=dict(body)))


class Ledger(Area):
    @operation("GET", "/ledger/accounts")
    def accounts(self, owner_id: str | None = None, kind: str | None = None) -> Rows:
        params = {"owner_id": owner_id, "kind": kind}
        return list(self._http.call("GET", "/ledger/accounts", params=params))

    @operation("GET", "/ledger/accounts/{account_id}")
    def account(self, account_id: str) -> JsonObject:
        return dict(self._http.call("GET", f"/ledger/accounts/{seg(account_id)}"))

    @operation("GET", "/ledger/accounts/{account_id}/statement")
    def statement(
        self, account_id: str, since: str | None = None, until: str | None = None
    ) -> JsonObject:
        path = f"/ledger/accounts/{seg(account_id)}/statement"
        return dict(self._http.call("GET", path, params={"since": since, "until": until}))

    @operation("POST", "/ledger/transfers/batch")
    def transfer_batch(self, body: Mapping[str, Any]) -> JsonObject:
        """Officers: up to 8,190 transfers in one transaction, a result per transfer;
        idempotent per transfer id, so a retried batch replays."""
        return dict(self._http.call("POST", "/ledger/transfers/batch", body=dict(body)))


class Statements(Area):
    @operation("GET", "/statements")
    def monthly(
        self,
        month: str,
        tenant: str | None = None,
        provider: str | None = None,
        program: str | None = None,
    ) -> JsonObject:
        params = {"month": month, "tenant": tenant, "provider": provider, "program": program}
        return dict(self._http.call("GET", "/statements", params=params))

    def monthly_csv(
        self,
        month: str,
        tenant: str | None = None,
        provider: str | None = None,
        program: str | None = None,
    ) -> str:
        """The same statement as CSV (``format=csv`` of the operation above)."""
        params = {"month": month, "tenant": tenant, "provider": provider, "program": program,
                  "format": "csv"}  # fmt: skip
        return self._http.text("GET", "/statements", params=params)

    @operation("GET", "/reports/{name}")
    def report(self, name: str, **params: str | None) -> JsonObject:
        """A report (domestic-share, burn, utilisation, energy, fairness) as JSON."""
        return dict(self._http.call("GET", f"/reports/{seg(name)}", params=dict(params)))
