"""A typed Python client for the Suanli API, over HTTP only (httpx).

    from suanli.client import Client
    with Client("http://127.0.0.1:8000", token) as api:
        quote = api.exchange.quote({...})
        for entry in api.audit.entries():
            ...

One method per API operation, grouped by area (``Client``'s attributes). Writes are retried with
the same request id and body on 429, 503 and connection errors (``http.Http``); failures raise
the exceptions of ``suanli.errors``; a business rejection comes back as the answer, its
``rejection`` read with ``rejection_of``. It imports nothing of the server: no api, services or
store.
"""

from __future__ import annotations

from types import TracebackType

import httpx

from suanli.client.admin import Audit, AuditFilter, AuditPage, Tokens
from suanli.client.exchange import Agent, Estimates, Exchange, Runs
from suanli.client.http import Http, JsonObject, Rows, rejection_of
from suanli.client.market import Catalog, Compliance, Filings, Records, Tenants
from suanli.client.money import Ledger, Programs, Statements, Vouchers
from suanli.client.ops import operation

__all__ = ["AuditFilter", "AuditPage", "Client", "JsonObject", "Rows", "rejection_of"]


class Client:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        retries: int = 5,
        timeout_s: float = 30.0,
        client: httpx.Client | None = None,
        seed: int | None = None,
    ) -> None:
        self.http = Http(
            base_url, token, retries=retries, timeout_s=timeout_s, client=client, seed=seed
        )
        h = self.http
        self.catalog, self.compliance, self.filings = Catalog(h), Compliance(h), Filings(h)
        self.providers, self.sites = Records(h, "providers"), Records(h, "sites")
        self.offers, self.tenants = Records(h, "offers"), Tenants(h, "tenants")
        self.exchange, self.runs, self.agent = Exchange(h), Runs(h), Agent(h)
        self.estimates, self.programs, self.vouchers = Estimates(h), Programs(h), Vouchers(h)
        self.ledger, self.statements = Ledger(h), Statements(h)
        self.tokens, self.audit = Tokens(h), Audit(h)

    @operation("GET", "/healthz")
    def health(self) -> bool:
        """Whether the server answers its liveness check (outside /api/v1)."""
        try:
            return self.http.client.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
