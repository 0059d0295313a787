"""What every page shares: the signed-in caller, its unit of work, its language, the form it
posted (CSRF-checked), and rendering a template with all of that."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from suanli.domain.roles import Principal, Role
from suanli.errors import PermissionDenied
from suanli.services import audit, tokens
from suanli.store.uow import UnitOfWork
from suanli.web import i18n
from suanli.web.session import COOKIE, LANG_COOKIE, Session, SessionStore, csrf_ok

TEMPLATES = Path(__file__).parent / "templates"
MAX_FIELDS = 200
ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)
ENV.globals.update(money=i18n.money, number=i18n.number, locales=i18n.LOCALES)


class SignInNeeded(Exception):
    """No signed-in session: the browser goes to the sign-in page."""


class Forbidden(Exception):
    """Signed in, but this page or form is not for this caller (or its CSRF token is wrong)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Ctx:
    request: Request
    session: Session | None
    principal: Principal | None
    uow: UnitOfWork
    locale: str
    form: Mapping[str, str] = field(default_factory=dict)

    def t(self, key: str) -> str:
        return i18n.translate(self.locale, key)

    def field(self, name: str, default: str = "") -> str:
        return self.form.get(name, default).strip()


def store(request: Request) -> SessionStore:
    found = request.app.state.web_sessions
    assert isinstance(found, SessionStore)
    return found


def locale_of(request: Request) -> str:
    return i18n.pick(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


async def read_form(request: Request) -> dict[str, str]:
    """A POSTed urlencoded form (the body size is bounded by the app's BodyLimit)."""
    if request.method != "POST":
        return {}
    raw = (await request.body()).decode("utf-8", "replace")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise Forbidden("too many form fields") from exc
    return dict(pairs)


Form = Annotated[dict[str, str], Depends(read_form)]


def _context(request: Request, form: Mapping[str, str], read_only: bool) -> Iterator[Ctx]:
    session = store(request).get(request.cookies.get(COOKIE))
    if request.method == "POST" and not csrf_ok(session, form.get("csrf")):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page")
    engine = request.app.state.engine
    with UnitOfWork(engine, read_only=read_only or request.method != "POST") as uow:
        principal = None
        if session is not None and session.token:
            try:
                principal = tokens.authenticate(uow, session.token)
            except PermissionDenied:
                store(request).drop(session.id)
                session = None
        if principal is not None:
            audit.acting(uow, principal)
        yield Ctx(request, session, principal, uow, locale_of(request), form)


def anyone(read_only: bool = False) -> Callable[..., Iterator[Ctx]]:
    """A page anyone may open (the sign-in page)."""

    def dependency(request: Request, form: Form) -> Iterator[Ctx]:
        yield from _context(request, form, read_only)

    return dependency


def page(*roles: Role, read_only: bool = False) -> Callable[..., Iterator[Ctx]]:
    """A page or form for the given roles only; others get 403, no session the sign-in page."""
    allowed = frozenset(roles)

    def dependency(request: Request, form: Form) -> Iterator[Ctx]:
        for ctx in _context(request, form, read_only):
            if ctx.principal is None:
                raise SignInNeeded()
            if ctx.principal.role not in allowed:
                raise Forbidden(f"role {ctx.principal.role} may not open this page")
            yield ctx

    dependency.allowed_roles = allowed  # type: ignore[attr-defined]
    return dependency


def render(ctx: Ctx, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    template = ENV.get_template(name)
    html = template.render(
        t=ctx.t,
        when=lambda v: i18n.when(v, ctx.locale),
        locale=ctx.locale,
        who=ctx.principal,
        csrf=ctx.session.csrf if ctx.session else "",
        path=ctx.request.url.path,
        **values,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


# The pages load nothing from elsewhere and run only their own scripts.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
