"""Session store: a session is its profile plus its turns, kept in SQLite (default) or Redis.

Backends are chosen by ``Settings.session_url`` through a scheme registry the built-ins use too:
unset -> SQLite at ``data_dir/sessions.sqlite3``; ``sqlite:///relative/path`` or
``sqlite:////absolute/path`` (SQLAlchemy's convention) -> SQLite there; ``redis://`` or
``rediss://host:port/db[?ttl=seconds]`` -> Redis. Every store masks PII (``bot.pii``) in turns
and profile before writing, validates the session id and keeps only the latest ``MAX_TURNS``.

Sessions expire ``Settings.session_ttl_days`` after their last write (Redis by key expiry,
SQLite by treating older rows as absent and deleting them), and at most
``Settings.max_sessions`` are kept: when a new session is written past that number, the least
recently written ones are forgotten.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from pydantic import BaseModel, ValidationError

from .errors import ConfigError, InputError, SessionError, UnknownBackendError
from .pii import mask_pii
from .profile import Profile
from .session_bounds import prune_sqlite, sqlite_cutoff, track_redis
from .settings import Settings

MAX_TURNS = 200
DEFAULT_TTL_SECONDS = 30 * 24 * 3600
REDIS_KEY_PREFIX = "finadvisor:session:"
_SESSION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_ROLES = {"user", "assistant"}
_WATCH_RETRIES = 200

INVALID_SESSION_ID = (
    "A session id must be 1-64 characters of letters, digits, '_', '.', ':' or '-'."
)
INVALID_TURN = "Each turn needs a role of 'user' or 'assistant' and a text string."
INVALID_TTL = (
    "The ttl in FINADVISOR_SESSION_URL must be whole seconds (0 for none), e.g. ?ttl=86400."
)
REDIS_UNREACHABLE = (
    "Cannot reach the Redis session store at {url}; start Redis or unset FINADVISOR_SESSION_URL."
)
REDIS_AUTH = "The Redis session store at {url} refused the login; fix the credentials in FINADVISOR_SESSION_URL."
REDIS_FAILED = "The Redis session store at {url} failed ({detail}); check that server or unset FINADVISOR_SESSION_URL."
REDIS_CONTENDED = "Session {session_id} is being changed by too many writers at once; try again."
SQLITE_FAILED = "The SQLite session store at {path} cannot be used ({detail}); move that file away or set FINADVISOR_SESSION_URL to another path."
CORRUPT_SESSION = "Session {session_id} holds unreadable data in the session store; delete that session to start it afresh."


class SessionState(BaseModel):
    """One conversation: what is known about the user and the turns so far, oldest first."""

    session_id: str
    profile: Profile = Profile()
    turns: list[dict[str, Any]] = []
    updated_at: str = ""


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions live; every method masks, validates and caps as described in the module."""

    def load(self, session_id: str) -> SessionState:
        """The stored session, or a fresh empty one when the id is unknown."""

    def save(self, state: SessionState) -> None:
        """Store ``state`` whole, replacing what was there."""

    def append_turns(
        self, session_id: str, profile: Profile, turns: Sequence[dict[str, Any]]
    ) -> SessionState:
        """Atomically set the profile and append turns; returns the stored session."""

    def delete(self, session_id: str) -> bool:
        """Forget a session; whether it existed."""

    def exists(self, session_id: str) -> bool:
        """Whether a session is stored."""

    def close(self) -> None:
        """Release connections."""


