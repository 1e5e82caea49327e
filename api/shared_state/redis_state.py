"""Shared state in Redis: ``limits``' ``RedisStorage`` for the counters, a Lua script for ids.

Keys: ``finadvisor:limits:*`` (the moving windows, written by ``limits``),
``finadvisor:seen:<namespace>:<sha256 of the id>`` (a delivery id, expiring on its own) and
``finadvisor:seen-index:<namespace>`` (a sorted set by first-seen time, which bounds how many ids
a namespace keeps). The script runs atomically on the server, so of two workers offering the
same id at once exactly one is first.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from limits.storage import RedisStorage, Storage

from bot.sessions import redacted_url
from core.errors import StateError

from . import check_namespace

LIMITS_PREFIX = "finadvisor:limits"
SEEN_PREFIX = "finadvisor:seen:"
SEEN_INDEX_PREFIX = "finadvisor:seen-index:"
REDIS_STATE_FAILED = (
    "The shared state store at {url} failed ({detail}); start that Redis server or set"
    " FINADVISOR_STATE_URL to another store."
)

# KEYS[1] the id's key, KEYS[2] the namespace's index; ARGV value, ttl (ms), now (ms), capacity
_REMEMBER = """
local earlier = redis.call('GET', KEYS[1])
if earlier then return earlier end
local ttl, now, capacity = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl)
-- score: first-seen time in ms, then arrival order within that ms (equal scores would be
-- popped by name, not by age)
local order = redis.call('INCR', KEYS[2] .. ':order') % 1000
redis.call('PEXPIRE', KEYS[2] .. ':order', ttl)
redis.call('ZADD', KEYS[2], now * 1000 + order, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', (now - ttl) * 1000)
local excess = redis.call('ZCARD', KEYS[2]) - capacity
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
end
redis.call('PEXPIRE', KEYS[2], ttl)
return false
"""


class RedisSeenIds:
    """The delivery ids of one namespace in Redis."""

    def __init__(
        self, state: RedisState, namespace: str, ttl_seconds: float, capacity: int
    ) -> None:
        self.state, self.capacity = state, capacity
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.prefix = SEEN_PREFIX + check_namespace(namespace) + ":"
        self.index = SEEN_INDEX_PREFIX + namespace

    def first_time(self, key: str) -> bool:
        """Remember ``key``; True only the first time any process offers it."""
        return self.remember(key, "") is None

    def remember(self, key: str, value: str) -> str | None:
        """Remember ``value`` under ``key`` unless known; the value remembered before, if any."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        now_ms = int(time.time() * 1000)
        with self.state.errors():
            earlier: Any = self.state.remember_script(
                keys=[self.prefix + digest, self.index],
                args=[value, self.ttl_ms, now_ms, self.capacity],
            )
        if earlier is None:
            return None
        return earlier.decode("utf-8") if isinstance(earlier, bytes) else str(earlier)


class RedisState:
    """Rate-limit counters and delivery ids in one Redis database (one connection pool)."""

    def __init__(self, url: str) -> None:
        self.url = redacted_url(url)
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30
        )
        self.remember_script = self.client.register_script(_REMEMBER)
        # ``limits`` talks through the same pool; its errors arrive as limits.errors.StorageError
        self._rate_storage = RedisStorage(
            url,
            connection_pool=self.client.connection_pool,
            key_prefix=LIMITS_PREFIX,
            wrap_exceptions=True,
        )

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn a Redis failure into ``StateError``."""
        try:
            yield
        except redis.RedisError as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise StateError(REDIS_STATE_FAILED.format(url=self.url, detail=detail)) from exc

    @property
    def rate_storage(self) -> Storage:
        """The ``limits`` storage of the rate-limit counters."""
        return self._rate_storage

    def seen_ids(self, namespace: str, ttl_seconds: float, capacity: int) -> RedisSeenIds:
        """The delivery ids of ``namespace``, each kept ``ttl_seconds``, at most ``capacity``."""
        return RedisSeenIds(self, namespace, ttl_seconds, capacity)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
