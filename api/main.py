"""The FastAPI app factory: API routers, the web chat page, chat-platform webhooks, limits."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.advisor import Advisor
from bot.pii import PiiLogFilter
from core.settings import Settings, get_settings

from .errors import error, install_error_handlers
from .ratelimit import RateLimitMiddleware
from .routes import catalog, chat, diagnose, docs, health, openai, search, sessions

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 256 * 1024


class BodySizeLimit:
    """Rejects request bodies above a byte cap with 413 before they are parsed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            too_big = error(
                413, f"The request body is larger than {self.limit // 1024} KB; send less."
            )
            await too_big(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(
                    413,
                    f"请求内容超过{self.limit // 1024} KB，请缩短后再发（The request body is larger than {self.limit // 1024} KB; send less）。",
                )
            return message

        await self.app(scope, counted, send)


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
        install_log_masking()
        if app.state.advisor is None:
            app.state.advisor = Advisor(settings)
        _ = app.state.advisor.index  # build or load the search index before the first request
        yield

    app = FastAPI(
        title="finadvisor",
        summary="融资渠道顾问：借款被拒/降额原因诊断与合法融资渠道推荐",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.advisor = advisor
    install_error_handlers(app)
    for module in (chat, diagnose, search, catalog, docs, sessions, health, openai):
        app.include_router(module.router)
    from .integrations import mount_integrations

    mount_integrations(app, settings)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.add_middleware(RateLimitMiddleware, limit=settings.rate_limit)
    app.add_middleware(BodySizeLimit, limit=MAX_BODY_BYTES)
    return app
