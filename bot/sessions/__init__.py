"""Session store: a session is its profile, its dialogue state and its turns.

Backends are chosen by ``Settings.session_url`` through a scheme registry the built-ins use too:
unset -> SQLite at ``data_dir/sessions.sqlite3``; ``sqlite:///relative/path`` or
``sqlite:////absolute/path`` (SQLAlchemy's convention) -> SQLite there; ``redis://`` or
``rediss://host:port/db[?ttl=seconds]`` -> Redis. Every store masks PII (``bot.pii``) in turns
and profile before writing, validates the session id, keeps only the latest ``MAX_TURNS`` and
holds a session for a whole turn (``hold``) so concurrent turns run one after the other.

Sessions expire ``Settings.session_ttl_days`` after their last write (Redis by key expiry,
SQLite by treating older rows as absent and deleting them), and at most
``Settings.max_sessions`` are kept: past that number the least recently written are forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.errors import ConfigError, UnknownBackendError
from core.settings import Settings

from .base import (
    CORRUPT_SESSION,
    DEFAULT_TTL_SECONDS,
    INVALID_SESSION_ID,
    INVALID_TTL,
    INVALID_TURN,
    MAX_TURNS,
    REDIS_AUTH,
    REDIS_CONTENDED,
    REDIS_FAILED,
    REDIS_KEY_PREFIX,
    REDIS_UNREACHABLE,
    SESSION_BUSY,
    SQLITE_FAILED,
    SessionState,
    SessionStore,
    check_session_id,
)
from .redis_store import RedisSessionStore, redacted_url
from .sqlite import SQLiteSessionStore

__all__ = [
    "CORRUPT_SESSION", "DEFAULT_TTL_SECONDS", "INVALID_SESSION_ID", "INVALID_TTL", "INVALID_TURN",
    "MAX_TURNS", "REDIS_AUTH", "REDIS_CONTENDED", "REDIS_FAILED", "REDIS_KEY_PREFIX",
    "REDIS_UNREACHABLE", "SESSION_BUSY", "SQLITE_FAILED", "SESSION_BACKENDS", "RedisSessionStore",
    "SQLiteSessionStore", "SessionState", "SessionStore", "check_session_id", "open_session_store",
    "redacted_url", "register_session_backend",
]  # fmt: skip


SessionStoreFactory = Callable[[str, Settings], SessionStore]


def _open_sqlite(url: str, settings: Settings) -> SessionStore:
    path = url.partition(":")[2]
    path = path[3:] if path.startswith("///") else path.removeprefix("//")
    return SQLiteSessionStore(
        path or settings.data_dir / "sessions.sqlite3",
        ttl_seconds=settings.session_ttl_seconds,
        max_sessions=settings.max_sessions,
    )


def _open_redis(url: str, settings: Settings) -> SessionStore:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ttl_values = [value for name, value in query if name == "ttl"]
    ttl = settings.session_ttl_seconds
    if ttl_values:
        if not ttl_values[-1].isdigit():
            raise ConfigError(INVALID_TTL)
        ttl = int(ttl_values[-1])
    rest = urlencode([(name, value) for name, value in query if name != "ttl"])
    return RedisSessionStore(
        urlunsplit(parts._replace(query=rest)), ttl_seconds=ttl, max_sessions=settings.max_sessions
    )


SESSION_BACKENDS: dict[str, SessionStoreFactory] = {}


def register_session_backend(scheme: str, factory: SessionStoreFactory) -> None:
    """Register a session store for URLs starting ``scheme:`` (built-ins use this too)."""
    SESSION_BACKENDS[scheme] = factory


register_session_backend("sqlite", _open_sqlite)
register_session_backend("redis", _open_redis)
register_session_backend("rediss", _open_redis)


def open_session_store(settings: Settings) -> SessionStore:
    """The session store ``settings.session_url`` names; SQLite in ``data_dir`` when unset."""
    url = settings.session_url or "sqlite:"
    scheme = url.partition(":")[0].lower()
    factory = SESSION_BACKENDS.get(scheme)
    if factory is None:
        raise UnknownBackendError("session store", scheme, SESSION_BACKENDS)
    return factory(url, settings)
