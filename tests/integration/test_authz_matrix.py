"""The authorization matrix: every operation of the OpenAPI, every role, own and other objects.

The expectations are data, in ``tests/authz_matrix.toml`` (its header says what each key means).
Each operation the app's ``/openapi.json`` lists is one test, and so is each table of the file:
an operation without a table fails (a new endpoint needs its rule), and so does a table whose
operation is gone (or, marked ``planned``, not there yet).

A test makes its operation's calls: without a token (401), as every role not admitted (403), as
every admitted role (officer, reviewer and auditor once; tenant, provider and agent on their own
organisation's object and, where the table scopes the role, on another's), and the table's
attacks. Each call gets its own copy of one SQLite world, built once per module: the demo world,
the table's seed (vouchers, applications, claims, requests, leased runs) and a token per role and
side. After every refused call and every attack the ledger must be exactly as it was.

The attacks and the calls on another organisation's objects also run on PostgreSQL, in one
seeded world (the ``engine`` fixture), each with the ledger unchanged after it.
"""

from __future__ import annotations

import shutil
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from suanli.store.db import make_engine

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from tests.authz_support import (
    MATRIX,
    MATRIX_FILE,
    OPENAPI_OPS,
    OPS,
    ORG_KEY,
    ROLES,
    SIDES,
    World,
    _client,
    build_world,
    cases_for,
    check,
    entry_problems,
)

# --- SQLite: the whole matrix, one world per call ---------------------------------------------


@dataclass
class Template:
    """The seeded world as a SQLite file; every call runs on a fresh copy of it."""

    path: Path
    world: World
    client: TestClient
    work: Path
    copies: int = 0

    def fresh(self) -> Engine:
        self.copies += 1
        path = self.work / f"call-{self.copies}.db"
        shutil.copyfile(self.path, path)
        engine = make_engine(f"sqlite:///{path}")
        self.client.app.state.engine = engine  # type: ignore[attr-defined]
        return engine

    def drop(self, engine: Engine) -> None:
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{engine.url.database}{suffix}").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path
) -> Iterator[Template]:
    work = tmp_path_factory.mktemp("authz-matrix")
    path = work / "world.db"
    shutil.copyfile(_sqlite_template, path)  # migrated and empty (tests/conftest.py)
    engine = make_engine(f"sqlite:///{path}")
    world = build_world(engine, OPENAPI_OPS)
    engine.dispose()
    with closing(sqlite3.connect(path)) as conn:  # everything into the file that is copied
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    client = _client(engine)  # one app; each call points it at its own copy
    yield Template(path, world, client, work)


def _ids(op: str) -> str:
    return f"sqlite:{op}"


@pytest.mark.parametrize("op", sorted(OPENAPI_OPS | set(OPS)), ids=_ids)
def test_authz_matrix(op: str, template: Template) -> None:
    entry = OPS.get(op)
    if entry is None:
        pytest.fail(f"{op} is in the OpenAPI but has no entry in {MATRIX_FILE.name}: add one "
                    "saying which roles may call it and on whose objects")  # fmt: skip
    if op not in OPENAPI_OPS:
        if entry.get("planned"):
            pytest.fail(f"{op} is planned ({entry['planned']}) but not in the OpenAPI yet")
        pytest.fail(f"{op} has an entry in {MATRIX_FILE.name} but is not in the OpenAPI: "
                    "remove or rename the entry")  # fmt: skip
    problems = entry_problems(op, entry)
    assert not problems, "\n".join(problems)
    for case in cases_for(op, entry, template.world):
        engine = template.fresh()
        try:
            problems += check(template.client, engine, template.world, case)
        finally:
            template.drop(engine)
    assert not problems, f"{len(problems)} case(s) of {op} failed:\n" + "\n".join(problems)


# --- PostgreSQL: the refusals that guard money, in one world --------------------------------------


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_attacks_and_foreign_objects_on_postgresql(engine: Engine) -> None:
    """Every attack and every call on another organisation's object, refused on PostgreSQL too,
    with the ledger unchanged. One seeded world: each refusal must leave it as it was."""
    world = build_world(engine, OPENAPI_OPS)
    client = _client(engine)
    problems: list[str] = []
    ran = 0
    for op, entry in sorted(OPS.items()):
        if op not in OPENAPI_OPS or entry_problems(op, entry):
            continue  # the SQLite test of the operation says why
        for case in cases_for(op, entry, world):
            if case.kind in ("attack", "other"):
                ran += 1
                problems += check(client, engine, world, case)
    assert ran > 0
    assert not problems, f"{len(problems)} of {ran} refusals failed:\n" + "\n".join(problems)


def test_matrix_file_parses_and_names_every_role() -> None:
    """Cheap guards on the data itself: every role appears, every seed step is well formed."""
    seen = {role for entry in OPS.values() for role in entry.get("roles", [])}
    assert seen == set(ROLES)
    for step in MATRIX.get("seed", []):
        assert {"as", "method", "path", "expect"} <= set(step), step
    for side in SIDES:
        assert set(ORG_KEY.values()) <= set(MATRIX["sides"][side]), side
