"""Shared fixtures. ``engine`` runs each integration test on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, text

from suanli.store.db import make_engine
from suanli.store.migrate import upgrade
from suanli.store.tables import metadata
from tests.pg_server import PostgresServer, find_pg_bin

DATABASES = ["sqlite", "postgresql"]

# Property tests judge behaviour, not speed: on a loaded 2-core machine one example (or the
# drawing of its data) can take longer than Hypothesis's defaults allow, which failed a run with
# a "too slow" health check though every example passed.
settings.register_profile("suanli", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suanli")


def pytest_report_header(config: pytest.Config) -> str:
    pg = os.environ.get("SUANLI_TEST_PG_URL") or (find_pg_bin() and "throwaway server")
    return f"integration databases: sqlite, postgresql ({pg or 'NOT AVAILABLE'})"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many integration tests ran on each database."""
    counts = {db: {"passed": 0, "failed": 0, "skipped": 0} for db in DATABASES}
    for outcome in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            for db in DATABASES:
                if f"[{db}" in getattr(report, "nodeid", ""):
                    counts[db][outcome] += 1
    parts = [
        f"{db}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"
        for db, c in counts.items()
    ]
    terminalreporter.write_line("database tests -- " + "; ".join(parts))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | None]:
    if os.environ.get("SUANLI_TEST_PG_URL") or os.environ.get("SUANLI_SKIP_PG"):
        yield None
        return
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_template_url(pg_server: PostgresServer | None) -> str | None:
    if os.environ.get("SUANLI_SKIP_PG"):
        return None
    if pg_server is None:
        url = os.environ["SUANLI_TEST_PG_URL"]
    else:
        url = pg_server.create_database(f"suanli_test_{uuid.uuid4().hex[:8]}")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        # The audit log refuses TRUNCATE (a trigger); the owner lifts that for this reset only.
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))


@pytest.fixture(params=DATABASES)
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, _sqlite_template: Path
) -> Iterator[Engine]:
    """A migrated, empty database: a copied SQLite file, or the shared PostgreSQL one emptied."""
    if request.param == "sqlite":
        path = tmp_path / "suanli.db"
        shutil.copy(_sqlite_template, path)
        eng = make_engine(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("_pg_template_url")
        if url is None:
            if os.environ.get("SUANLI_REQUIRE_REAL_SERVICES"):
                pytest.fail("SUANLI_SKIP_PG is set, but the test command requires PostgreSQL")
            pytest.skip("PostgreSQL disabled by SUANLI_SKIP_PG")
        eng = make_engine(url, pool_size=40, max_overflow=20)
        _truncate_all(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path, _sqlite_template: Path) -> Iterator[Engine]:
    path = tmp_path / "suanli.db"
    shutil.copy(_sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


class ApiClient:
    """A TestClient over the real app and database, with tokens for any role."""

    def __init__(self, engine: Engine) -> None:
        from fastapi.testclient import TestClient

        from suanli.api.app import create_app

        self.engine = engine
        self.http = TestClient(create_app(engine))

    def token(self, role: str, org: str | None = None) -> dict[str, str]:
        from suanli.services.tokens import create_token
        from suanli.store.uow import UnitOfWork

        with UnitOfWork(self.engine) as uow:
            token = create_token(uow, role, org)
            uow.commit()
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(engine: Engine) -> ApiClient:
    return ApiClient(engine)


@pytest.fixture
def world(engine: Engine) -> Engine:
    """The demo world loaded into the test database."""
    from suanli.services.world import load_world

    load_world(engine)
    return engine


def _unavailable(why: str) -> NoReturn:
    """A real service the tests need is missing: skipped, or failed where the test command
    promises every real service (SUANLI_REQUIRE_REAL_SERVICES): never skipped silently."""
    if os.environ.get("SUANLI_REQUIRE_REAL_SERVICES"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[object]:
    """A real single-node Slurm (munged, slurmctld, slurmd) for the session."""
    from tests.slurm_cluster import SlurmCluster, missing_binaries

    missing = missing_binaries()
    if missing:
        names = ", ".join(missing)
        _unavailable(f"Slurm not installed (missing {names}); apt-get install slurm-wlm munge")
    cluster = SlurmCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[object]:
    """A real single-node Ray (head node with its dashboard, the job API) for the session."""
    from tests.ray_cluster import RayCluster, missing

    why = missing()
    if why:
        _unavailable(why)
    cluster = RayCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()
