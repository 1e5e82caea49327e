"""Per-client rate limiting with the ``limits`` library: 429 with Retry-After when exceeded.

A client is its peer address (``scope["client"]``). Behind a reverse proxy every request comes
from the proxy, so ``Settings.client_ip_header`` may name the header the proxy sets (for example
``X-Forwarded-For``); then the right-most address in it, the one the proxy itself added, is the
client. The header is never read unless that setting says so: a client could write any value.
A request costs one hit, and a text costs one more hit per full ``CHARS_PER_HIT`` characters (a
2,000-character message counts as five requests: its retrieval embeds the whole text, which costs
seconds of CPU); an OpenAI-compatible request that replays earlier user messages pays for each of
them as for a request of its own (``RateLimiter.charge_texts``).

The counters live in the app's shared state (``api.shared_state``: Redis, or SQLite in the data
directory), so the limit holds across ``finadvisor serve --workers N`` and across restarts. When
that store fails the request is refused with 503 (one sentence), never let through uncounted.
"""

from __future__ import annotations

import logging
import math
import time

from fastapi import HTTPException, Request
from limits import parse
from limits.errors import StorageError
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import messages
from core.errors import StateError

from .errors import STORAGE_UNAVAILABLE, error
from .shared_state import SharedState

log = logging.getLogger("api")

EXEMPT_PREFIXES = ("/healthz", "/metrics", "/static", "/docs", "/openapi.json", "/redoc")
CHARS_PER_HIT = 500
RATE_STORE_FAILED = (
    "The rate-limit counters at {url} cannot be used ({detail}); check that store or set"
    " FINADVISOR_STATE_URL to another one."
)


class RateLimiter:
    """The app's one limiter: who a client is, and whether it may spend more."""

    def __init__(self, limit: str, state: SharedState, client_ip_header: str | None = None) -> None:
        self.item = parse(limit)
        self.state = state
        self.limiter = MovingWindowRateLimiter(state.rate_storage)
        self.header = client_ip_header.lower().encode("latin-1") if client_ip_header else None

    def client(self, scope: Scope) -> str:
        """The address that identifies the client of a request."""
        if self.header is not None:
            value: bytes = dict(scope.get("headers") or []).get(self.header, b"")
            if value:
                last = value.decode("latin-1").split(",")[-1].strip()
                if last:
                    return last[:64]
        peer = scope.get("client") or ("unknown", 0)
        return str(peer[0])

    def retry_after(self, client: str) -> int | None:
        """Seconds to wait when ``client`` is over its limit after one more hit; None if allowed."""
        return self.spend(client, 1)

    def spend(self, client: str, cost: int) -> int | None:
        """Count ``cost`` hits for ``client``; the seconds to wait when that is over the limit."""
        try:
            if self.limiter.hit(self.item, client, cost=cost):
                return None
            reset, _ = self.limiter.get_window_stats(self.item, client)
        except StorageError as exc:  # limits' wrapper of the Redis client's errors
            cause = exc.storage_error
            detail = " ".join(str(cause).split()) or type(cause).__name__
            raise StateError(RATE_STORE_FAILED.format(url=self.state.url, detail=detail)) from exc
        return max(1, math.ceil(reset - time.time()))

    def charge_texts(self, request: Request, texts: list[str], replayed: int = 0) -> None:
        """Charge the extra hits of long ``texts`` and of ``replayed`` messages (429 if over)."""
        self.charge(request, replayed + sum(len(text) // CHARS_PER_HIT for text in texts))

    def charge(self, request: Request, cost: int) -> None:
        """Count ``cost`` more hits for the request's client; 429 when that is over the limit."""
        if cost <= 0:
            return
        retry = self.spend(self.client(request.scope), cost)
        if retry is not None:
            raise HTTPException(
                429, messages.RATE_LIMITED.format(retry=retry), {"Retry-After": str(retry)}
            )


class RateLimitMiddleware:
    """Limits requests per client; exempt paths (page, health, static, docs) pass freely."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/" or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        try:
            retry = self.limiter.retry_after(self.limiter.client(scope))
        except StateError as exc:
            log.error("rate limit not checked: %s", exc)
            await error(503, STORAGE_UNAVAILABLE)(scope, receive, send)
            return
        if retry is not None:
            response = error(
                429, messages.RATE_LIMITED.format(retry=retry), {"Retry-After": str(retry)}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