def check_session_id(session_id: str) -> str:
    """``session_id`` if it is 1-64 of ``[A-Za-z0-9_.:-]``; otherwise an ``InputError``."""
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise InputError(INVALID_SESSION_ID)
    return session_id


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _masked(value: Any) -> Any:
    """Every string inside ``value`` (dicts, lists, tuples) passed through ``mask_pii``."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _turn(turn: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(turn, dict) or turn.get("role") not in _ROLES:
        raise InputError(INVALID_TURN)
    if not isinstance(turn.get("text"), str):
        raise InputError(INVALID_TURN)
    return {**turn, "at": turn.get("at") or _now()}


def _stored(session_id: str, profile: Profile, turns: Sequence[dict[str, Any]]) -> SessionState:
    """The state as it may be written: masked, capped and stamped."""
    masked_profile = Profile.model_validate(_masked(profile.model_dump()))
    masked_turns = [_masked(_turn(turn)) for turn in turns][-MAX_TURNS:]
    return SessionState(
        session_id=check_session_id(session_id),
        profile=masked_profile,
        turns=masked_turns,
        updated_at=_now(),
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class SQLiteSessionStore:
    """Sessions in one SQLite table (WAL); one connection shared by threads behind a lock."""

    def __init__(
        self,
        path: Path | str,
        busy_timeout_seconds: float = 10.0,
        ttl_seconds: int | None = None,
        max_sessions: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.ttl_seconds, self.max_sessions = ttl_seconds or None, max_sessions
        self._lock = threading.RLock()
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout_seconds,
                check_same_thread=False,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
            )
            try:
                self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL keeps this crash-safe
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY,"
                    " profile TEXT NOT NULL, turns TEXT NOT NULL, updated_at TEXT NOT NULL)"
                )
                self._conn.execute(
                    "CREATE INDEX IF NOT EXISTS sessions_updated_at ON sessions (updated_at)"
                )
            except BaseException:
                self._conn.close()
                raise

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise SessionError(SQLITE_FAILED.format(path=self.path, detail=_one_line(exc))) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front so read-modify-write cannot interleave."""
        with self._lock, self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _cutoff(self) -> str:
        return sqlite_cutoff(self.ttl_seconds)

    def _prune(self, conn: sqlite3.Connection) -> None:
        prune_sqlite(conn, self.ttl_seconds, self.max_sessions)

    def _select(self, conn: sqlite3.Connection, session_id: str) -> SessionState:
        row = conn.execute(
            "SELECT profile, turns, updated_at FROM sessions WHERE session_id = ?"
            " AND updated_at >= ?",
            (session_id, self._cutoff()),
        ).fetchone()
        if row is None:
            return SessionState(session_id=session_id)
        try:
            return SessionState(
                session_id=session_id,
                profile=Profile.model_validate_json(row[0]),
                turns=json.loads(row[1]),
                updated_at=row[2],
            )
        except (ValidationError, ValueError, TypeError) as exc:
            raise SessionError(CORRUPT_SESSION.format(session_id=session_id)) from exc

    def _write(self, conn: sqlite3.Connection, state: SessionState) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO sessions (session_id, profile, turns, updated_at)"
            " VALUES (?, ?, ?, ?)",
            (
                state.session_id,
                state.profile.model_dump_json(),
                json.dumps(state.turns, ensure_ascii=False),
                state.updated_at,
            ),
        )

    def load(self, session_id: str) -> SessionState:
        """The stored session, or a fresh empty one when the id is unknown."""
        check_session_id(session_id)
        with self._lock, self._errors():
            return self._select(self._conn, session_id)

    def save(self, state: SessionState) -> None:
        """Store ``state`` whole (masked, capped, stamped now), replacing what was there."""
        stored = _stored(state.session_id, state.profile, state.turns)
        with self._transaction() as conn:
            is_new = not self._select(conn, stored.session_id).updated_at
            self._write(conn, stored)
            if is_new:
                self._prune(conn)

    def append_turns(
        self, session_id: str, profile: Profile, turns: Sequence[dict[str, Any]]
    ) -> SessionState:
        """Atomically set the profile and append turns; returns the stored session."""
        fresh = _stored(session_id, profile, turns)
        with self._transaction() as conn:
            current = self._select(conn, session_id)
            stored = _stored(session_id, fresh.profile, [*current.turns, *fresh.turns])
            self._write(conn, stored)
            if not current.updated_at:
                self._prune(conn)
        return stored

    def delete(self, session_id: str) -> bool:
        """Forget a session; whether it existed."""
        check_session_id(session_id)
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
        return cursor.rowcount > 0

    def exists(self, session_id: str) -> bool:
        """Whether a session is stored."""
        check_session_id(session_id)
        with self._lock, self._errors():
            query = "SELECT 1 FROM sessions WHERE session_id = ? AND updated_at >= ?"
            row = self._conn.execute(query, (session_id, self._cutoff())).fetchone()
            return row is not None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def redacted_url(url: str) -> str:
    """``url`` without credentials or query, safe to show and log."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"***@{hostport}" if at and userinfo else hostport
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RedisSessionStore:
    """Sessions as JSON under ``finadvisor:session:<id>``, expiring ``ttl_seconds`` after a write."""

    def __init__(
        self,
        url: str,
        ttl_seconds: int | None = DEFAULT_TTL_SECONDS,
        max_sessions: int | None = None,
    ) -> None:
        self.url = redacted_url(url)
        self.ttl_seconds, self.max_sessions = ttl_seconds or None, max_sessions
        with self._errors():
            self._client = redis.Redis.from_url(
                url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30
            )
            try:
                self._client.ping()
            except BaseException:
                self._client.close()
                raise

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except redis.AuthenticationError as exc:
            raise SessionError(REDIS_AUTH.format(url=self.url)) from exc
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise SessionError(REDIS_UNREACHABLE.format(url=self.url)) from exc
        except redis.RedisError as exc:
            message = REDIS_FAILED.format(url=self.url, detail=_one_line(exc))
            raise SessionError(message) from exc

    @staticmethod
    def key(session_id: str) -> str:
        """The Redis key holding a session."""
        return REDIS_KEY_PREFIX + check_session_id(session_id)

    @staticmethod
    def _decode(session_id: str, raw: bytes | str | None) -> SessionState:
        if raw is None:
            return SessionState(session_id=session_id)
        try:
            return SessionState.model_validate_json(raw)
        except ValidationError as exc:
            raise SessionError(CORRUPT_SESSION.format(session_id=session_id)) from exc

    def load(self, session_id: str) -> SessionState:
        """The stored session, or a fresh empty one when the id is unknown."""
        key = self.key(session_id)
        with self._errors():
            return self._decode(session_id, self._client.get(key))

    def _track(self, session_id: str, is_new: bool) -> None:
        with self._errors():
            track_redis(self._client, REDIS_KEY_PREFIX, session_id, is_new=is_new,
                        ttl_seconds=self.ttl_seconds, max_sessions=self.max_sessions)  # fmt: skip

    def save(self, state: SessionState) -> None:
        """Store ``state`` whole (masked, capped, stamped now), replacing what was there."""
        stored = _stored(state.session_id, state.profile, state.turns)
        with self._errors():
            created = self._client.set(
                self.key(stored.session_id), stored.model_dump_json(), ex=self.ttl_seconds, get=True
            )
        self._track(stored.session_id, created is None)

    def append_turns(
        self, session_id: str, profile: Profile, turns: Sequence[dict[str, Any]]
    ) -> SessionState:
        """Atomically set the profile and append turns (WATCH/MULTI, retried on conflict)."""
        fresh = _stored(session_id, profile, turns)
        key = self.key(session_id)
        with self._errors(), self._client.pipeline() as pipe:
            for _ in range(_WATCH_RETRIES):
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    current = self._decode(session_id, pipe.get(key))
                    stored = _stored(session_id, fresh.profile, [*current.turns, *fresh.turns])
                    pipe.multi()
                    pipe.set(key, stored.model_dump_json(), ex=self.ttl_seconds)
                    pipe.execute()
                    self._track(session_id, not current.updated_at)
                    return stored
                except redis.WatchError:
                    time.sleep(random.uniform(0, 0.005))  # another writer won; back off a little
        raise SessionError(REDIS_CONTENDED.format(session_id=session_id))

    def delete(self, session_id: str) -> bool:
        """Forget a session; whether it existed."""
        key = self.key(session_id)
        with self._errors():
            return int(self._client.delete(key)) > 0

    def exists(self, session_id: str) -> bool:
        """Whether a session is stored."""
        key = self.key(session_id)
        with self._errors():
            return int(self._client.exists(key)) > 0

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


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
