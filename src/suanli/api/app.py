"""The FastAPI application: everything under /api/v1, OpenAPI at /docs, liveness at /healthz,
and the web dashboard (``suanli.web``) at /, composed here."""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio.to_thread
import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, QueuePool, text

from suanli import __version__
from suanli.api import errors, guard
from suanli.api.limits import AuthGate, BodyLimit, InFlightLimit
from suanli.api.routers import (
    agents,
    applications,
    audit,
    catalog,
    compliance,
    estimates,
    exchange,
    filings,
    ledger,
    programs,
    registry,
    reports,
    statements,
    tokens,
)
from suanli.api.throttle import AuthThrottle
from suanli.runtime import settle_heap
from suanli.store.db import make_engine
from suanli.web import mount as mount_web

API_PREFIX = "/api/v1"
SWAGGER_UI = "/static/vendor/swagger-ui"  # swagger-ui-dist, fetched by scripts/web-assets.sh
DEFAULT_THREADS, DEFAULT_MAX_BODY_BYTES, DEFAULT_QUEUE_TIMEOUT_S = 40, 1 << 20, 10.0


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """How much one server process takes on. From the environment by default:

    SUANLI_API_THREADS      requests served at once, each with one database connection (40)
    SUANLI_MAX_BODY_BYTES   largest request body accepted; 413 beyond it (1 MiB)
    SUANLI_QUEUE_TIMEOUT_S  how long a request waits for its turn before a 503 (10)
    """

    threads: int = DEFAULT_THREADS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    queue_timeout_s: float = DEFAULT_QUEUE_TIMEOUT_S

    @classmethod
    def from_env(cls) -> ApiSettings:
        env = os.environ
        return cls(
            threads=max(1, int(env.get("SUANLI_API_THREADS", DEFAULT_THREADS))),
            max_body_bytes=max(1024, int(env.get("SUANLI_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))),
            queue_timeout_s=float(env.get("SUANLI_QUEUE_TIMEOUT_S", DEFAULT_QUEUE_TIMEOUT_S)),
        )

    def engine(self) -> Engine:
        """The default database with a pool of one connection per thread (and two spare)."""
        return make_engine(pool_size=self.threads, max_overflow=2, pool_timeout=5)


def _in_flight_limit(engine: Engine, threads: int) -> int:
    # Never more requests at once than the pool has connections: a request holds one.
    pool = engine.pool
    if isinstance(pool, QueuePool):
        return max(1, min(threads, pool.size() + pool._max_overflow))
    return threads


def _mount_docs(app: FastAPI) -> None:
    # A plain page beside the API, as FastAPI's own /docs is (not an API operation): Swagger UI
    # from the files scripts/web-assets.sh fetched, so /docs works offline.
    def docs(_request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Suanli API",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
            # No validator badge: it would send the document to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_route("/docs", docs, include_in_schema=False)


def create_app(engine: Engine | None = None, settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    engine = engine or settings.engine()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        settle_heap()  # the app is built: its objects need no more collecting
        yield

    app = FastAPI(
        title="Suanli",
        version=__version__,
        description="Compute-voucher programs and a heterogeneous AI-compute exchange.",
        lifespan=lifespan,
        docs_url=None,  # served below from local files, not a CDN
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.auth_throttle = throttle = AuthThrottle()
    errors.install(app)
    limit = _in_flight_limit(engine, settings.threads)
    # Outermost first: the body limit, the gate for failing addresses, then the line.
    app.add_middleware(InFlightLimit, max_in_flight=limit, queue_timeout_s=settings.queue_timeout_s)
    app.add_middleware(AuthGate, throttle=throttle)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

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
        reports,
        exchange,
        filings,
        tokens,
        audit,
        compliance,
    ):
        api.include_router(module.router)
    app.include_router(api)
    mount_web(app)  # the dashboard's pages (left out of the OpenAPI) and static files

    _mount_docs(app)

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
