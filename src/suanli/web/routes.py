"""Sign in, sign out, the language switch, and mounting the pages into the application.

Every page is left out of the OpenAPI document (it is not an API): each route checks its own
roles (``context.page``), tested in tests/integration/test_web.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from suanli.errors import PermissionDenied
from suanli.services import tokens
from suanli.web import auditor, i18n, officer, provider, tenant
from suanli.web.context import (
    SECURITY_HEADERS,
    Ctx,
    Forbidden,
    SignInNeeded,
    anyone,
    locale_of,
    render,
    store,
)
from suanli.web.session import COOKIE, IDLE_S, LANG_COOKIE, SessionStore

STATIC = Path(__file__).parent / "static"
HOME = {"officer": "/officer", "reviewer": "/officer", "tenant": "/tenant",
        "provider": "/provider", "auditor": "/auditor"}  # fmt: skip

router = APIRouter(include_in_schema=False)
Anyone = Annotated[Ctx, Depends(anyone())]


def _session_cookie(response: Response, request: Request, session_id: str) -> None:
    response.set_cookie(
        COOKIE, session_id, max_age=IDLE_S, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip


def _local(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no '//'): never an open redirect."""
    parts = urlsplit(target or "/")
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):  # type: ignore[union-attr]
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


@router.get("/")
def home(ctx: Anyone) -> Response:
    if ctx.principal is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(HOME.get(ctx.principal.role.value, "/signin"), status_code=303)


def _signin_page(ctx: Ctx, error: str = "", status: int = 200) -> HTMLResponse:
    session = ctx.session or store(ctx.request).new()
    ctx.session = session
    response = render(ctx, "signin.html", status=status, error=error)
    _session_cookie(response, ctx.request, session.id)
    return response


@router.get("/signin")
def signin_form(ctx: Anyone) -> Response:
    if ctx.principal is not None:
        return RedirectResponse("/", status_code=303)
    return _signin_page(ctx)


@router.post("/signin")
def signin(ctx: Anyone) -> Response:
    token = ctx.field("token")
    if not token:
        return _signin_page(ctx, ctx.t("error.token_required"), 422)
    try:
        principal = tokens.authenticate(ctx.uow, token)
    except PermissionDenied:
        return _signin_page(ctx, ctx.t("error.token_refused"), 401)
    sessions = store(ctx.request)
    sessions.drop(ctx.session.id if ctx.session else None)
    fresh = sessions.new(token)
    response = RedirectResponse(HOME.get(principal.role.value, "/signin"), status_code=303)
    _session_cookie(response, ctx.request, fresh.id)
    return response


@router.post("/signout")
def signout(ctx: Anyone) -> Response:
    store(ctx.request).drop(ctx.session.id if ctx.session else None)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, next: str = "/") -> Response:
    response = RedirectResponse(_local(next), status_code=303)
    if code in i18n.LOCALES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response


def _forbidden_page(request: Request, reason: str) -> HTMLResponse:
    locale = locale_of(request)
    body = (
        f"<!doctype html><html lang='{locale}'><meta charset='utf-8'>"
        f"<title>403</title><h1>403 {i18n.translate(locale, 'error.forbidden')}</h1>"
        f"<p>{_escape(reason)}</p><p><a href='/'>{i18n.translate(locale, 'nav.home')}</a></p>"
    )
    return HTMLResponse(body, status_code=403, headers=SECURITY_HEADERS)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mount(app: FastAPI) -> None:
    """Add the dashboard to ``app``: its pages at /, its files at /static."""
    app.state.web_sessions = SessionStore()

    @app.exception_handler(SignInNeeded)
    async def _sign_in(_request: Request, _exc: SignInNeeded) -> Response:
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _forbidden_page(request, exc.reason)

    app.include_router(router)
    for module in (officer, tenant, provider, auditor):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
