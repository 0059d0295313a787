"""Monthly statements over HTTP: the tenant's own, CSV, refusals naming the problem."""

from __future__ import annotations

from datetime import UTC, datetime

from suanli.domain.jobs import JobSpec
from suanli.services import runs
from suanli.store.uow import UnitOfWork
from tests.agent_support import TENANT, fund


def _settled_run(engine) -> dict:
    spec = JobSpec(command=("true",), accelerators=2, time_limit_s=600)
    with UnitOfWork(engine) as uow:
        done = runs.enqueue_run(
            uow,
            request_id="st-1",
            tenant_id=TENANT,
            offer_id="bj-zgc-1-910b",
            spec=spec,
            voucher=fund(engine),
        )
        uow.commit()
    assert done.run is not None, done.reason
    with UnitOfWork(engine) as uow:
        leased = runs.lease_next(uow, "bj-zgc-1", "agent-1", 30)
        assert leased is not None
        lease = leased.to_dict()
        runs.report_usage(
            uow, lease["id"], lease["lease_id"], 1, accelerator_seconds=360, wall_seconds=180
        )
        finished = runs.complete(uow, lease["id"], lease["lease_id"], "success").to_dict()
        uow.commit()
    return finished


def test_tenant_reads_own_statement_as_json_and_csv(world, api) -> None:
    run = _settled_run(api.engine)
    month = datetime.now(UTC).strftime("%Y-%m")
    auth = api.token("tenant", TENANT)
    resp = api.http.get(
        "/api/v1/statements", params={"month": month, "tenant": TENANT}, headers=auth
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [line["run_id"] for line in body["lines"]] == [run["id"]]
    assert body["totals"]["billed_fen"] == run["billed_fen"] == 90
    csv_resp = api.http.get(
        "/api/v1/statements",
        params={"month": month, "tenant": TENANT, "format": "csv"},
        headers=auth,
    )
    assert csv_resp.headers["content-type"].startswith("text/csv")
    assert csv_resp.text.splitlines()[0].startswith("run_id,")
    assert run["id"] in csv_resp.text


def test_statement_refusals(world, api) -> None:
    month = datetime.now(UTC).strftime("%Y-%m")
    other = api.token("tenant", "qiantang-llm")
    resp = api.http.get(
        "/api/v1/statements", params={"month": month, "tenant": TENANT}, headers=other
    )
    assert resp.status_code == 403
    auditor = api.token("auditor")
    bad = api.http.get(
        "/api/v1/statements", params={"month": "2026-13", "tenant": TENANT}, headers=auditor
    )
    assert bad.status_code == 422 and "month" in bad.text
    both = api.http.get(
        "/api/v1/statements",
        params={"month": month, "tenant": TENANT, "provider": "x"},
        headers=auditor,
    )
    assert both.status_code == 422


def test_an_agent_reads_no_organisation_records(world, api) -> None:
    """A site id may equal a tenant's id; the site's agent still reads only its runs."""
    from suanli.domain.registry import Site
    from suanli.domain.roles import SYSTEM
    from suanli.services import registry

    with UnitOfWork(api.engine) as uow:
        registry.create(uow, SYSTEM, Site(TENANT, "bj-zhongguancun-dc", "twin", "Beijing", "local"))
    agent = api.token("agent", TENANT)  # bound to the site named like the tenant
    month = datetime.now(UTC).strftime("%Y-%m")
    resp = api.http.get(
        "/api/v1/statements", params={"month": month, "tenant": TENANT}, headers=agent
    )
    assert resp.status_code == 403
    assert api.http.get("/api/v1/ledger/accounts", headers=agent).status_code == 403


def test_an_unknown_party_is_not_found(world, api) -> None:
    """A misspelt id is a 404 naming it, never an empty statement."""
    month = datetime.now(UTC).strftime("%Y-%m")
    auditor = api.token("auditor")
    for party in ("tenant", "provider", "program"):
        resp = api.http.get(
            "/api/v1/statements", params={"month": month, party: "ghost"}, headers=auditor
        )
        assert resp.status_code == 404, resp.text
        assert resp.json()["detail"] == f"{party} not found: ghost"
