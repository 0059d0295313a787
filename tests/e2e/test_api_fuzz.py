"""Fuzz every API operation from the app's own OpenAPI with schemathesis, over all of Unicode
and with values at and past every bound (lone surrogates, 1e308, integers past 64 bits).

Each operation gets valid and schema-violating requests over the demo world: as a role it admits
on SQLite and PostgreSQL, and as a tenant on SQLite (so the isolation paths run too). Whatever the
input:
no 5xx, status codes and bodies as the OpenAPI declares, and every refusal a 401/403/404/409/422
with a JSON ``detail``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from suanli.api.app import create_app
from suanli.services.tokens import create_token
from suanli.services.world import load_world
from suanli.store.db import make_engine
from suanli.store.tables import metadata
from suanli.store.uow import UnitOfWork
from tests.conftest import DATABASES, _truncate_all
from tests.unit.test_roles_declared import _declared_roles, api_routes

REFUSALS = {401, 403, 404, 409, 422}
TENANT = "deepharbor-ai"
SITE = "bj-zgc-1"  # the agent token's site

# The schema is read once, at import; each test points the app at its own database.
APP = create_app(make_engine("sqlite://"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# Strings from all of Unicode (not only what UTF-8 round-trips through the generator), NUL too.
schema.config.generation.codec = None
schema.config.generation.allow_x00 = True

# Values at and past every bound a field can have: lone surrogates (valid JSON, not Unicode
# scalar values), astral and CJK text, a string past the guard's limit, numbers at the ends of
# the double range and past 64 bits. Each generated body may get one of them in one field.
EXTREMES = st.sampled_from(
    ["\ud800", "a\udfffb", "𝔘ñí©ødé 算力券", "x" * 70_000, 1e308, -1e308, 5e-324, 2**63, -(2**70),
     10**15 + 1, 0, -1, ""]
)  # fmt: skip


@schema.hook
def flatmap_body(_context: Any, body: Any) -> Any:
    if not isinstance(body, dict) or not body:
        return st.just(body)
    fields = sorted(body, key=str)
    extreme = st.tuples(st.sampled_from(fields), EXTREMES).map(lambda kv: {**body, kv[0]: kv[1]})
    return st.one_of(st.just(body), extreme)


def _admitted_roles() -> dict[tuple[str, str], set[str]]:
    """(METHOD, path) -> the roles its authorize() dependency admits."""
    return {
        (method, route.path): _declared_roles(route)
        for route in api_routes()
        for method in route.methods
    }


ADMITTED = _admitted_roles()


@schemathesis.check
def refusal_is_json_with_detail(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code == 405 and case.method.upper() != case.operation.method.upper():
        return None  # schemathesis also probes methods the path does not have
    if 400 <= response.status_code < 500:
        assert response.status_code in REFUSALS, f"refused with {response.status_code}"
        body = response.json()
        assert isinstance(body, dict) and body.get("detail"), f"no detail in {body!r}"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    refusal_is_json_with_detail,
]
FUZZ = settings(
    max_examples=6,
    derandomize=True,  # the same requests every run
    # explicit: schemathesis's coverage cases (boundaries, missing and mistyped fields, other
    # methods); no shrinking, which would only repeat requests already answered
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    deadline=None,
)
# As a tenant the interest is isolation, not input shapes: fewer requests, SQLite only.
TENANT_FUZZ = settings(FUZZ, max_examples=5, phases=[Phase.generate])


@pytest.fixture(scope="module", params=DATABASES)
def tokens(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    _sqlite_template: Path,
) -> Iterator[dict[str, str]]:
    """One demo world per database for the whole module; fuzzed writes pile up in it."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "suanli.db"
        shutil.copy(_sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("_pg_template_url")
        if url is None:
            pytest.skip("PostgreSQL disabled by SUANLI_SKIP_PG")
        engine = make_engine(url)
        _truncate_all(engine)
    load_world(engine)
    with UnitOfWork(engine) as uow:
        out = {
            "officer": create_token(uow, "officer", None),
            "agent": create_token(uow, "agent", SITE),
            "tenant": create_token(uow, "tenant", TENANT),
        }
        uow.commit()
    APP.state.engine = engine
    yield out
    engine.dispose()


def _role_for(roles: set[str]) -> str:
    return "officer" if "officer" in roles else "agent"


def _call(case: Any, token: str) -> None:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.headers = {**headers, "Authorization": f"Bearer {token}"}
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_fuzz_as_an_admitted_role(case: Any, tokens: dict[str, str]) -> None:
    roles = ADMITTED.get((case.operation.method.upper(), case.operation.path), {"officer"})
    _call(case, tokens[_role_for(roles)])


@schema.parametrize()
@TENANT_FUZZ
@pytest.mark.parametrize("tokens", ["sqlite"], indirect=True)
def test_fuzz_as_a_tenant(case: Any, tokens: dict[str, str]) -> None:
    _call(case, tokens["tenant"])


def _row_counts() -> dict[str, int]:
    with APP.state.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


WRITES = schema.include(method=["POST", "PATCH"])


@settings(FUZZ, max_examples=60, phases=[Phase.generate])
@given(case=WRITES.as_strategy(generation_mode=GenerationMode.NEGATIVE))
def test_refused_writes_change_nothing(case: Any, tokens: dict[str, str]) -> None:
    """Schema-violating POST and PATCH bodies: each refusal leaves every table's row count."""
    before = _row_counts()
    roles = ADMITTED.get((case.operation.method.upper(), case.operation.path), {"officer"})
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.headers = {**headers, "Authorization": f"Bearer {tokens[_role_for(roles)]}"}
    response = case.call()
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert _row_counts() == before, (case.operation.label, response.status_code)
