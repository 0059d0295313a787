"""The dashboard's pages over the real app (SQLite): who may open which page, the session
cookie, CSRF on every POST, bad input changing nothing, and the two languages.

The pages are left out of the OpenAPI (so out of tests/authz_matrix.toml); their role checks
are tested here instead."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from suanli.api.app import create_app
from suanli.domain.roles import SYSTEM
from suanli.services import applications as apps
from suanli.services import audit
from suanli.store.uow import UnitOfWork
from suanli.web import i18n
from tests.web_support import CSRF, PENDING, seed

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PAGES = {"/officer": {"officer", "reviewer"}, "/tenant": {"tenant"}, "/tenant/quote": {"tenant"},
         "/provider": {"provider"}, "/auditor": {"auditor", "officer"}}  # fmt: skip


@pytest.fixture
def web(sqlite_engine: Engine) -> Iterator[tuple[TestClient, dict[str, str], Engine]]:
    tokens = seed(sqlite_engine)
    with TestClient(create_app(sqlite_engine), follow_redirects=False) as client:
        yield client, tokens, sqlite_engine


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; return the CSRF token of the signed-in session."""
    page = client.get("/signin")
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    done = client.post("/signin", data={"token": token, "csrf": csrf})
    assert done.status_code == 303, done.text
    landing = client.get(done.headers["location"])
    assert landing.status_code == 200, landing.text
    return CSRF.search(landing.text).group(1)  # type: ignore[union-attr]


def test_pages_are_not_in_the_openapi(web):
    client, _tokens, _engine = web
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/api/") and p != "/healthz"]


def test_each_role_opens_only_its_pages(web):
    client, tokens, _engine = web
    for path in PAGES:
        assert client.get(path).status_code == 303  # no session: to the sign-in page
    for role in ("officer", "reviewer", "tenant", "provider", "auditor", "agent"):
        client.cookies.clear()
        if role == "agent":  # an agent's token signs in, but no page is its own
            sign_in_page = client.get("/signin")
            csrf = CSRF.search(sign_in_page.text).group(1)  # type: ignore[union-attr]
            client.post("/signin", data={"token": tokens[role], "csrf": csrf})
        else:
            sign_in(client, tokens[role])
        for path, roles in PAGES.items():
            got = client.get(path).status_code
            assert got == (200 if role in roles else 403), (role, path, got)


def test_session_cookie_is_httponly_strict_and_not_the_token(web):
    client, tokens, _engine = web
    page = client.get("/signin")
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    done = client.post("/signin", data={"token": tokens["tenant"], "csrf": csrf})
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert tokens["tenant"] not in cookie and tokens["tenant"].split("_")[2] not in cookie
    signed_in = client.get("/tenant")
    assert signed_in.status_code == 200
    out_csrf = CSRF.search(signed_in.text).group(1)  # type: ignore[union-attr]
    assert client.post("/signout", data={"csrf": out_csrf}).status_code == 303
    assert client.get("/tenant").status_code == 303  # signed out


def test_a_wrong_token_is_refused_on_the_form(web):
    client, _tokens, _engine = web
    csrf = CSRF.search(client.get("/signin").text).group(1)  # type: ignore[union-attr]
    refused = client.post("/signin", data={"token": "sl_nope_nope", "csrf": csrf})
    assert refused.status_code == 401 and "revoked" in refused.text


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(web):
    client, tokens, engine = web
    sign_in(client, tokens["officer"])
    with UnitOfWork(engine, read_only=True) as uow:
        before = audit.head(uow, SYSTEM).seq
    for forged in ({}, {"csrf": "forged"}):
        got = client.post(f"/officer/applications/{PENDING}/review",
                          data={"decision": "approve", **forged})  # fmt: skip
        assert got.status_code == 403
    with UnitOfWork(engine, read_only=True) as uow:
        assert apps.get_application(uow, SYSTEM, PENDING).status == "pending"
        assert audit.head(uow, SYSTEM).seq == before


def test_rejecting_without_a_reason_shows_the_error_and_changes_nothing(web):
    client, tokens, engine = web
    csrf = sign_in(client, tokens["officer"])
    got = client.post(f"/officer/applications/{PENDING}/review",
                      data={"decision": "reject", "reason": "", "csrf": csrf})  # fmt: skip
    assert got.status_code == 422 and "needs a reason" in got.text
    with UnitOfWork(engine, read_only=True) as uow:
        assert apps.get_application(uow, SYSTEM, PENDING).status == "pending"
    ok = client.post(f"/officer/applications/{PENDING}/review",
                     data={"decision": "approve", "reason": "", "csrf": csrf})  # fmt: skip
    assert ok.status_code == 303
    with UnitOfWork(engine, read_only=True) as uow:
        assert apps.get_application(uow, SYSTEM, PENDING).status == "approved"


def test_a_tenant_cannot_post_an_officers_form(web):
    client, tokens, engine = web
    csrf = sign_in(client, tokens["tenant"])
    got = client.post(f"/officer/applications/{PENDING}/review",
                      data={"decision": "approve", "csrf": csrf})  # fmt: skip
    assert got.status_code == 403
    with UnitOfWork(engine, read_only=True) as uow:
        assert apps.get_application(uow, SYSTEM, PENDING).status == "pending"


def test_chinese_when_the_browser_prefers_it_and_the_switch(web):
    client, _tokens, _engine = web
    zh = client.get("/signin", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "登录" in zh.text and 'lang="zh-CN"' in zh.text
    assert "Sign in" in client.get("/signin", headers={"Accept-Language": "en-GB"}).text
    switched = client.get("/lang/zh-CN?next=/signin")
    assert switched.status_code == 303 and switched.headers["location"] == "/signin"
    assert "登录" in client.get("/signin").text
    assert client.get("/lang/en?next=https://evil.example/").headers["location"] == "/"


def test_money_dates_and_catalogues():
    assert i18n.money(123456) == "¥1,234.56"
    assert i18n.money(-5) == "-¥0.05"
    assert i18n.when("2026-03-03T14:05:00+00:00", "zh-CN") == "2026年3月3日 14:05"
    assert i18n.when("2026-03-03T14:05:00+00:00", "en") == "3 Mar 2026 14:05"
    assert i18n.negotiate("fr;q=1, zh-TW;q=0.5") == "zh-CN"
    assert set(i18n.catalogue("en")) == set(i18n.catalogue("zh-CN"))
