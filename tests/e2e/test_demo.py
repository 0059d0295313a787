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
    env = {**os.environ, "SUANLI_VAR_DIR": str(tmp_path), "COLUMNS": "200"}
    tour = subprocess.run(
        [*SUANLI, "demo", "--no-serve"], env=env, capture_output=True, text=True, timeout=600
    )
    assert tour.returncode == 0, tour.stderr
    assert "accelerator models loaded" in tour.stdout
    token = next(
        line.split()[-1] for line in tour.stdout.splitlines() if line.startswith("auditor token")
    )

    port = _free_port()
    env["SUANLI_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
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
        burn = httpx.get(f"{base}/api/v1/reports/burn", params={"format": "csv"}, headers=auth)
        assert burn.status_code == 200 and burn.text.startswith("program_id,month,")
    finally:
        server.terminate()
        server.wait(timeout=10)


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
