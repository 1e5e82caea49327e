"""Sessions in Redis: JSON under ``finadvisor:session:<id>``; a Redis lock holds a turn."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from pydantic import ValidationError

from core.errors import SessionError

from ..profile import Dialogue, Profile
from ..session_bounds import track_redis
from .base import (
    CORRUPT_SESSION,
    DEFAULT_TTL_SECONDS,
    HOLD_SECONDS,
    HOLD_WAIT_SECONDS,
    REDIS_AUTH,
    REDIS_CONTENDED,
    REDIS_FAILED,
    REDIS_KEY_PREFIX,
    REDIS_UNREACHABLE,
    SESSION_BUSY,
    SessionState,
    check_session_id,
    one_line,
    stored_state,
)

REDIS_HOLD_PREFIX = "finadvisor:hold:"
_WATCH_RETRIES = 200


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
        hold_wait_seconds: float = HOLD_WAIT_SECONDS,
        max_sessions: int | None = None,
    ) -> None:
        self.url = redacted_url(url)
        self.hold_wait_seconds = hold_wait_seconds
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
            message = REDIS_FAILED.format(url=self.url, detail=one_line(exc))
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

    def save(self, state: SessionState) -> None:
        """Store ``state`` whole (masked, capped, stamped now), replacing what was there."""
        stored = stored_state(state.session_id, state.profile, state.turns, state.dialogue)
        with self._errors():
            created = self._client.set(
                self.key(stored.session_id), stored.model_dump_json(), ex=self.ttl_seconds, get=True
            )
        self._track(stored.session_id, created is None)

    def _track(self, session_id: str, is_new: bool) -> None:
        with self._errors():
            track_redis(self._client, REDIS_KEY_PREFIX, session_id, is_new=is_new,
                        ttl_seconds=self.ttl_seconds, max_sessions=self.max_sessions)  # fmt: skip

    def append_turns(
        self,
        session_id: str,
        profile: Profile,
        turns: Sequence[dict[str, Any]],
        dialogue: Dialogue | None = None,
    ) -> SessionState:
        """Atomically set the profile (and dialogue) and append turns (WATCH/MULTI, retried)."""
        fresh = stored_state(session_id, profile, turns)
        key = self.key(session_id)
        with self._errors(), self._client.pipeline() as pipe:
            for _ in range(_WATCH_RETRIES):
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    current = self._decode(session_id, pipe.get(key))
                    stored = stored_state(session_id, fresh.profile,
                                          [*current.turns, *fresh.turns],
                                          dialogue or current.dialogue)  # fmt: skip
                    pipe.multi()
                    pipe.set(key, stored.model_dump_json(), ex=self.ttl_seconds)
                    pipe.execute()
                    self._track(session_id, not current.updated_at)
                    return stored
                except redis.WatchError:
                    time.sleep(random.uniform(0, 0.005))  # another writer won; back off a little
        raise SessionError(REDIS_CONTENDED.format(session_id=session_id))

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        """Hold the session for one turn with a Redis lock (expires after ``HOLD_SECONDS``)."""
        lock = self._client.lock(
            REDIS_HOLD_PREFIX + check_session_id(session_id),
            timeout=HOLD_SECONDS,
            sleep=0.005,
            blocking_timeout=self.hold_wait_seconds,
        )
        with self._errors():
            acquired = lock.acquire()
        if not acquired:
            raise SessionError(SESSION_BUSY.format(session_id=session_id))
        try:
            yield
        finally:
            with contextlib.suppress(redis.exceptions.LockError), self._errors():
                lock.release()  # a hold that lapsed was already taken over: nothing to free

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
