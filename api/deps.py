"""FastAPI dependencies: settings, the advisor, session keys and the limiter live on ``app.state``.

``require_api_key`` guards the REST, SSE and OpenAI-compatible routes when
``FINADVISOR_API_KEYS`` is set: a request without one of the keys (``Authorization: Bearer KEY``
or ``X-API-Key: KEY``) gets 401. Unset (the default), the API is open, as the web page needs.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from bot import messages
from bot.advisor import Advisor
from bot.session_keys import SessionKeys
from core.settings import Settings

from .ratelimit import RateLimiter


def get_settings(request: Request) -> Settings:
    """The app's settings (injected by ``create_app``)."""
    settings: Settings = request.app.state.settings
    return settings


def get_advisor(request: Request) -> Advisor:
    """The app's one advisor."""
    advisor: Advisor = request.app.state.advisor
    return advisor


def get_session_keys(request: Request) -> SessionKeys:
    """Issues and derives session ids (secret loaded at start-up)."""
    keys: SessionKeys = request.app.state.session_keys
    return keys


def get_rate_limiter(request: Request) -> RateLimiter:
    """The app's rate limiter."""
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def presented_api_key(request: Request) -> str:
    """The API key a request carries ('' when none)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key", "").strip()


def require_api_key(request: Request) -> None:
    """401 unless the request carries one of the configured API keys (none configured: open)."""
    keys: frozenset[str] = request.app.state.api_keys
    if not keys:
        return
    given = presented_api_key(request).encode("utf-8", "replace")
    if not any(hmac.compare_digest(given, key.encode("utf-8")) for key in keys):
        raise HTTPException(401, messages.API_KEY_REQUIRED, {"WWW-Authenticate": "Bearer"})


def known_session(advisor: Advisor, session_id: str) -> str:
    """``session_id`` when the server issued it and still holds it; otherwise 404."""
    if not SessionKeys.is_issued_form(session_id) or not advisor.store.exists(session_id):
        raise HTTPException(404, messages.UNKNOWN_SESSION)
    return session_id


SettingsDep = Annotated[Settings, Depends(get_settings)]
AdvisorDep = Annotated[Advisor, Depends(get_advisor)]
SessionKeysDep = Annotated[SessionKeys, Depends(get_session_keys)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
