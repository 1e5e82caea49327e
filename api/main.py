"""The FastAPI app factory: API routers, the web chat page, chat-platform webhooks, limits.

Every request passes, outermost first: ``RequestContext`` (request id, interface, timing for
``/metrics``), ``SecurityHeaders`` (CSP and friends on every answer),
``RateLimitMiddleware`` (429 per client), ``RequestBodyGuard`` (413/408/400 before parsing),
then the routes; ``/v1`` routes also need an API key when ``FINADVISOR_API_KEYS`` is set.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from bot.advisor import Advisor
from bot.pii import PiiLogFilter
from bot.session_keys import SessionKeys
from core.settings import Settings, get_settings
from knowledge.index import SearchIndex

from .body import RequestBodyGuard
from .deps import require_api_key
from .errors import install_error_handlers
from .headers import SecurityHeaders
from .logs import configure_logging
from .metrics import Metrics
from .metrics import router as metrics_router
from .openapi import install_openapi
from .ratelimit import RateLimiter, RateLimitMiddleware
from .request_context import RequestContext
from .routes import catalog, chat, diagnose, docs, health, openai, search, sessions
from .schemas import errors
from .shared_state import open_shared_state

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 256 * 1024


def install_log_masking() -> None:
    """Mask phone, ID and card numbers in every log record of the app and the server."""
    for name in ("", "api", "bot", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, PiiLogFilter) for f in logger.filters):
            logger.addFilter(PiiLogFilter())
        for handler in logger.handlers:
            if not any(isinstance(f, PiiLogFilter) for f in handler.filters):
                handler.addFilter(PiiLogFilter())


def create_app(settings: Settings | None = None, advisor: Advisor | None = None) -> FastAPI:
    """Build the app; the advisor (and its index) is created once, at start-up."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        restore_logging = configure_logging(settings.log_format)
        install_log_masking()
        if app.state.advisor is None:
            app.state.advisor = Advisor(settings)
        app.state.advisor.observer = metrics
        _ = app.state.advisor.index  # build or load the search index before the first request
        try:
            yield
        finally:
            restore_logging()

    app = FastAPI(
        title="finadvisor",
        summary="融资渠道顾问：借款被拒/降额原因诊断与合法融资渠道推荐",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.advisor = advisor
    metrics = app.state.metrics = Metrics(lambda: _loaded_index(app))
    if advisor is not None:
        advisor.observer = metrics
    app.state.session_keys = SessionKeys.from_settings(settings)
    app.state.api_keys = settings.api_key_set()
    shared = app.state.shared_state = open_shared_state(settings)
    limiter = app.state.rate_limiter = RateLimiter(
        settings.rate_limit, shared, settings.client_ip_header
    )
    install_error_handlers(app)
    guarded = errors(401) if app.state.api_keys else {}
    for module in (chat, diagnose, search, catalog, docs, sessions, openai):
        app.include_router(
            module.router, dependencies=[Depends(require_api_key)], responses=guarded
        )
    app.include_router(health.router)
    app.include_router(metrics_router)
    from .integrations import mount_integrations

    mount_integrations(app, settings)
    if settings.api_docs:
        from .docs_pages import mount_api_docs

        mount_api_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    install_openapi(app, settings)
    app.add_middleware(RequestBodyGuard, limit=MAX_BODY_BYTES, timeout=settings.body_timeout)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext, metrics=metrics, root=app)
    return app


def _loaded_index(app: FastAPI) -> SearchIndex | None:
    """The advisor's search index once it is loaded (a scrape never builds it)."""
    advisor: Advisor | None = app.state.advisor
    if advisor is None or "index" not in advisor.__dict__:
        return None
    return advisor.index
