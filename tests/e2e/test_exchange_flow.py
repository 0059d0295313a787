"""Submit through the exchange's API, a local agent runs the job, the run settles from its
holds, the reservation's capacity frees, and ``suanli ledger check`` passes."""

from __future__ import annotations

import os
import subprocess
import sys

from suanli.agent.backends.local import LocalBackend
from suanli.services.settlement import wallet_account
from suanli.services.vouchers import voucher_account_id
from tests.agent_support import make_agent, train_command
from tests.integration.exchange_support import TENANT, VOUCHER, available, give_voucher, request


def test_exchange_job_runs_settles_and_the_ledger_checks(world, api, tmp_path):
    give_voucher(api.engine)
    voucher_acc, wallet = voucher_account_id(VOUCHER), wallet_account(TENANT)
    before = available(api.engine, voucher_acc), available(api.engine, wallet)
    body = request("e2e-1", spec={"command": train_command(30, step_s=0.1)}, accelerators=8)
    tenant = api.token("tenant", TENANT)
    resp = api.http.post("/api/v1/requests", json=body, headers=tenant)
    assert resp.status_code == 201, resp.text
    placed = resp.json()
    assert placed["status"] == "placed"
    site = placed["run"]["site_id"]
    agent = make_agent(api.http, api.engine, site, LocalBackend(devices=8), tmp_path)
    done = agent.run_once(wait_s=1)
    assert done["status"] == "succeeded", done
    billed = done["billed_fen"]
    assert billed > 0 and done["voucher_fen"] + done["wallet_fen"] == billed
    # The holds are settled: only what the run used left the voucher and the wallet.
    assert available(api.engine, voucher_acc) == before[0] - done["voucher_fen"]
    assert available(api.engine, wallet) == before[1] - done["wallet_fen"]
    got = api.http.get("/api/v1/requests/e2e-1", headers=tenant).json()
    assert got["runs"][0]["status"] == "succeeded"
    quote = api.http.post("/api/v1/quotes", json=request("e2e-2"), headers=tenant).json()
    offer = placed["placement"]["offer_id"]
    row = next(r for r in quote["feasible"] if r["offer_id"] == offer)
    assert row["start"] <= placed["placement"]["quote"]["finish"]  # finished run frees capacity
    url = api.engine.url.render_as_string(hide_password=False)
    check = subprocess.run(
        [sys.executable, "-m", "suanli.cli", "ledger", "check"],
        env={**os.environ, "SUANLI_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
