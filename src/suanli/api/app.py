"""The FastAPI application: everything under /api/v1, OpenAPI at /docs, liveness at /healthz."""

from __future__ import annotations

import warnings

import httpx
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import Engine, text

from suanli import __version__
from suanli.api import errors, guard
from suanli.api.routers import (
    agents,
    applications,
    catalog,
    estimates,
    exchange,
    ledger,
    programs,
    registry,
    statements,
)
from suanli.store.db import make_engine

API_PREFIX = "/api/v1"


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="Suanli",
        version=__version__,
        description="Compute-voucher programs and a heterogeneous AI-compute exchange.",
    )
    app.state.engine = engine or make_engine()
    errors.install(app)

    api = APIRouter(
        prefix=API_PREFIX,
        responses=errors.RESPONSES,
        dependencies=[Depends(guard.reject_unstorable)],
    )
    for module in (
        catalog,
        registry,
        agents,
        estimates,
        programs,
        applications,
        ledger,
        statements,
        exchange,
    ):
        api.include_router(module.router)
    app.include_router(api)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        with app.state.engine.connect() as conn:
            conn.execute(text("select 1"))
        return {"status": "ok", "version": __version__, "database": app.state.engine.dialect.name}

    return app


def in_process_client(engine: Engine | None = None) -> httpx.Client:
    """An httpx client that calls the app in this process (no socket), e.g. for a local agent."""
    with warnings.catch_warnings():
        # Starlette announces a future transport package on import; it does not concern callers.
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    return TestClient(create_app(engine))
