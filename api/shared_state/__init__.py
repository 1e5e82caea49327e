"""State every worker and every restart must share: rate-limit counters and delivery ids.

``open_shared_state(settings)`` picks the store from a URL, through a scheme registry the
built-ins use too:

================================ ===========================================================
``Settings``                     store
================================ ===========================================================
``state_url`` set                that URL: ``redis://`` / ``rediss://host:port/db`` or
                                 ``sqlite:///relative/path`` / ``sqlite:////absolute/path``
``session_url`` is ``redis://``  the same Redis as the sessions (its ``?ttl=`` dropped)
neither                          SQLite at ``data_dir/state.sqlite3`` (WAL; one machine)
================================ ===========================================================

A store gives the app two things:

* ``rate_storage``: a ``limits`` storage with moving-window support, so ``api.ratelimit`` keeps
  using ``limits.strategies.MovingWindowRateLimiter`` (Redis: ``limits``' own ``RedisStorage``;
  SQLite: ``SQLiteRateStorage``, one transaction per hit);
* ``seen_ids(namespace, ttl_seconds, capacity)``: a ``SeenIds`` memory of webhook deliveries, an
  atomic "first time?" (Redis: one Lua script doing ``SET NX PX``; SQLite: ``INSERT OR IGNORE``)
  that forgets an id ``ttl_seconds`` after it was first seen and holds at most ``capacity``
  ids per namespace (oldest forgotten first).

Every failure of the store is raised as ``core.errors.StateError`` with a one-sentence message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from limits.storage import Storage

from core.errors import StateError, UnknownBackendError
from core.settings import Settings

__all__ = [
    "STATE_BACKENDS", "SeenIds", "SharedState", "check_namespace", "check_shared_state",
    "open_shared_state", "register_state_backend", "state_url",
]  # fmt: skip

STATE_FILE = "state.sqlite3"
_NAMESPACE = re.compile(r"[a-z][a-z0-9_]{0,31}")


class SeenIds(Protocol):
    """Ids already seen in one namespace, shared by every process using the same store."""

    def first_time(self, key: str) -> bool:
        """Remember ``key``; True only the first time it is offered (by any process)."""
        ...

    def remember(self, key: str, value: str) -> str | None:
        """Remember ``value`` under ``key`` unless known; the value remembered before, if any."""
        ...


class SharedState(Protocol):
    """A store of the app's shared state."""

    url: str
    """Where the state lives, without credentials (safe to show and log)."""

    @property
    def rate_storage(self) -> Storage:
        """The ``limits`` storage of the rate-limit counters (moving-window capable)."""
        ...

    def seen_ids(self, namespace: str, ttl_seconds: float, capacity: int) -> SeenIds:
        """The delivery ids of ``namespace``, each kept ``ttl_seconds``, at most ``capacity``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def check_namespace(namespace: str) -> str:
    """``namespace`` if it is a short lower-case identifier (it names keys and tables)."""
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"bad state namespace {namespace!r}: use [a-z][a-z0-9_]{{0,31}}")
    return namespace


SharedStateFactory = Callable[[str, Settings], SharedState]
STATE_BACKENDS: dict[str, SharedStateFactory] = {}


def register_state_backend(scheme: str, factory: SharedStateFactory) -> None:
    """Register a shared-state store for URLs starting ``scheme:`` (built-ins use this too)."""
    STATE_BACKENDS[scheme] = factory


def _without_ttl(url: str) -> str:
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "ttl"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def state_url(settings: Settings) -> str:
    """The URL of the shared state: the setting, else the sessions' Redis, else SQLite."""
    if settings.state_url:
        return settings.state_url
    session = settings.session_url or ""
    if session.partition(":")[0].lower() in {"redis", "rediss"}:
        return _without_ttl(session)
    return "sqlite:"


def _sqlite_path(url: str, settings: Settings) -> Path:
    path = url.partition(":")[2]
    path = path[3:] if path.startswith("///") else path.removeprefix("//")
    return Path(path) if path else settings.data_dir / STATE_FILE


def _open_sqlite(url: str, settings: Settings) -> SharedState:
    from .sqlite_state import SQLiteState

    return SQLiteState(_sqlite_path(url, settings))


def _open_redis(url: str, settings: Settings) -> SharedState:
    from .redis_state import RedisState

    return RedisState(url)


register_state_backend("sqlite", _open_sqlite)
register_state_backend("redis", _open_redis)
register_state_backend("rediss", _open_redis)


def open_shared_state(settings: Settings) -> SharedState:
    """The shared-state store the settings name (see the module docstring)."""
    url = state_url(settings)
    scheme = url.partition(":")[0].lower()
    factory = STATE_BACKENDS.get(scheme)
    if factory is None:
        raise UnknownBackendError("state store", scheme, STATE_BACKENDS)
    return factory(url, settings)


UNREACHABLE = (
    "The shared state store at {url} cannot be used; start it or set FINADVISOR_STATE_URL to a"
    " store that works."
)


def check_shared_state(settings: Settings) -> str:
    """Open the store once (creating its tables) and check it answers; its URL to show."""
    state = open_shared_state(settings)
    try:
        if not state.rate_storage.check():
            raise StateError(UNREACHABLE.format(url=state.url))
        return state.url
    finally:
        state.close()
