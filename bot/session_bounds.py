"""How long sessions live and how many are kept, for the stores in ``bot.sessions``.

Both stores call these after a write: SQLite rows older than the TTL count as absent and are
deleted; Redis keys expire on their own, and a sorted set (session id -> last write) lets the
store forget the least recently written sessions past ``max_sessions``.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

import redis

REDIS_INDEX_KEY = "finadvisor:sessions"


def sqlite_cutoff(ttl_seconds: int | None) -> str:
    """The ``updated_at`` before which a row has expired ('' when sessions never expire)."""
    if ttl_seconds is None:
        return ""
    return datetime.fromtimestamp(time.time() - ttl_seconds, UTC).isoformat()


def prune_sqlite(
    conn: sqlite3.Connection, ttl_seconds: int | None, max_sessions: int | None
) -> None:
    """Delete expired sessions and, past ``max_sessions``, the least recently written."""
    conn.execute("DELETE FROM sessions WHERE updated_at < ?", (sqlite_cutoff(ttl_seconds),))
    if max_sessions is not None:
        conn.execute(
            "DELETE FROM sessions WHERE session_id IN (SELECT session_id FROM sessions"
            " ORDER BY updated_at DESC LIMIT -1 OFFSET ?)",
            (max_sessions,),
        )


def track_redis(
    client: redis.Redis,
    key_prefix: str,
    session_id: str,
    *,
    is_new: bool,
    ttl_seconds: int | None,
    max_sessions: int | None,
) -> None:
    """Note a write in the index; for a new session, forget expired and excess sessions."""
    if max_sessions is None:
        return
    now = time.time()
    client.zadd(REDIS_INDEX_KEY, {session_id: now})
    if not is_new:
        return
    if ttl_seconds is not None:
        client.zremrangebyscore(REDIS_INDEX_KEY, 0, now - ttl_seconds)
    excess = int(client.zcard(REDIS_INDEX_KEY)) - max_sessions
    if excess > 0:
        oldest: list[tuple[bytes | str, float]] = client.zpopmin(REDIS_INDEX_KEY, excess)  # type: ignore[assignment]
        names = [n.decode() if isinstance(n, bytes) else n for n, _ in oldest]
        client.delete(*(key_prefix + name for name in names))
