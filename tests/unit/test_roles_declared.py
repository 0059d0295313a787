"""Every endpoint under /api/v1 declares the roles it admits."""

from __future__ import annotations

from fastapi.routing import APIRoute

from suanli.api.app import create_app
from suanli.store.db import make_engine


def _declared_roles(route: APIRoute) -> set[str]:
    found: set[str] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        found |= set(getattr(dep.call, "allowed_roles", ()))
        stack.extend(dep.dependencies)
    return found


def api_routes() -> list[APIRoute]:
    """Every APIRoute of the API (not /healthz, not the dashboard), through included routers."""
    found: list[APIRoute] = []
    stack: list[object] = list(create_app(make_engine("sqlite://")).routes)
    while stack:
        route = stack.pop()
        inner = getattr(route, "original_router", None)
        if inner is not None:
            stack.extend(inner.routes)
        elif (
            isinstance(route, APIRoute)
            and route.path != "/healthz"
            and not route.endpoint.__module__.startswith("suanli.web")
        ):
            # The dashboard's pages are outside the API and its OpenAPI document; their role
            # checks are tested page by page (tests/integration/test_web.py).
            found.append(route)
    return found


def test_every_api_route_declares_roles() -> None:
    routes = api_routes()
    assert routes
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in routes if not _declared_roles(r)]
    assert undeclared == []


def test_auditor_is_never_allowed_to_write() -> None:
    for route in api_routes():
        if route.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            assert "auditor" not in _declared_roles(route), route.path
