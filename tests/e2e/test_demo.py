"""The README's demo, run for real: the tour against a fresh database, then the served API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from suanli.store.db import make_engine
from tests.reconcile_support import mismatches

SUANLI = [sys.executable, "-m", "suanli.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_tour_then_serve(tmp_path: Path) -> None:
    # The tour plays on SUANLI_DATABASE_URL when it is set, not on var/demo.db.
    var = tmp_path / "var"
    env = {
        **os.environ,
        "SUANLI_VAR_DIR": str(var),
        "COLUMNS": "200",
        "SUANLI_DATABASE_URL": f"sqlite:///{tmp_path / 'mine.db'}",
    }
    tour = subprocess.run(
        [*SUANLI, "demo", "--no-serve"], env=env, capture_output=True, text=True, timeout=600
    )
    assert tour.returncode == 0, tour.stderr
    assert "accelerator models loaded" in tour.stdout
    assert (tmp_path / "mine.db").is_file() and not (var / "demo.db").exists()
    tokens = _printed_tokens(tour.stdout)
    token = tokens["auditor"][2]
    # The curl lines leave $TOKEN for the shell to expand: double quotes, not single.
    assert 'curl -H "Authorization: Bearer $TOKEN"' in tour.stdout
    assert "'Authorization" not in tour.stdout

    port = _free_port()
    # Everything the tour did is in the audit log, whole, every transfer and decision included.
    verified = subprocess.run(
        [*SUANLI, "audit", "verify", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["ok"] and report["entries"] > 100 and report["unlogged_count"] == 0
    exported = subprocess.run(
        [*SUANLI, "audit", "export"], env=env, capture_output=True, text=True, timeout=120
    )
    actions = {json.loads(line)["action"] for line in exported.stdout.splitlines()}
    assert {"application.review", "claim.review", "run.complete", "ledger.post"} <= actions
    assert "write" not in actions  # every change the tour made says what it was
    # Each program's statement lists exactly what its vouchers paid, and nothing else.
    engine = make_engine(env["SUANLI_DATABASE_URL"])
    try:
        assert mismatches(engine, datetime.now(UTC).strftime("%Y-%m")) == []
    finally:
        engine.dispose()
    _reports_on_the_demo(env)
    server = subprocess.Popen(
        [*SUANLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
        accs = httpx.get(f"{base}/api/v1/accelerators", headers=auth).json()
        offers = httpx.get(f"{base}/api/v1/offers", headers=auth).json()
        assert len(accs) >= 25 and len(offers) >= 30
        assert httpx.get(f"{base}/docs").status_code == 200
        _the_printed_tenant_can_spend(base, tokens["tenant"])
        burn = httpx.get(f"{base}/api/v1/reports/burn", params={"format": "csv"}, headers=auth)
        assert burn.status_code == 200 and burn.text.startswith("program_id,month,")
    finally:
        server.terminate()
        server.wait(timeout=10)


def _printed_tokens(stdout: str) -> dict[str, tuple[str, str, str]]:
    """Each role's line in the tour's last section: organisation, dashboard page, token."""
    found = {}
    for line in stdout.splitlines():
        words = line.split()
        if len(words) >= 4 and words[1] == "token" and words[-1].startswith("sl_"):
            org = " ".join(words[2:-2])
            found[words[0]] = (org, words[-2], words[-1])
    assert set(found) == {"officer", "tenant", "provider", "auditor"}, stdout[-2000:]
    for role, (org, page, _) in found.items():
        assert page.endswith(f"/{role}"), (role, page)
        assert (org == "all organisations") == (role in ("officer", "auditor")), (role, org)
    return found


def _the_printed_tenant_can_spend(base: str, printed: tuple[str, str, str]) -> None:
    """The tenant whose token the tour prints holds a voucher it can spend today."""
    org, page, token = printed
    auth = {"Authorization": f"Bearer {token}"}
    vouchers = httpx.get(f"{base}/api/v1/vouchers", headers=auth).json()
    today = datetime.now(UTC).date().isoformat()
    usable = [
        v for v in vouchers
        if v["tenant_id"] == org and v["balance"]["available_fen"] > 0
        and (v["valid_until"] is None or v["valid_until"] >= today)
    ]  # fmt: skip
    assert usable, vouchers
    # The page is there, on the port served (the tour printed its own default port).
    assert httpx.get(f"{base}/{page.rsplit('/', 1)[1]}").status_code in (200, 303)


def test_a_busy_port_fails_before_the_tour(tmp_path: Path) -> None:
    env = {**os.environ, "SUANLI_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    env.pop("SUANLI_DATABASE_URL", None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*SUANLI, "demo", "--port", str(port)], env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    assert done.returncode == 1
    assert f"port {port}" in done.stderr and f"--port {port + 1}" in done.stderr
    assert "PORT=" in done.stderr
    assert "accelerator models loaded" not in done.stdout  # failed before the tour
    assert not (tmp_path / "var" / "demo.db").exists()


def _reports_on_the_demo(env: dict[str, str]) -> None:
    """Every report has rows on the demo, and the runs' totals agree across them."""
    got = {}
    for name in ("domestic-share", "burn", "utilisation", "energy", "fairness"):
        done = subprocess.run(
            [*SUANLI, "report", name, "--json"], env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        got[name] = json.loads(done.stdout)
        assert got[name]["rows"], name
        table = subprocess.run(
            [*SUANLI, "report", name], env=env, capture_output=True, text=True, timeout=120
        )
        assert table.returncode == 0 and f"report {name}" in table.stdout, table.stderr
    hours = {
        name: round(sum(r[key] for r in got[name]["rows"]), 4)
        for name, key in (
            ("domestic-share", "accelerator_hours"),
            ("utilisation", "used_accelerator_hours"),
            ("energy", "accelerator_hours"),
            ("fairness", "accelerator_hours"),
        )
    }
    assert len(set(hours.values())) == 1 and hours["energy"] > 0, hours
