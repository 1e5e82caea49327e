"""Per-client rate limiting with the ``limits`` library: 429 with Retry-After when exceeded."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error

EXEMPT_PREFIXES = ("/healthz", "/static", "/docs", "/openapi.json", "/redoc")


class RateLimitMiddleware:
    """Limits requests per client address; exempt paths (health, static, docs) pass freely."""

    def __init__(self, app: ASGIApp, limit: str) -> None:
        self.app = app
        self.item = parse(limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/" or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        if not self.limiter.hit(self.item, client):
            reset, _ = self.limiter.get_window_stats(self.item, client)
            retry = max(1, math.ceil(reset - time.time()))
            response = error(
                429,
                f"请求太频繁，请等{retry}秒后再试（Too many requests; wait {retry} seconds and try again）。",
                {"Retry-After": str(retry)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
